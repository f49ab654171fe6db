/** The stack's API routes, matched as API Gateway matches them. */

export interface MatchedRoute {
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  readonly handler: 'discovery' | 'jwks' | 'token';
  /**
   * With a private endpoint, the token routes' REST resource (`/token/graph`, or `/token/{alias}` for the catch-all)
   * and the path below the stage; undefined on the HTTP API.
   */
  readonly rest?: { readonly resource: string; readonly path: string };
}

/** Where the token routes are: on the HTTP API at the root, or on the private REST API under its stage (`/broker`). */
export interface TokenRouteLayout {
  /** `''` for the HTTP API, `/{stage}` for the private REST API. */
  readonly stagePath: string;
}

/**
 * A literal route per alias first, then the `{alias}` catch-all; anything else is unmatched (undefined). With a
 * private endpoint the token routes are under the REST API's stage (`/broker/token/graph`), as a private API's URL
 * has its stage, and not at the root.
 */
export function matchRoute(
  method: string,
  rawPath: string,
  aliases: ReadonlySet<string>,
  layout: TokenRouteLayout = { stagePath: '' },
): MatchedRoute | undefined {
  if (method !== 'GET') return undefined;
  if (rawPath === '/.well-known/openid-configuration') return { routeKey: `GET ${rawPath}`, handler: 'discovery' };
  if (rawPath === '/jwks') return { routeKey: 'GET /jwks', handler: 'jwks' };
  if (!rawPath.startsWith(`${layout.stagePath}/token/`)) return undefined;
  const path = rawPath.slice(layout.stagePath.length);
  const match = /^\/token\/([^/]+)$/.exec(path);
  if (!match?.[1]) return undefined;
  let alias: string;
  try {
    alias = decodeURIComponent(match[1]);
  } catch {
    alias = match[1];
  }
  const rest = layout.stagePath !== '';
  if (aliases.has(alias)) {
    return { routeKey: `GET /token/${alias}`, handler: 'token', ...(rest ? { rest: { resource: `/token/${alias}`, path } } : {}) };
  }
  return {
    routeKey: 'GET /token/{alias}',
    pathParameters: { alias },
    handler: 'token',
    ...(rest ? { rest: { resource: '/token/{alias}', path } } : {}),
  };
}

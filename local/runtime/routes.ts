import { DISCOVERY_PATH, HTTP_METHOD, JWKS_PATH, routeKey, TOKEN_CATCH_ALL_PATH, TOKEN_PATH_PREFIX } from '../../contract/http-api';

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
  if (method !== HTTP_METHOD) return undefined;
  if (rawPath === DISCOVERY_PATH) return { routeKey: routeKey(DISCOVERY_PATH), handler: 'discovery' };
  if (rawPath === JWKS_PATH) return { routeKey: routeKey(JWKS_PATH), handler: 'jwks' };
  if (!rawPath.startsWith(`${layout.stagePath}${TOKEN_PATH_PREFIX}`)) return undefined;
  const path = rawPath.slice(layout.stagePath.length);
  const segment = path.slice(TOKEN_PATH_PREFIX.length);
  if (segment.length === 0 || segment.includes('/')) return undefined;
  let alias: string;
  try {
    alias = decodeURIComponent(segment);
  } catch {
    alias = segment;
  }
  const rest = layout.stagePath !== '';
  const resource = aliases.has(alias) ? `${TOKEN_PATH_PREFIX}${alias}` : TOKEN_CATCH_ALL_PATH;
  return {
    routeKey: routeKey(resource),
    ...(aliases.has(alias) ? {} : { pathParameters: { alias } }),
    handler: 'token',
    ...(rest ? { rest: { resource, path } } : {}),
  };
}

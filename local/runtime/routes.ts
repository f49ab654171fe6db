/** The stack's HTTP API routes, matched as API Gateway matches them. */

export interface MatchedRoute {
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  readonly handler: 'discovery' | 'jwks' | 'token';
}

/** A literal route per alias first, then the `{alias}` catch-all; anything else is unmatched (undefined). */
export function matchRoute(method: string, rawPath: string, aliases: ReadonlySet<string>): MatchedRoute | undefined {
  if (method !== 'GET') return undefined;
  if (rawPath === '/.well-known/openid-configuration') return { routeKey: `GET ${rawPath}`, handler: 'discovery' };
  if (rawPath === '/jwks') return { routeKey: 'GET /jwks', handler: 'jwks' };
  const match = /^\/token\/([^/]+)$/.exec(rawPath);
  if (!match?.[1]) return undefined;
  let alias: string;
  try {
    alias = decodeURIComponent(match[1]);
  } catch {
    alias = match[1];
  }
  if (aliases.has(alias)) return { routeKey: `GET /token/${alias}`, handler: 'token' };
  return { routeKey: 'GET /token/{alias}', pathParameters: { alias }, handler: 'token' };
}

import { DISCOVERY_PATH, HTTP_METHOD, JWKS_PATH, routeKey, TOKEN_CATCH_ALL_PATH, TOKEN_PATH_PREFIX } from '../../contract/http-api';

/** The stack's HTTP API routes, matched as API Gateway matches them. */
export interface MatchedRoute {
  readonly routeKey: string;
  readonly pathParameters?: Record<string, string>;
  readonly handler: 'discovery' | 'jwks' | 'token';
}

/** A literal route per alias first, then the `{alias}` catch-all; anything else is unmatched (undefined). */
export function matchRoute(method: string, rawPath: string, aliases: ReadonlySet<string>): MatchedRoute | undefined {
  if (method !== HTTP_METHOD) return undefined;
  if (rawPath === DISCOVERY_PATH) return { routeKey: routeKey(DISCOVERY_PATH), handler: 'discovery' };
  if (rawPath === JWKS_PATH) return { routeKey: routeKey(JWKS_PATH), handler: 'jwks' };
  if (!rawPath.startsWith(TOKEN_PATH_PREFIX)) return undefined;
  const segment = rawPath.slice(TOKEN_PATH_PREFIX.length);
  if (segment.length === 0 || segment.includes('/')) return undefined;
  let alias: string;
  try {
    alias = decodeURIComponent(segment);
  } catch {
    alias = segment;
  }
  if (aliases.has(alias)) return { routeKey: routeKey(`${TOKEN_PATH_PREFIX}${alias}`), handler: 'token' };
  return { routeKey: routeKey(TOKEN_CATCH_ALL_PATH), pathParameters: { alias }, handler: 'token' };
}

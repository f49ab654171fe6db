/**
 * The broker's HTTP API as it appears on the wire, defined once: the routes Entra and callers use, the token answer,
 * the error body and the access log's fields. lib/ builds the API from these, lambda/ answers them, client/ calls
 * them and local/ serves them, so renaming a route here renames it everywhere (discovery's `jwks_uri`, the alarms'
 * metric filters and the callers' URLs included) instead of silently breaking Entra or an alarm.
 */

/** OpenID discovery: where Entra looks first, `{issuer}` + this path (OpenID Connect Discovery 1.0, §4). */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** The JWKS the discovery document's `jwks_uri` names: `{issuer}` + this path. */
export const JWKS_PATH = '/jwks';

/** Every token route starts with this; one route per alias, `/token/<alias>`. */
export const TOKEN_PATH_PREFIX = '/token/';

/** The catch-all token route: it answers 404 `unknown_scope` only (no `grantToken` names it). */
export const TOKEN_CATCH_ALL_PATH = `${TOKEN_PATH_PREFIX}{alias}`;

/** The private REST API's one stage (endpoint type private): the path segment after the host in its token URLs. */
export const PRIVATE_STAGE_NAME = 'broker';

/** The only method the broker answers. */
export const HTTP_METHOD = 'GET';

/** The token route of one alias, percent-encoded as a URL path segment. */
export function tokenPath(alias: string): string {
  return `${TOKEN_PATH_PREFIX}${encodeURIComponent(alias)}`;
}

/** An HTTP API route key (`GET /jwks`), as API Gateway writes it in events and access logs. */
export function routeKey(path: string): string {
  return `${HTTP_METHOD} ${path}`;
}

/** The anonymous routes Entra reads; the monitoring counts their errors from the access log. */
export const PUBLIC_ROUTE_KEYS = [routeKey(DISCOVERY_PATH), routeKey(JWKS_PATH)] as const;

/** A token route's route key prefix (`GET /token/`): the token function reads the alias after it. */
export const TOKEN_ROUTE_KEY_PREFIX = routeKey(TOKEN_PATH_PREFIX);

/** The 200 body of `GET /token/<alias>` (snake case, as Entra's own token response). */
export interface TokenResponseBody {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  /** Seconds left when the broker answered. */
  readonly expires_in: number;
  /** Expiry, unix seconds. */
  readonly expires_on: number;
  /** The Entra scope the token was issued for. */
  readonly scope: string;
}

/** What went wrong, in every error body's `error`. */
export type BrokerErrorCode = 'unknown_scope' | 'forbidden' | 'entra_rejected' | 'upstream_unavailable' | 'internal';

/** The body of every error answer: `error` and `message` always, the rest when they apply. */
export interface BrokerErrorBody {
  readonly error: BrokerErrorCode;
  /** Safe to show (no token, assertion or SDK text) and ends with its fix. */
  readonly message: string;
  /** 404: the alias asked for, when it looks like one. */
  readonly alias?: string;
  /** 502: Entra's `error`, first AADSTS code, all codes and ids, for a support case. */
  readonly entra_error?: string;
  readonly aadsts?: string;
  readonly error_codes?: readonly number[];
  readonly correlation_id?: string;
  readonly trace_id?: string;
  /** 503: which upstream failed, and when to retry if it said. */
  readonly upstream?: 'entra' | 'kms' | 'dynamodb' | 'sts';
  readonly retry_after_seconds?: number;
}

/**
 * The stage's access log line (API Gateway `$context` variables). No headers, no query string, no body: nothing in it
 * can carry a SigV4 signature or a token. The monitoring's metric filters read `routeKey`, `status` and `apiId`.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  // Tells two brokers' lines apart; the monitoring's public-route metrics use it as their dimension.
  apiId: '$context.apiId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationErrorMessage: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  userArn: '$context.identity.userArn',
  accountId: '$context.identity.accountId',
  principalOrgId: '$context.identity.principalOrgId',
} as const;

/**
 * The access log line of the private REST API (endpoint type private), with the same field names as the HTTP API's, so the audit queries and
 * the metric filters read both APIs' lines alike: `routeKey` is the method and the matched resource (`GET
 * /token/graph`), as an HTTP API's route key reads. No headers, no query string, no body: nothing that carries a
 * SigV4 signature or a token. Variables: API Gateway Developer Guide, "Variables for access logging for API Gateway".
 */
export const PRIVATE_ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  apiId: '$context.apiId',
  ip: '$context.identity.sourceIp',
  vpceId: '$context.identity.vpceId',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.httpMethod $context.resourcePath',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationErrorMessage: '$context.integrationErrorMessage',
  authorizerError: '$context.authorize.error',
  userArn: '$context.identity.userArn',
  accountId: '$context.identity.accountId',
  principalOrgId: '$context.identity.principalOrgId',
} as const satisfies Record<keyof typeof ACCESS_LOG_FIELDS | 'vpceId', string>;

/** An access log field the metric filters match on, as a JSON filter selector (`$.status`). */
export function accessLogSelector(field: 'routeKey' | 'status' | 'apiId'): string {
  return `$.${field}`;
}

/**
 * One request to the identity endpoint, answered as Azure App Service's managed-identity endpoint answers it (api
 * version 2019-08-01), with the token from the broker. Pure: no socket, no clock, no AWS; server.ts wires it to HTTP.
 *
 * What the SDKs send (each SDK's source is listed in docs/any-language.md):
 *   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<resource>[&client_id=|&object_id=|&mi_res_id=|&principal_id=]
 *   X-IDENTITY-HEADER: {IDENTITY_HEADER}
 * and what they read from a 200: `access_token`, `expires_on` (unix seconds; App Service sends a string, every SDK
 * also takes a number), `resource` (Python caches by it), `token_type`.
 *
 * Errors carry the fields each SDK turns into its message: `statusCode` and `message` (MSAL Python prints
 * "<statusCode>, <message>"; MSAL for Java, .NET and Node print `message` and `correlationId`), and `error` /
 * `error_description` (OAuth form, read when `message` is absent); Go prints the whole body. The message starts
 * with the stable code, since MSAL Python replaces `error` with its own.
 *
 * Statuses are chosen for the SDKs' retry policies: MSAL (.NET, Java, Node) retries 404, 408, 429, 500, 503, 504
 * on this endpoint; the Azure Core pipelines (Python, Go, Java, JavaScript) retry 408, 429, 500, 502, 503, 504. A
 * failure that waiting cannot fix (unmapped resource, IAM refusal, unknown alias, Entra's refusal) is therefore a
 * 400, 401 or 403, and one that may pass (an upstream down, the broker unreachable) a 503 with the broker's
 * Retry-After.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackHost } from '../../contract/url-policy';
import type { BrokerClientErrorCode } from '../errors';
import { BrokerClientError } from '../errors';
import type { ResourceMap } from './resource-map';

/** The path `IDENTITY_ENDPOINT` names (App Service's own is `/msi/token` too). */
export const IDENTITY_PATH = '/msi/token';
/** The one api-version every current SDK sends for App Service (the 2017-09-01 form is Azure ML's now). */
export const API_VERSION = '2019-08-01';
/** The request header that carries `IDENTITY_HEADER`. */
export const IDENTITY_HEADER_NAME = 'x-identity-header';

/** Stable codes of the endpoint's own refusals; the broker's codes (`forbidden`, `unknown_alias`, …) pass through. */
export type EndpointErrorCode =
  | 'non_loopback_host'
  | 'missing_identity_header'
  | 'invalid_identity_header'
  | 'not_found'
  | 'method_not_allowed'
  | 'unsupported_api_version'
  | 'missing_resource'
  | 'unmapped_resource'
  | 'internal';

export interface IdentityRequest {
  readonly method: string;
  /** Path and query as received (`/msi/token?resource=…`). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface IdentityResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** For the log line: the code, the resource and alias when known; never the token. */
  readonly outcome: {
    readonly code: string;
    readonly correlationId?: string;
    readonly resource?: string;
    readonly alias?: string;
    /** An unexpected error's message, for the log only (never in the answer). */
    readonly unexpected?: string;
  };
}

/** A token from the broker, as `BrokerCredential` returns it. */
export interface BrokerAccessToken {
  readonly token: string;
  /** ms since the epoch */
  readonly expiresOnTimestamp: number;
}

export interface TokenRequestDependencies {
  /** SHA-256 of `IDENTITY_HEADER`: compared in constant time with the digest of the header received. */
  readonly identityHeaderDigest: Buffer;
  readonly resources: ResourceMap;
  /** The broker's token for `alias`, cached and shared between concurrent callers. */
  readonly tokenFor: (alias: string) => Promise<BrokerAccessToken>;
  /** A fresh id per error, quoted in the message and the log, so a user's error and the endpoint's log line meet. */
  readonly correlationId: () => string;
}

/** How each broker client error answers: a status that the SDKs retry only when waiting can help. */
const STATUS_BY_BROKER_CODE: Readonly<Record<BrokerClientErrorCode, number>> = {
  forbidden: 403,
  // 404 would be retried by MSAL as a transient answer; an unknown alias is configuration.
  unknown_alias: 400,
  // The broker's 502: Entra refused its assertion (AADSTS…); no retry changes that.
  entra_rejected: 400,
  upstream_unavailable: 503,
  broker_unreachable: 503,
  credentials_unavailable: 503,
  bad_response: 502,
  broker_error: 502,
  invalid_argument: 500,
  unmapped_scope: 500,
};

/** SHA-256 of a header value: equal lengths for `timingSafeEqual`, whatever the caller sent. */
export function identityHeaderDigest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A Host header naming 127.0.0.1, localhost or [::1] (with any port); anything else is a DNS-rebinding attempt. */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined || !/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/.test(host)) return false;
  try {
    return isLoopbackHost(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorResponse(
  status: number,
  code: EndpointErrorCode | BrokerClientErrorCode,
  message: string,
  correlationId: string,
  outcome: Partial<IdentityResponse['outcome']> = {},
  headers: Record<string, string> = {},
): IdentityResponse {
  const text = `${code}: ${message}`;
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify({ statusCode: status, message: text, correlationId, error: code, error_description: text }),
    outcome: { code, correlationId, ...outcome },
  };
}

/**
 * Answers one request. Order: the Host (DNS rebinding), the identity header, then path, method and parameters;
 * only then the broker. Only a 200 holds a token.
 */
export async function answerTokenRequest(request: IdentityRequest, deps: TokenRequestDependencies): Promise<IdentityResponse> {
  const id = deps.correlationId();
  if (!isLoopbackHostHeader(single(request.headers.host))) {
    return errorResponse(403, 'non_loopback_host', 'the identity endpoint answers requests to 127.0.0.1 or localhost only.', id);
  }
  const presented = single(request.headers[IDENTITY_HEADER_NAME]);
  if (presented === undefined || presented.length === 0) {
    return errorResponse(
      401,
      'missing_identity_header',
      'the request has no X-IDENTITY-HEADER. Set IDENTITY_HEADER in the application environment to the value the endpoint printed.',
      id,
    );
  }
  if (!timingSafeEqual(identityHeaderDigest(presented), deps.identityHeaderDigest)) {
    return errorResponse(
      401,
      'invalid_identity_header',
      'X-IDENTITY-HEADER does not match. Set IDENTITY_HEADER in the application environment to the value the endpoint printed.',
      id,
    );
  }

  const url = new URL(request.target, 'http://127.0.0.1');
  if (url.pathname !== IDENTITY_PATH) {
    return errorResponse(404, 'not_found', `there is nothing at ${url.pathname}; IDENTITY_ENDPOINT ends in ${IDENTITY_PATH}.`, id);
  }
  if (request.method !== 'GET') {
    return errorResponse(
      405,
      'method_not_allowed',
      `${request.method} is not allowed; the endpoint answers GET.`,
      id,
      {},
      { allow: 'GET' },
    );
  }
  const apiVersion = url.searchParams.get('api-version');
  if (apiVersion !== API_VERSION) {
    return errorResponse(
      400,
      'unsupported_api_version',
      `api-version ${apiVersion === null ? 'is missing' : JSON.stringify(apiVersion) + ' is not supported'}; the endpoint speaks App Service's ${API_VERSION} (IDENTITY_ENDPOINT with IDENTITY_HEADER, not MSI_ENDPOINT with MSI_SECRET).`,
      id,
    );
  }
  const resource = url.searchParams.get('resource');
  if (resource === null || resource.trim() === '') {
    return errorResponse(400, 'missing_resource', 'the request names no resource (query parameter "resource").', id);
  }
  // client_id, object_id, principal_id, mi_res_id select a user-assigned identity on Azure; here the resource's
  // alias decides which Entra application the broker uses, so they are accepted and do not change the answer.
  const alias = deps.resources.aliasFor(resource);
  if (alias === undefined) {
    return errorResponse(
      400,
      'unmapped_resource',
      `no alias is mapped for the resource ${resource}. Mapped resources: ${deps.resources.describe()}. Add --resource ${resource}=<alias> to the identity endpoint.`,
      id,
      { resource },
    );
  }

  let token: BrokerAccessToken;
  try {
    token = await deps.tokenFor(alias);
  } catch (error) {
    if (error instanceof BrokerClientError) {
      const retryAfter: Record<string, string> =
        error.code === 'upstream_unavailable' && error.retryAfterSeconds ? { 'retry-after': String(error.retryAfterSeconds) } : {};
      return errorResponse(
        STATUS_BY_BROKER_CODE[error.code],
        error.code,
        `${error.message.replace(/\s*\n\s*/g, ' ')} (resource ${resource}, alias ${alias})`,
        id,
        { resource, alias },
        retryAfter,
      );
    }
    // Not a broker error: a bug. Its message could hold anything, so it stays out of the answer (the log has the id).
    return errorResponse(500, 'internal', `the identity endpoint failed unexpectedly; its log has correlation id ${id}.`, id, {
      resource,
      alias,
      unexpected: error instanceof Error ? error.message : String(error),
    });
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({
      access_token: token.token,
      expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
      resource,
      token_type: 'Bearer',
    }),
    outcome: { code: 'ok', resource, alias },
  };
}

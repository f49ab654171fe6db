import { ENTRA_MAX_ACCESS_TOKEN_LIFETIME_SECONDS } from '../../contract/token-lifetime';
import { randomUUID } from 'node:crypto';
import { accessTokenUti } from './access-token-id';
import { UpstreamUnavailableError } from './errors';
import { EntraRejectedError } from './errors';
import { entraRejection, isTransientRefusal, readEntraError, type PresentedIdentity } from './entra-error';
import type { CachedToken, Clock, Fetch } from './ports';
import { RetryBudgetExhausted, parseRetryAfterMs, withRetries, type AttemptOutcome, type RetryPolicy } from './retry';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * Entra's token endpoint usually answers within a few hundred ms. Three attempts of at most 3 s inside
 * an 8 s budget leave room, within the token function's timeout, for KMS and DynamoDB.
 */
export const ENTRA_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 2000,
  budgetMs: 8000,
  attemptTimeoutMs: 3000,
};

export interface EntraTokenRequest {
  readonly authorityHost: string;
  readonly presented: PresentedIdentity;
  /** The signed client assertion; sent to Entra and nowhere else. */
  readonly clientAssertion: string;
}

export interface EntraClientDeps {
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** @default ENTRA_RETRY_POLICY */
  readonly policy?: RetryPolicy;
  /** Absolute time (ms) by which to give up, whatever the policy's budget; the request's own deadline. */
  readonly deadline?: number;
  /** A fresh GUID per exchange, sent as `client-request-id`. @default crypto.randomUUID */
  readonly newRequestId?: () => string;
}

const isRedirect = (status: number): boolean => status >= 300 && status < 400;

/** A token endpoint that answers a redirect is not Entra's (Entra answers its token requests itself): not retried. */
function redirectRefused(url: string, status: number): UpstreamUnavailableError {
  return new UpstreamUnavailableError(
    'entra',
    `The authority at ${url} answered a redirect (HTTP ${String(status)}) instead of a token; the broker does not follow it, as that would send the client assertion to another host. Check authorityHost.`,
  );
}

/** Statuses worth another try: throttling and server-side failures. Other 4xx cannot succeed by repeating. */
const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/**
 * The least wait before retrying a transient refusal (TRANSIENT_AADSTS_CODES): Entra failed to read the issuer's
 * discovery document or JWKS, which answer from a function that may be starting cold; an immediate retry (full
 * jitter can pick 0 ms) would likely meet the same. Chosen: Entra documents no figure.
 */
export const TRANSIENT_REFUSAL_MIN_DELAY_MS = 500;

/**
 * The most of an answer's body the broker reads (1 MiB): Entra's answers are a few KB (a token with many claims
 * tens of KB); a bigger body is cut there and, being unreadable JSON, handled as garbage rather than buffered whole.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/** The token endpoint of a tenant, e.g. https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token. */
export function tokenEndpoint(authorityHost: string, tenantId: string): string {
  return `${authorityHost}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

/**
 * Exchanges a client assertion for an access token at Entra's v2.0 token endpoint
 * (client credentials grant with a federated credential). Every attempt of one exchange sends the same fresh
 * GUID as `client-request-id` (with `return-client-request-id: true`): Entra records it as the sign-in's
 * Correlation ID, and the returned token carries it as `correlationId`, with its `uti` claim, for the audit trail.
 * Transient refusals (TRANSIENT_AADSTS_CODES: Entra could not read the issuer's metadata) are retried like
 * throttling, within the same budget and deadline, at least TRANSIENT_REFUSAL_MIN_DELAY_MS apart.
 * @throws EntraRejectedError (502) when Entra refuses, or keeps giving a transient refusal until the budget is spent
 * @throws UpstreamUnavailableError (503, upstream `entra`) when Entra is unreachable, throttling, failing
 *   or answering nonsense after the bounded retries, or at once when the authority answers a redirect
 */
export async function requestEntraToken(request: EntraTokenRequest, deps: EntraClientDeps): Promise<CachedToken> {
  const { presented } = request;
  const url = tokenEndpoint(request.authorityHost, presented.tenantId);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: presented.clientId,
    scope: presented.scope,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: request.clientAssertion,
  }).toString();
  const correlationId = (deps.newRequestId ?? randomUUID)();
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    'client-request-id': correlationId,
    'return-client-request-id': 'true',
  };

  /** The last transient refusal, kept to answer with it when it persists to the end of the retries. */
  let transient: { readonly status: number; readonly text: string } | undefined;
  const attempt = async (_attempt: number, timeoutMs: number): Promise<AttemptOutcome<CachedToken>> => {
    let response: Response;
    let text: string;
    try {
      response = await deps.fetch(url, {
        method: 'POST',
        headers,
        body,
        // Never followed: a 307 or 308 would send the form, client assertion included, to whatever host it names.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (isRedirect(response.status)) {
        await response.body?.cancel();
        return { ok: false, retryable: false, error: redirectRefused(url, response.status) };
      }
      text = await readBoundedText(response, MAX_ANSWER_BYTES);
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const reason = timedOut ? `no answer within ${timeoutMs} ms` : 'connection failed';
      return { ok: false, retryable: true, error: new UpstreamUnavailableError('entra', reason, { cause: error }) };
    }
    if (response.ok) {
      const token = parseTokenResponse(text, deps.clock(), presented.scope);
      if (token) return { ok: true, value: { ...token, correlationId } };
      return { ok: false, retryable: true, error: new UpstreamUnavailableError('entra', 'answered 200 without a usable access token') };
    }
    if (isRetryableStatus(response.status)) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), deps.clock());
      return {
        ok: false,
        retryable: true,
        retryAfterMs,
        error: new UpstreamUnavailableError('entra', `answered HTTP ${response.status}`),
      };
    }
    const rejection = entraRejection(response.status, text, presented);
    if (isTransientRefusal(readEntraError(response.status, text))) {
      transient = { status: response.status, text };
      return { ok: false, retryable: true, retryAfterMs: TRANSIENT_REFUSAL_MIN_DELAY_MS, error: rejection };
    }
    return { ok: false, retryable: false, error: rejection };
  };

  try {
    return await withRetries(attempt, deps.policy ?? ENTRA_RETRY_POLICY, deps);
  } catch (error) {
    if (!(error instanceof RetryBudgetExhausted)) throw error;
    if (error.lastError instanceof EntraRejectedError && transient) {
      // Entra kept refusing for a reason it calls transient until the deadline: by then the issuer's metadata is most
      // likely not readable from Entra at all (not public, wrong issuer), which only a configuration change fixes.
      throw entraRejection(transient.status, transient.text, presented, { attempts: error.attempts, elapsedMs: error.elapsedMs });
    }
    const retryAfterSeconds = error.retryAfterMs === undefined ? undefined : Math.ceil(error.retryAfterMs / 1000);
    const last = error.lastError.message;
    throw new UpstreamUnavailableError(
      'entra',
      `Entra ID is unavailable at ${url} (${last}; ${error.attempts} attempt(s) in ${error.elapsedMs} ms). Retry later.`,
      { cause: error.lastError, retryAfterSeconds },
    );
  }
}

/**
 * The body as text, at most `maxBytes` of it (the rest is not read). Throws what reading the body throws (the
 * connection dropped, the attempt's timeout aborted it): the attempt counts as a connection failure.
 */
async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= maxBytes) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

/** Reads Entra's success JSON; undefined when it lacks a bearer token and a positive lifetime. */
function parseTokenResponse(text: string, nowMs: number, scope: string): CachedToken | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const expiresIn = typeof json.expires_in === 'string' ? Number(json.expires_in) : json.expires_in;
  if (typeof json.access_token !== 'string' || json.access_token.length === 0) return undefined;
  if (typeof json.token_type !== 'string' || json.token_type.toLowerCase() !== 'bearer') return undefined;
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) return undefined;
  const uti = accessTokenUti(json.access_token);
  const issuedOn = Math.floor(nowMs / 1000);
  // Entra never issues more than 28 hours; a longer claim is served and cached as if it were 28 hours, so it is
  // refreshed in time and never answered as eternal (the client refuses such an expires_on).
  const lifetime = Math.min(Math.floor(expiresIn), ENTRA_MAX_ACCESS_TOKEN_LIFETIME_SECONDS);
  return { accessToken: json.access_token, expiresOn: issuedOn + lifetime, issuedOn, scope, ...(uti ? { uti } : {}) };
}

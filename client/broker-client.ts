/**
 * One signed call to the broker: `GET {url}/token/{alias}` → an Entra access token, or a `BrokerClientError` whose
 * `code` says what to do about it.
 */
import type { CallerIdentityLookup, Fetch } from './caller-identity';
import { stsCallerIdentity } from './caller-identity';
import { BrokerClientError } from './errors';
import type { BrokerClientErrorDetails } from './errors';
import type { CredentialsSource, Env } from './sign-request';
import {
  defaultCredentialsProvider,
  parseBaseUrl,
  parseExecuteApiHost,
  resolveCredentials,
  resolveRegion,
  signRequest,
  tokenUrl,
} from './sign-request';

export type { Fetch } from './caller-identity';

/** The broker's 200 body, camel-cased. */
export interface BrokerToken {
  readonly accessToken: string;
  readonly tokenType: 'Bearer';
  /** Seconds the token had left when the broker answered. */
  readonly expiresIn: number;
  /** Expiry, unix **seconds** (as the broker sends it). */
  readonly expiresOn: number;
  /** The Entra scope the token was issued for, e.g. `https://graph.microsoft.com/.default`. */
  readonly scope: string;
}

export interface FetchBrokerTokenOptions {
  /** Broker base URL: `https://{apiId}.execute-api.{region}.amazonaws.com` or a custom domain, base path allowed. */
  readonly url: string;
  readonly alias: string;
  /** Signing region; default: from an execute-api URL, else `AWS_REGION` / `AWS_DEFAULT_REGION`. */
  readonly region?: string;
  /** Default: the AWS SDK default chain (`fromNodeProviderChain()`): env, SSO/profiles, web identity, ECS, EC2. */
  readonly credentials?: CredentialsSource;
  /** Default: global fetch. */
  readonly fetch?: Fetch;
  /** Whole-exchange timeout (connect, headers, body). Default 10000. */
  readonly timeoutMs?: number;
  /** Aborting rejects with the signal's reason (an `AbortError` by default), not with a BrokerClientError. */
  readonly signal?: AbortSignal;
  /** Milliseconds since the epoch, for the signing date. Default `Date.now`. */
  readonly clock?: () => number;
  /** For the region fallback and STS endpoint settings. Default `process.env`. */
  readonly env?: Env;
  /** Names the caller in `forbidden` errors. Default: STS GetCallerIdentity; `false` to skip. */
  readonly identify?: CallerIdentityLookup | false;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Gets a token for `alias` from the broker at `url`, signing with SigV4 (service `execute-api`).
 * @throws BrokerClientError with `code`: `invalid_argument` (bad URL, no region, empty alias),
 *   `credentials_unavailable`, `unknown_alias` (404), `forbidden` (403), `broker_unreachable` (refused, DNS, TLS,
 *   timeout), `entra_rejected` (502, with `aadsts`/`correlationId`), `upstream_unavailable` (503),
 *   `bad_response` (a 200 that is not a token response), `broker_error` (anything else)
 * @throws the abort reason of `options.signal` when it aborts
 */
export async function fetchBrokerToken(options: FetchBrokerTokenOptions): Promise<BrokerToken> {
  const { alias, env = process.env, clock = Date.now, timeoutMs = DEFAULT_TIMEOUT_MS, signal } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = parseBaseUrl(options.url);
  const region = resolveRegion(base, options.region, env);
  const target = tokenUrl(base, alias);
  const ctx: Context = { base: base.href, alias, target: target.href };

  signal?.throwIfAborted();
  const credentials = await resolveCredentials(options.credentials ?? defaultCredentialsProvider(), ctx.base);
  const headers = await signRequest({
    method: 'GET',
    url: target,
    region,
    service: 'execute-api',
    credentials,
    headers: { accept: 'application/json' },
    now: clock(),
  });

  const controller = new AbortController();
  const timeout = new Error(`no answer within ${timeoutMs} ms`);
  const timer = setTimeout(() => {
    controller.abort(timeout);
  }, timeoutMs);
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let response: Response;
  let text: string;
  try {
    // `manual`: a redirect is not followed, so the signed headers never go to a host we did not sign for.
    response = await doFetch(target.href, { method: 'GET', headers, redirect: 'manual', signal: controller.signal });
    text = await response.text();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const why = controller.signal.reason === timeout ? timeout.message : describeNetworkError(error);
    throw new BrokerClientError(
      'broker_unreachable',
      `Cannot reach the broker at ${ctx.target} for alias "${alias}" (${why}). Check the URL, DNS, network path (VPC endpoint, proxy) and that the API is deployed.`,
      { url: ctx.base, alias },
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }

  if (response.status === 200) return parseToken(text, ctx);
  if (response.status === 403) {
    const identify = options.identify ?? stsCallerIdentity({ fetch: doFetch, env, clock });
    // Best effort: a lookup that fails (or throws, if custom) leaves the message generic.
    let principal: string | undefined;
    if (identify !== false) {
      try {
        principal = await identify({ region, credentials, ...(signal ? { signal } : {}) });
      } catch {
        principal = undefined;
      }
    }
    throw forbidden(ctx, base, region, principal);
  }
  throw errorFromResponse(response, text, ctx);
}

interface Context {
  readonly base: string;
  readonly alias: string;
  readonly target: string;
}

/** Network failures carry the useful part in `cause.code` (ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED …). */
function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  for (const candidate of [cause, error]) {
    if (candidate && typeof candidate === 'object' && 'code' in candidate && typeof candidate.code === 'string') return candidate.code;
  }
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** Strict parse of the 200 body. Never quotes the body: it holds the token. */
function parseToken(text: string, ctx: Context): BrokerToken {
  const bad = (why: string) =>
    new BrokerClientError(
      'bad_response',
      `The broker at ${ctx.target} answered 200 for alias "${ctx.alias}" but not with a token response (${why}); is the URL the broker's base URL?`,
      { url: ctx.base, alias: ctx.alias, status: 200 },
    );
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw bad('the body is not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('the body is not a JSON object');
  const record = body as Record<string, unknown>;
  const { access_token: accessToken, token_type: tokenType, expires_in: expiresIn, expires_on: expiresOn, scope } = record;
  if (typeof accessToken !== 'string' || accessToken.length === 0) throw bad('access_token is missing or empty');
  // Token types are case-insensitive (RFC 6749 §7.1); anything but Bearer would be unusable by callers.
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer') throw bad('token_type is not "Bearer"');
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn < 0) throw bad('expires_in is not a non-negative number');
  // Unix seconds; a value past 1e11 would be milliseconds, i.e. a broker bug that would make tokens look eternal.
  if (typeof expiresOn !== 'number' || !Number.isSafeInteger(expiresOn) || expiresOn <= 0 || expiresOn >= 1e11)
    throw bad('expires_on is not unix seconds');
  if (typeof scope !== 'string' || scope.length === 0) throw bad('scope is missing or empty');
  return { accessToken, tokenType: 'Bearer', expiresIn, expiresOn, scope };
}

const ROUTE = (alias: string) => `/token/${encodeURIComponent(alias)}`;

function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * HTTP API IAM authorization answers a bare `{"message":"Forbidden"}` both for "not allowed" and for a refused
 * signature, so the message covers both. The body is never quoted: REST APIs put the canonical request, with the
 * session token, into theirs.
 */
function forbidden(ctx: Context, base: URL, region: string, principal: string | undefined): BrokerClientError {
  const api = parseExecuteApiHost(base.hostname);
  const resource = api
    ? `arn:${partition(region)}:execute-api:${region}:*:${api.apiId}/*/GET${ROUTE(ctx.alias)}`
    : `the route GET ${ROUTE(ctx.alias)} of the broker API behind ${base.host}`;
  const who = principal ? `The principal ${principal}` : 'The calling AWS principal';
  return new BrokerClientError(
    'forbidden',
    `Forbidden: AWS IAM refused GET ${ctx.target} (alias "${ctx.alias}"). ${who} needs execute-api:Invoke on ${resource} ` +
      `(in the CDK app: broker.grantToken(grantee, "${ctx.alias}")); also check that the request is signed for region ${region} ` +
      `with valid, unexpired credentials and that the clock is right.`,
    { url: ctx.base, alias: ctx.alias, status: 403 },
  );
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Broker error messages are safe to show by contract (no tokens); they are still capped so a proxy's HTML page is not. */
function clip(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function errorFromResponse(response: Response, text: string, ctx: Context): BrokerClientError {
  const { status } = response;
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: API Gateway, a proxy or a load balancer answered; the status alone says enough.
  }
  const brokerError = str(body.error);
  const brokerMessage = str(body.message);
  const said = brokerMessage ? clip(brokerMessage) : undefined;
  const base: BrokerClientErrorDetails = { url: ctx.base, alias: ctx.alias, status, ...(brokerError ? { brokerError } : {}) };

  if (status === 404) {
    const message =
      brokerError === 'unknown_scope'
        ? `Unknown alias "${ctx.alias}" at ${ctx.base}: ${said ?? 'the broker has no scope under this alias'}`
        : `Unknown alias "${ctx.alias}" at ${ctx.base}: there is no route GET ${new URL(ctx.target).pathname}. Check the alias, and that ${ctx.base} is the broker's base URL (with its base path, if any).`;
    return new BrokerClientError('unknown_alias', message, base);
  }
  if (status === 502 && brokerError === 'entra_rejected') {
    const aadsts = str(body.aadsts);
    const entraError = str(body.entra_error);
    const correlationId = str(body.correlation_id);
    const traceId = str(body.trace_id);
    const ids = [aadsts ?? entraError, correlationId && `correlation id ${correlationId}`, traceId && `trace id ${traceId}`]
      .filter(Boolean)
      .join(', ');
    return new BrokerClientError(
      'entra_rejected',
      `Entra ID rejected the broker's token request for alias "${ctx.alias}" at ${ctx.base}${ids ? ` (${ids})` : ''}: ${said ?? 'no details'}`,
      { ...base, aadsts, entraError, correlationId, traceId },
    );
  }
  if (status === 503) {
    const upstream = str(body.upstream);
    const retryHeader = Number(response.headers.get('retry-after'));
    const retryAfterSeconds =
      typeof body.retry_after_seconds === 'number'
        ? body.retry_after_seconds
        : Number.isFinite(retryHeader) && retryHeader > 0
          ? retryHeader
          : undefined;
    return new BrokerClientError(
      'upstream_unavailable',
      `The broker at ${ctx.base} could not get a token for alias "${ctx.alias}" right now${upstream ? ` (${upstream} unavailable)` : ''}: ${sentence(said ?? 'service unavailable')} Retry later${retryAfterSeconds ? ` (after ${retryAfterSeconds} s)` : ''}.`,
      { ...base, upstream, retryAfterSeconds },
    );
  }
  if (status >= 300 && status < 400) {
    return new BrokerClientError(
      'broker_error',
      `The broker at ${ctx.target} redirected (${status}) for alias "${ctx.alias}"; pass the final base URL instead.`,
      base,
    );
  }
  return new BrokerClientError(
    'broker_error',
    `The broker at ${ctx.base} answered ${status} for alias "${ctx.alias}"${brokerError ? ` (${brokerError})` : ''}: ${said ?? 'no explanation in the body'}`,
    base,
  );
}

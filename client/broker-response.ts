/**
 * What the broker's answers mean to a caller: a 200 read strictly into a `BrokerToken`, anything else mapped to a
 * `BrokerClientError` whose message says what to do. Never quotes a 200 body (it holds the token).
 */
import { outlivesEntraMaximum } from '../contract/token-lifetime';
import { HTTP_METHOD, routeKey, tokenPath } from '../contract/http-api';
import { BrokerClientError, type BrokerClientErrorDetails } from './errors';
import { parseExecuteApiHost } from './sign-request';

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

/** Which request an answer belongs to, for the messages. */
export interface RequestContext {
  readonly base: string;
  readonly alias: string;
  readonly target: string;
}

/**
 * How far the broker's clock may be ahead of this one before a token's expiry counts as beyond what Entra issues.
 * The broker counts a token's life from its own clock.
 */
export const CLOCK_SKEW_ALLOWANCE_SECONDS = 300;

/**
 * Strict parse of the broker's 200 body; never quotes it (it holds the token). `expires_on` must be unix seconds
 * no further ahead than Entra's longest token lifetime (the server's own check on cached tokens, with clock skew):
 * anything later did not come from a genuine broker, and a caller trusting it would use a token past its expiry.
 * @param nowMs this machine's time, for the expiry check
 * @throws BrokerClientError `bad_response` naming what is wrong
 */
export function parseToken(text: string, ctx: RequestContext, nowMs: number = Date.now()): BrokerToken {
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
  if (outlivesEntraMaximum(expiresOn, nowMs / 1000, CLOCK_SKEW_ALLOWANCE_SECONDS))
    throw bad('expires_on is further ahead than the 28 hours Entra ever issues a token for');
  if (typeof scope !== 'string' || scope.length === 0) throw bad('scope is missing or empty');
  return { accessToken, tokenType: 'Bearer', expiresIn, expiresOn, scope };
}

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
export function forbidden(ctx: RequestContext, base: URL, region: string, principal: string | undefined): BrokerClientError {
  const api = parseExecuteApiHost(base.hostname);
  const resource = api
    ? `arn:${partition(region)}:execute-api:${region}:*:${api.apiId}/*/${HTTP_METHOD}${tokenPath(ctx.alias)}`
    : `the route ${routeKey(tokenPath(ctx.alias))} of the broker API behind ${base.host}`;
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

/**
 * The most of a broker message shown. Broker messages are safe to show by contract (no tokens) and end with their fix
 * (an Entra refusal's hint quotes the `az` command, ~1,000 characters), so the cap only stops a runaway body.
 */
const MAX_MESSAGE_CHARS = 4000;

function clip(text: string, max = MAX_MESSAGE_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** The broker's 503 messages already say to retry; the client's own "Retry later (after N s)" replaces that. */
function withoutRetryAdvice(text: string): string {
  return text.replace(/\s*Retry later\.?$/i, '');
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export function errorFromResponse(response: Response, text: string, ctx: RequestContext): BrokerClientError {
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
      `The broker at ${ctx.base} could not get a token for alias "${ctx.alias}" right now${upstream ? ` (${upstream} unavailable)` : ''}: ${sentence(withoutRetryAdvice(said ?? 'service unavailable'))} Retry later${retryAfterSeconds ? ` (after ${retryAfterSeconds} s)` : ''}.`,
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

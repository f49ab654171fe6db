/**
 * One signed call to the broker: `GET {url}/token/{alias}` → an Entra access token, or a `BrokerClientError` whose
 * `code` says what to do about it.
 */
import type { CallerIdentityLookup, Fetch } from './caller-identity';
import { stsCallerIdentity } from './caller-identity';
import { errorFromResponse, forbidden, parseToken, type BrokerToken, type RequestContext } from './broker-response';
import { BrokerClientError } from './errors';
import type { CredentialsSource, Env } from './sign-request';
import { defaultCredentialsProvider, parseBaseUrl, resolveCredentials, resolveRegion, signRequest, tokenUrl } from './sign-request';

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
  const ctx: RequestContext = { base: base.href, alias, target: target.href };

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

  if (response.status === 200) return parseToken(text, ctx, clock());
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

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  for (const candidate of [cause, error]) {
    if (candidate && typeof candidate === 'object' && 'code' in candidate && typeof candidate.code === 'string') return candidate.code;
  }
  if (cause instanceof Error && cause.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

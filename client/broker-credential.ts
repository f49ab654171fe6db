/**
 * The broker as an `@azure/core-auth` TokenCredential, so Azure SDK clients (and `bearerTokenAuthenticationPolicy`)
 * get their tokens from it:
 *
 *   const credential = new BrokerCredential({ url, scopes: { 'https://graph.microsoft.com/.default': 'graph' } });
 *   new BlobServiceClient(accountUrl, credential);
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { BrokerToken } from './broker-response';
import type { Fetch } from './caller-identity';
import { DEFAULT_TIMEOUT_MS, fetchBrokerToken } from './broker-client';
import type { CallerIdentityLookup } from './caller-identity';
import { BrokerClientError } from './errors';
import type { CredentialsSource, Env } from './sign-request';
import { defaultCredentialsProvider, parseBaseUrl, resolveRegion } from './sign-request';

export interface BrokerCredentialOptions {
  /** Broker base URL (see `fetchBrokerToken`). */
  readonly url: string;
  /**
   * Azure scope → broker alias, e.g. `{ 'https://graph.microsoft.com/.default': 'graph' }`. Keys match with or
   * without the `/.default` suffix and trailing slashes (see `scopeKey`).
   */
  readonly scopes: Readonly<Record<string, string>>;
  readonly region?: string;
  /** Default: the AWS SDK default chain. */
  readonly credentials?: CredentialsSource;
  readonly fetch?: Fetch;
  /** Per broker request. Default 10000. */
  readonly timeoutMs?: number;
  /** A cached token with less lifetime left than this is refreshed, never served. Default 300. */
  readonly refreshMarginSeconds?: number;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly clock?: () => number;
  readonly env?: Env;
  readonly identify?: CallerIdentityLookup | false;
}

/**
 * The form scopes are compared in: without a trailing `/.default` and without trailing slashes. Azure SDKs ask
 * for `{resource}/.default`, but some build it from a resource URI that ends in a slash
 * (`https://management.azure.com//.default`), and people write the map with the bare resource; all of these name
 * the same token, so they match the same alias.
 */
export function scopeKey(scope: string): string {
  const trimmed = scope.trim();
  const resource = trimmed.endsWith('/.default') ? trimmed.slice(0, -'/.default'.length) : trimmed;
  return resource.replace(/\/+$/, '');
}

interface CacheEntry {
  readonly accessToken: AccessToken;
  /** ms; from here on the token is refreshed instead of served. */
  readonly refreshAt: number;
}

/**
 * TokenCredential backed by the broker: one alias per Azure scope, an in-memory cache per alias until
 * `expiresOn - refreshMarginSeconds`, one in-flight request per alias shared by concurrent callers, and no
 * caching of failures. `getToken` options `claims`, `enableCae` and `tenantId` cannot be honoured (the broker
 * decides tenant and client) and are ignored, as is `requestOptions.timeout` (the request is shared between
 * callers; `timeoutMs` applies).
 */
export class BrokerCredential implements TokenCredential {
  readonly #url: string;
  readonly #region: string;
  readonly #aliases = new Map<string, string>();
  readonly #configured: readonly string[];
  readonly #credentials: CredentialsSource;
  readonly #fetch: Fetch | undefined;
  readonly #timeoutMs: number;
  readonly #marginMs: number;
  readonly #clock: () => number;
  readonly #env: Env;
  readonly #identify: CallerIdentityLookup | false | undefined;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inFlight = new Map<string, Promise<CacheEntry>>();

  /**
   * Validates everything it can up front, so a misconfiguration fails at start-up rather than on the first call.
   * @throws BrokerClientError `invalid_argument`: bad URL, undeterminable region, empty scope map or alias, two
   *   scopes that normalise to the same key but different aliases, or a negative refresh margin
   */
  constructor(options: BrokerCredentialOptions) {
    const base = parseBaseUrl(options.url);
    this.#url = options.url;
    this.#env = options.env ?? process.env;
    this.#region = resolveRegion(base, options.region, this.#env);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- JavaScript callers may pass anything
    const entries = Object.entries(options.scopes ?? {});
    if (entries.length === 0) {
      throw new BrokerClientError(
        'invalid_argument',
        `BrokerCredential for ${options.url} needs at least one scope → alias mapping in "scopes".`,
        { url: base.href },
      );
    }
    for (const [scope, alias] of entries) {
      if (typeof alias !== 'string' || alias.length === 0) {
        throw new BrokerClientError('invalid_argument', `BrokerCredential for ${options.url}: the alias for scope "${scope}" is empty.`, {
          url: base.href,
        });
      }
      const key = scopeKey(scope);
      const previous = this.#aliases.get(key);
      if (previous !== undefined && previous !== alias) {
        throw new BrokerClientError(
          'invalid_argument',
          `BrokerCredential for ${options.url}: scope "${scope}" maps to both "${previous}" and "${alias}".`,
          { url: base.href },
        );
      }
      this.#aliases.set(key, alias);
    }
    this.#configured = entries.map(([scope]) => scope);
    const margin = options.refreshMarginSeconds ?? 300;
    if (!Number.isFinite(margin) || margin < 0) {
      throw new BrokerClientError(
        'invalid_argument',
        `BrokerCredential for ${options.url}: refreshMarginSeconds must be a number ≥ 0, got ${margin}.`,
        { url: base.href },
      );
    }
    this.#marginMs = margin * 1000;
    this.#credentials = options.credentials ?? defaultCredentialsProvider();
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#clock = options.clock ?? Date.now;
    this.#identify = options.identify;
  }

  /**
   * A token for exactly one scope, from the cache or the broker.
   * @returns `{ token, expiresOnTimestamp, refreshAfterTimestamp, tokenType: 'Bearer' }` (timestamps in ms)
   * @throws BrokerClientError `invalid_argument` (not exactly one scope), `unmapped_scope`, or any error of
   *   `fetchBrokerToken`; an `AbortError` when `options.abortSignal` aborts (the shared request carries on for others)
   */
  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const list = typeof scopes === 'string' ? [scopes] : scopes;
    const [scope] = list;
    if (list.length !== 1 || scope === undefined) {
      throw new BrokerClientError(
        'invalid_argument',
        `BrokerCredential.getToken needs exactly one scope, got ${list.length} (${list.join(', ')}); the broker issues one token per scope.`,
        { url: this.#url },
      );
    }
    const alias = this.#aliases.get(scopeKey(scope));
    if (alias === undefined) {
      throw new BrokerClientError(
        'unmapped_scope',
        `BrokerCredential for ${this.#url} has no alias for scope "${scope}". Configured scopes: ${this.#configured.join(', ')}.`,
        { url: this.#url },
      );
    }
    const signal = options.abortSignal;
    if (signal?.aborted) throw abortError();

    const cached = this.#cache.get(alias);
    if (cached && this.#clock() < cached.refreshAt) return cached.accessToken;

    let flight = this.#inFlight.get(alias);
    if (!flight) {
      flight = this.#request(alias).finally(() => this.#inFlight.delete(alias));
      // Every caller may abort and leave: keep the rejection handled so it never becomes an unhandled rejection.
      flight.catch(() => {});
      this.#inFlight.set(alias, flight);
    }
    const entry = signal ? await raceAbort(flight, signal) : await flight;
    return entry.accessToken;
  }

  async #request(alias: string): Promise<CacheEntry> {
    // No caller signal here: the request is shared, so one caller's abort must not fail the others.
    const token: BrokerToken = await fetchBrokerToken({
      url: this.#url,
      alias,
      region: this.#region,
      credentials: this.#credentials,
      timeoutMs: this.#timeoutMs,
      clock: this.#clock,
      env: this.#env,
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
      ...(this.#identify !== undefined ? { identify: this.#identify } : {}),
    });
    const expiresOnTimestamp = token.expiresOn * 1000;
    const refreshAt = expiresOnTimestamp - this.#marginMs;
    const entry: CacheEntry = {
      accessToken: { token: token.accessToken, expiresOnTimestamp, refreshAfterTimestamp: refreshAt, tokenType: 'Bearer' },
      refreshAt,
    };
    // Only successes are cached; a token already inside the margin is still returned, just not kept.
    this.#cache.set(alias, entry);
    return entry;
  }
}

type AbortSignalLike = NonNullable<GetTokenOptions['abortSignal']>;

/** What Azure SDK code checks for (`error.name === 'AbortError'`). */
function abortError(): Error {
  const error = new Error('BrokerCredential.getToken was aborted.');
  error.name = 'AbortError';
  return error;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignalLike): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort);
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

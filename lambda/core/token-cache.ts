import { createHash, randomUUID } from 'node:crypto';
import { UpstreamUnavailableError } from './errors';
import { sleep } from './retry';
import type { BrokerMetrics, CacheOutcome, CachedToken, Clock, Logger, TokenStore } from './ports';
import { MAX_WINDOW_SHARE_OF_LIFETIME, refreshDueAt, tokenWindows, type ConfiguredWindows, type TokenWindows } from './token-freshness';

/**
 * Two-tier token cache that keeps load on the broker from becoming load on Entra:
 * - L1, in the container's memory: a hit does no I/O at all.
 * - L2, a shared store (DynamoDB): a hit costs one read.
 * - Single flight: concurrent misses for one key in a container share one refresh.
 * - A refresh lease in the store: when many containers miss at once, one exchanges and the rest wait
 *   for its result or keep serving the still-valid previous token. A lease expires on its own, so a
 *   crashed holder blocks nobody past that.
 * - Refresh ahead: a token enters its refresh window REFRESH_AHEAD_SECONDS before the margin; the first
 *   caller then refreshes it while others are still served. No caller ever receives a token with the margin
 *   or less left.
 * - Windows that fit the token (token-freshness.ts): the margin and the refresh window are each at most a quarter
 *   of the token's lifetime, so a 10-minute token is fresh for 5 minutes instead of never, and one exchange per
 *   refresh serves every container. The first token whose lifetime cannot hold the configured margin is logged
 *   once (one cache per process).
 * - Degrade, don't fail: when the store fails, serve from L1 and exchange directly, and leave the store
 *   alone for a short while.
 * - Proactive refresh (`proactiveRefreshPeriodSeconds`): a refresher renews each token once it has used about half
 *   its life (`refreshAhead`), through the same single flight and lease as a miss; callers then have no refresh window
 *   and are served any token outside its margin, so only a caller that finds nothing servable exchanges.
 */
export interface TokenCacheOptions {
  readonly store: TokenStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A token with this much lifetime left, or less, is never served. */
  readonly refreshMarginSeconds: number;
  /** Receives a count for each rare event (exchange, stale serve, lease wait, store failure), e.g. for CloudWatch. */
  readonly metrics: BrokerMetrics;
  /** Waits between looks at the store while another holder refreshes. @default setTimeout-based sleep */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * How often a refresher calls `refreshAhead` (`proactiveRefresh.periodSeconds`): callers then refresh only what is
   * no longer servable. @default - no refresher: the first caller in a token's refresh window refreshes it
   */
  readonly proactiveRefreshPeriodSeconds?: number;
}

/** What one `refreshAhead` did: renewed the token, found it not due yet, or left it to a refresh under way elsewhere. */
export type RefreshAheadOutcome = 'refreshed' | 'not-due' | 'elsewhere';

/** A token is refreshed this long before the margin is reached (at most a quarter of its lifetime: token-freshness.ts). */
export const REFRESH_AHEAD_SECONDS = 300;
/** How long a refresh lease lasts; longer than an exchange may take. */
export const LEASE_MS = 10_000;
/** How long a caller with nothing servable waits for another holder's refresh. */
export const LEASE_WAIT_MS = 5_000;
/** Pause between looks at the store while waiting. */
export const POLL_INTERVAL_MS = 100;

export interface CacheResult {
  readonly token: CachedToken;
  readonly outcome: CacheOutcome;
}

/** The cache key of a token: authority, tenant, client and scope, so two aliases of one scope share it and two apps never do. */
export function tokenCacheKey(parts: { authorityHost: string; tenantId: string; clientId: string; scope: string }): string {
  const material = JSON.stringify([parts.authorityHost, parts.tenantId.toLowerCase(), parts.clientId.toLowerCase(), parts.scope]);
  return createHash('sha256').update(material).digest('base64url');
}

/** How long the cache leaves the store alone after a store failure. */
export const STORE_BACKOFF_MS = 5_000;

/** A token in memory, with the instants (ms) its windows give it, computed once: a memory hit compares one number. */
interface MemoryEntry {
  readonly token: CachedToken;
  /** Until then the token is served as is. */
  readonly freshUntilMs: number;
}

export class TokenCache {
  private readonly l1 = new Map<string, MemoryEntry>();
  private readonly inFlight = new Map<string, Promise<CacheResult>>();
  /** The refresher's runs under way, by key: a caller with nothing servable shares one (`refreshAhead`). */
  private readonly refreshing = new Map<string, Promise<CachedToken | undefined>>();
  private storeUnavailableUntil = 0;
  private readonly opts: Required<Omit<TokenCacheOptions, 'proactiveRefreshPeriodSeconds'>>;
  private readonly refreshPeriodSeconds: number | undefined;
  private readonly configured: ConfiguredWindows;
  /** Identifies this container as a lease holder. */
  private readonly holderId = randomUUID();
  private marginWarned = false;

  constructor(options: TokenCacheOptions) {
    this.opts = { sleep, ...options };
    this.refreshPeriodSeconds = options.proactiveRefreshPeriodSeconds;
    // With a refresher, a caller has no refresh window: whatever is outside its margin is served.
    const aheadSeconds = this.refreshPeriodSeconds === undefined ? REFRESH_AHEAD_SECONDS : 0;
    this.configured = { marginSeconds: this.opts.refreshMarginSeconds, aheadSeconds };
  }

  private bump(event: 'exchanges' | 'staleServed' | 'leaseWaits' | 'storeFailures'): void {
    this.opts.metrics.count(event);
  }

  /**
   * A token for `key` with more than the refresh margin left, from L1, L2 or `exchange`.
   * @throws what `exchange` throws, when there is no servable token to fall back on
   */
  async get(key: string, exchange: () => Promise<CachedToken>): Promise<CacheResult> {
    const hit = this.peek(key);
    if (hit) return hit;
    const ahead = this.refreshing.get(key);
    if (ahead) {
      // The refresher is renewing this key right now: its token, if it gets one; otherwise what a miss does.
      const token = await ahead;
      if (token && this.isServable(token)) return { token, outcome: 'shared' };
      return this.get(key, exchange);
    }
    const cached = this.l1.get(key)?.token;
    const running = this.inFlight.get(key);
    if (running) {
      if (cached && this.isServable(cached)) return this.stale(cached);
      return running.then((result) => ({ token: result.token, outcome: result.outcome === 'l1' ? 'l1' : 'shared' }));
    }
    const refresh = this.refresh(key, cached, exchange).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, refresh);
    return refresh;
  }

  /**
   * The refresher's turn for `key`: renews the token if it is due (`refreshDueAt`: about half its life used, or
   * nothing cached), through the same single flight and lease as a miss, so a refresher and a miss, or two refreshers,
   * never exchange twice for one key. A miss in this process that arrives meanwhile shares the refresh.
   * @throws what `exchange` throws (the previous token, if any, stays cached and servable)
   */
  async refreshAhead(key: string, exchange: () => Promise<CachedToken>): Promise<RefreshAheadOutcome> {
    if (this.inFlight.has(key) || this.refreshing.has(key)) return 'elsewhere';
    const run = this.refreshIfDue(key, exchange);
    this.refreshing.set(
      key,
      run.then(
        (result) => result.token,
        () => undefined,
      ),
    );
    try {
      return (await run).outcome;
    } finally {
      this.refreshing.delete(key);
    }
  }

  private async refreshIfDue(
    key: string,
    exchange: () => Promise<CachedToken>,
  ): Promise<{ outcome: RefreshAheadOutcome; token: CachedToken | undefined }> {
    const current = this.best(this.l1.get(key)?.token, await this.readStore(key));
    if (current && this.isServable(current) && this.l1.get(key)?.token !== current) this.keep(key, current);
    if (current && !this.isDue(current)) return { outcome: 'not-due', token: current };
    const lease = await this.acquireLease(key);
    // Another refresher or a miss elsewhere is exchanging now: its token reaches the store within the lease.
    if (lease === 'held-by-other') return { outcome: 'elsewhere', token: current };
    const holdsLease = lease === 'acquired';
    try {
      if (holdsLease) {
        const again = await this.readStore(key);
        if (again && !this.isDue(again)) return { outcome: 'not-due', token: this.remember(key, again, 'l2').token };
      }
      const token = await exchange();
      this.bump('exchanges');
      if (this.isServable(token)) {
        this.keep(key, token);
        await this.writeStore(key, token);
      }
      return { outcome: 'refreshed', token };
    } finally {
      if (holdsLease) await this.releaseLease(key);
    }
  }

  /** True when the refresher should renew `token` now (lambda/core/token-freshness.ts, `refreshDueAt`). */
  private isDue(token: CachedToken): boolean {
    const period = this.refreshPeriodSeconds ?? 0;
    return this.opts.clock() >= refreshDueAt(token, this.windows(token), period) * 1000;
  }

  /** The L1 hit for `key`, synchronously, or undefined: the common case, without a promise. */
  peek(key: string): CacheResult | undefined {
    const cached = this.l1.get(key);
    if (cached === undefined || this.opts.clock() >= cached.freshUntilMs) return undefined;
    return { token: cached.token, outcome: 'l1' };
  }

  private async refresh(key: string, previous: CachedToken | undefined, exchange: () => Promise<CachedToken>): Promise<CacheResult> {
    const shared = await this.readStore(key);
    if (shared && this.isFresh(shared)) return this.remember(key, shared, 'l2');
    const fallback = this.best(previous, shared);
    if (fallback && !this.isFresh(fallback) && this.isServable(fallback) && fallback !== previous) {
      // A servable token from L2 is good enough for L1 while this refresh runs.
      this.keep(key, fallback);
    }

    let lease = await this.acquireLease(key);
    if (lease === 'held-by-other') {
      if (fallback && this.isServable(fallback)) return this.stale(fallback);
      const waited = await this.waitForOtherHolder(key);
      if (waited.kind === 'token') return this.remember(key, waited.token, 'shared');
      lease = waited.lease;
    }
    const holdsLease = lease === 'acquired';
    try {
      if (holdsLease) {
        // Another holder may have finished between our read and our lease.
        const again = await this.readStore(key);
        if (again && this.isFresh(again)) return this.remember(key, again, 'l2');
      }
      let token: CachedToken;
      try {
        token = await exchange();
      } catch (error) {
        if (fallback && this.isServable(fallback)) {
          this.opts.logger.warn('token refresh failed; serving the previous token, which is still valid', {
            errorCode: (error as { code?: string }).code ?? (error as Error).name,
            remainingSeconds: this.remainingSeconds(fallback),
          });
          return this.stale(fallback);
        }
        throw error;
      }
      this.bump('exchanges');
      if (!this.isServable(token)) {
        // Only a token without a known lifetime can get here: the configured margin applies to it unreduced.
        this.opts.logger.warn('Entra issued a token that lives no longer than the refresh margin; serving it uncached', {
          lifetimeSeconds: this.remainingSeconds(token),
          refreshMarginSeconds: this.windows(token).marginSeconds,
        });
        return { token, outcome: 'exchange' };
      }
      this.keep(key, token);
      await this.writeStore(key, token);
      return { token, outcome: 'exchange' };
    } finally {
      if (holdsLease) await this.releaseLease(key);
    }
  }

  /**
   * Waits for another container's refresh: its token, or the lease (the holder finished without a
   * token, or crashed and its lease expired).
   * @throws UpstreamUnavailableError when neither comes within `leaseWaitMs`
   */
  private async waitForOtherHolder(
    key: string,
  ): Promise<{ kind: 'token'; token: CachedToken } | { kind: 'lease'; lease: 'acquired' | 'store-down' }> {
    this.bump('leaseWaits');
    const deadline = this.opts.clock() + LEASE_WAIT_MS;
    while (this.opts.clock() < deadline) {
      await this.opts.sleep(POLL_INTERVAL_MS);
      const token = await this.readStore(key);
      if (token && this.isServable(token)) return { kind: 'token', token };
      const lease = await this.acquireLease(key);
      if (lease !== 'held-by-other') return { kind: 'lease', lease };
    }
    throw new UpstreamUnavailableError(
      'entra',
      `Another broker instance is refreshing this token at Entra ID and did not finish within ${LEASE_WAIT_MS} ms. Retry shortly.`,
      { retryAfterSeconds: 1 },
    );
  }

  private remember(key: string, token: CachedToken, outcome: CacheOutcome): CacheResult {
    this.keep(key, token);
    return { token, outcome };
  }

  /** Puts the token into memory with the instant it stops being fresh. */
  private keep(key: string, token: CachedToken): void {
    const { marginSeconds, aheadSeconds } = this.windows(token);
    this.l1.set(key, { token, freshUntilMs: (token.expiresOn - marginSeconds - aheadSeconds) * 1000 });
  }

  /** The windows of this token; says once per cache when the configured margin had to be reduced to fit. */
  private windows(token: CachedToken): TokenWindows {
    const windows = tokenWindows(token, this.configured);
    if (windows.marginReduced && !this.marginWarned) {
      this.marginWarned = true;
      this.opts.logger.warn(
        `refreshMarginSeconds (${this.configured.marginSeconds}) does not fit Entra's token lifetime of ${windows.lifetimeSeconds} s; ` +
          `tokens this short are refreshed with a margin of ${windows.marginSeconds} s (a quarter of their lifetime). ` +
          `Set refreshMarginSeconds to at most ${windows.marginSeconds} to use the same margin for every token.`,
        {
          refreshMarginSeconds: this.configured.marginSeconds,
          tokenLifetimeSeconds: windows.lifetimeSeconds,
          effectiveMarginSeconds: windows.marginSeconds,
          maxShareOfLifetime: MAX_WINDOW_SHARE_OF_LIFETIME,
        },
      );
    }
    return windows;
  }

  private stale(token: CachedToken): CacheResult {
    this.bump('staleServed');
    return { token, outcome: 'stale' };
  }

  private best(a: CachedToken | undefined, b: CachedToken | undefined): CachedToken | undefined {
    if (!a) return b;
    if (!b) return a;
    return b.expiresOn > a.expiresOn ? b : a;
  }

  private remainingSeconds(token: CachedToken): number {
    return token.expiresOn - this.opts.clock() / 1000;
  }

  private isServable(token: CachedToken): boolean {
    return this.remainingSeconds(token) > this.windows(token).marginSeconds;
  }

  private isFresh(token: CachedToken): boolean {
    const { marginSeconds, aheadSeconds } = this.windows(token);
    return this.remainingSeconds(token) > marginSeconds + aheadSeconds;
  }

  private storeAvailable(): boolean {
    return this.opts.clock() >= this.storeUnavailableUntil;
  }

  private storeFailed(operation: string, error: unknown): void {
    this.bump('storeFailures');
    this.storeUnavailableUntil = this.opts.clock() + STORE_BACKOFF_MS;
    this.opts.logger.warn('token cache store unavailable; serving from memory and exchanging directly', {
      operation,
      errorCode: (error as { code?: string }).code ?? (error as Error).name,
      retryStoreInMs: STORE_BACKOFF_MS,
    });
  }

  private async readStore(key: string): Promise<CachedToken | undefined> {
    if (!this.storeAvailable()) return undefined;
    try {
      return await this.opts.store.get(key);
    } catch (error) {
      this.storeFailed('get', error);
      return undefined;
    }
  }

  private async writeStore(key: string, token: CachedToken): Promise<void> {
    if (!this.storeAvailable()) return;
    try {
      await this.opts.store.put(key, token);
    } catch (error) {
      this.storeFailed('put', error);
    }
  }

  private async acquireLease(key: string): Promise<'acquired' | 'held-by-other' | 'store-down'> {
    if (!this.storeAvailable()) return 'store-down';
    try {
      const acquired = await this.opts.store.tryAcquireLease(key, this.holderId, this.opts.clock() + LEASE_MS);
      return acquired ? 'acquired' : 'held-by-other';
    } catch (error) {
      this.storeFailed('lease', error);
      return 'store-down';
    }
  }

  private async releaseLease(key: string): Promise<void> {
    if (!this.storeAvailable()) return;
    try {
      await this.opts.store.releaseLease(key, this.holderId);
    } catch (error) {
      this.storeFailed('release', error);
    }
  }
}

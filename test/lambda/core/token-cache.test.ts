import type { MetricEvent } from '../../../contract/aws-names';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import type { CachedToken, Logger, TokenStore } from '../../../lambda/core/ports';
import { REFRESH_AHEAD_SECONDS, TokenCache, tokenCacheKey, type TokenCacheOptions } from '../../../lambda/core/token-cache';

const MARGIN = 300;
const AHEAD = REFRESH_AHEAD_SECONDS;
const START = Date.UTC(2026, 10, 23, 12, 0, 0);

/** A manual clock; `sleep` advances it, so waiting is deterministic and instant. */
function manualTime() {
  let now = START;
  const sleepers: Array<() => void> = [];
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: async (ms: number) => {
      now += ms;
      sleepers.forEach((wake) => wake());
      await new Promise((resolve) => setImmediate(resolve));
    },
    onSleep: (wake: () => void) => sleepers.push(wake),
  };
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Counts the store operations that go through it. */
function countingStore(inner: TokenStore) {
  const calls = { get: 0, put: 0, lease: 0, release: 0 };
  const store: TokenStore = {
    get: (key) => (calls.get++, inner.get(key)),
    put: (key, token) => (calls.put++, inner.put(key, token)),
    tryAcquireLease: (key, holder, until) => (calls.lease++, inner.tryAcquireLease(key, holder, until)),
    releaseLease: (key, holder) => (calls.release++, inner.releaseLease(key, holder)),
  };
  return { store, calls };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A token of an hour's lifetime (so the configured windows apply) with `seconds` left. */
const tokenExpiringIn = (seconds: number, now: number, name = 'token'): CachedToken => ({
  accessToken: `${name}-${seconds}`,
  expiresOn: Math.floor(now / 1000) + seconds,
  issuedOn: Math.floor(now / 1000) + seconds - 3600,
  scope: 'https://graph.microsoft.com/.default',
});

function makeCache(time: ReturnType<typeof manualTime>, store: TokenStore, extra: Partial<TokenCacheOptions> = {}) {
  const logger = recordingLogger();
  const counts: Partial<Record<MetricEvent, number>> = {};
  const cache = new TokenCache({
    store,
    clock: time.clock,
    sleep: time.sleep,
    logger,
    metrics: { count: (event) => void (counts[event] = (counts[event] ?? 0) + 1) },
    refreshMarginSeconds: MARGIN,
    ...extra,
  });
  return { cache, logger, counts };
}

describe('TokenCache', () => {
  it('serves an L1 hit without touching the store', async () => {
    const time = manualTime();
    const { store, calls } = countingStore(new MemoryTokenStore({ clock: time.clock }));
    const { cache } = makeCache(time, store);
    let exchanges = 0;
    const exchange = async () => (exchanges++, tokenExpiringIn(3600, time.clock()));

    const first = await cache.get('k', exchange);
    const before = { ...calls };
    const second = await cache.get('k', exchange);

    expect(first.outcome).toBe('exchange');
    expect(second).toEqual({ token: first.token, outcome: 'l1' });
    expect(calls).toEqual(before);
    expect(exchanges).toBe(1);
  });

  it('peek answers a fresh memory hit synchronously, and nothing once the token enters its refresh window', async () => {
    const time = manualTime();
    const { cache } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    expect(cache.peek('k')).toBeUndefined();
    await cache.get('k', async () => tokenExpiringIn(3600, time.clock()));

    expect(cache.peek('k')).toMatchObject({ outcome: 'l1', token: { accessToken: 'token-3600' } });
    time.advance((3600 - MARGIN - AHEAD) * 1000);
    expect(cache.peek('k')).toBeUndefined();
  });

  it('serves an L2 hit with one read when another container cached the token', async () => {
    const time = manualTime();
    const shared = new MemoryTokenStore({ clock: time.clock });
    const { cache: containerA } = makeCache(time, shared);
    const { store, calls } = countingStore(shared);
    const { cache: containerB } = makeCache(time, store);
    await containerA.get('k', async () => tokenExpiringIn(3600, time.clock()));

    const result = await containerB.get('k', () => Promise.reject(new Error('must not exchange')));

    expect(result.outcome).toBe('l2');
    expect(calls).toEqual({ get: 1, put: 0, lease: 0, release: 0 });
  });

  it('never serves a token with the refresh margin or less left', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    const { cache } = makeCache(time, store);
    await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'old'));
    time.advance((3600 - MARGIN) * 1000); // exactly the margin left

    const failing = cache.get('k', () => Promise.reject(new UpstreamUnavailableError('entra', 'down')));
    await expect(failing).rejects.toMatchObject({ code: 'upstream_unavailable' });

    const refreshed = await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'new'));
    expect(refreshed.outcome).toBe('exchange');
    expect(refreshed.token.accessToken).toBe('new-3600');
  });

  it('refreshes ahead of the margin and keeps serving the valid token if that refresh fails', async () => {
    const time = manualTime();
    const { cache, logger } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'old'));
    time.advance((3600 - MARGIN - AHEAD + 1) * 1000); // inside the refresh-ahead window, 1 s before it ends... and still servable

    const result = await cache.get('k', () => Promise.reject(new UpstreamUnavailableError('entra', 'down')));

    expect(result.outcome).toBe('stale');
    expect(result.token.accessToken).toBe('old-3600');
    expect(logger.lines.some((line) => line.level === 'warn' && /refresh failed/.test(line.message))).toBe(true);
  });

  it('lets one caller refresh ahead while concurrent callers get the still-valid token at once', async () => {
    const time = manualTime();
    const { cache } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'old'));
    time.advance((3600 - MARGIN - AHEAD + 10) * 1000);
    const pending = deferred<CachedToken>();

    const refreshing = cache.get('k', () => pending.promise);
    const others = await Promise.all(Array.from({ length: 5 }, () => cache.get('k', () => Promise.reject(new Error('second exchange')))));
    pending.resolve(tokenExpiringIn(3600, time.clock(), 'new'));

    expect(others.map((r) => r.token.accessToken)).toEqual(Array(5).fill('old-3600'));
    expect((await refreshing).token.accessToken).toBe('new-3600');
  });

  it('shares one exchange among concurrent misses in a container (single flight)', async () => {
    const time = manualTime();
    const { cache } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    const pending = deferred<CachedToken>();
    let exchanges = 0;

    const results = Array.from({ length: 50 }, () => cache.get('k', () => (exchanges++, pending.promise)));
    pending.resolve(tokenExpiringIn(3600, time.clock()));
    const served = await Promise.all(results);

    expect(exchanges).toBe(1);
    expect(new Set(served.map((r) => r.token.accessToken)).size).toBe(1);
  });

  it('does not cache a failed exchange', async () => {
    const time = manualTime();
    const { cache } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    await expect(cache.get('k', () => Promise.reject(new UpstreamUnavailableError('entra', 'down')))).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    );
    const result = await cache.get('k', async () => tokenExpiringIn(3600, time.clock()));
    expect(result.outcome).toBe('exchange');
  });

  it('makes one exchange when 150 containers sharing a store miss at once; the others wait for its token', async () => {
    const time = manualTime();
    const shared = new MemoryTokenStore({ clock: time.clock });
    const containers = Array.from({ length: 150 }, () => makeCache(time, shared).cache);
    const pending = deferred<CachedToken>();
    let exchanges = 0;
    // The holder's exchange completes once the waiters have started polling.
    time.onSleep(() => pending.resolve(tokenExpiringIn(3600, time.clock())));

    const served = await Promise.all(containers.map((cache) => cache.get('k', () => (exchanges++, pending.promise))));

    expect(exchanges).toBe(1);
    expect(served.filter((r) => r.outcome === 'exchange')).toHaveLength(1);
    expect(served.filter((r) => r.outcome === 'shared')).toHaveLength(149);
  });

  it("takes over after a crashed lease holder's lease expires, and not before", async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    // Shorter than the wait (LEASE_WAIT_MS, 5 s): the lease runs out while this container waits.
    await store.tryAcquireLease('k', 'crashed-container', time.clock() + 3_000);
    const { cache } = makeCache(time, store);
    let exchangedAt: number | undefined;

    const result = await cache.get('k', async () => ((exchangedAt = time.clock()), tokenExpiringIn(3600, time.clock())));

    expect(result.outcome).toBe('exchange');
    expect(exchangedAt! - START).toBeGreaterThan(3_000);
    expect(exchangedAt! - START).toBeLessThanOrEqual(3_200);
  });

  it('answers upstream_unavailable when a lease outlives the wait, and recovers once it expires', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    await store.tryAcquireLease('k', 'slow-container', time.clock() + 10_000);
    const { cache } = makeCache(time, store);

    await expect(cache.get('k', () => Promise.reject(new Error('must not exchange')))).rejects.toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/Another broker instance is refreshing/),
    });
    time.advance(6_000);
    const result = await cache.get('k', async () => tokenExpiringIn(3600, time.clock()));
    expect(result.outcome).toBe('exchange');
  });

  it('keeps serving from memory and exchanges directly while the store is down, then returns to it', async () => {
    const time = manualTime();
    const healthy = new MemoryTokenStore({ clock: time.clock });
    let down = true;
    const broken = (): never => {
      throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'UpstreamUnavailableError', code: 'upstream_unavailable' });
    };
    const flaky: TokenStore = {
      get: async (key) => (down ? broken() : healthy.get(key)),
      put: async (key, token) => (down ? broken() : healthy.put(key, token)),
      tryAcquireLease: async (key, holder, until) => (down ? broken() : healthy.tryAcquireLease(key, holder, until)),
      releaseLease: async (key, holder) => (down ? broken() : healthy.releaseLease(key, holder)),
    };
    const { cache, logger, counts } = makeCache(time, flaky);

    const first = await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'a'));
    const second = await cache.get('k', () => Promise.reject(new Error('must not exchange')));
    expect(first.outcome).toBe('exchange');
    expect(second.outcome).toBe('l1');
    expect(counts.storeFailures).toBeGreaterThanOrEqual(1);
    expect(logger.lines.some((line) => line.level === 'warn' && /store unavailable/.test(line.message))).toBe(true);

    down = false;
    time.advance(5_001);
    await cache.get('other', async () => tokenExpiringIn(3600, time.clock(), 'b'));
    expect(await healthy.get('other')).toMatchObject({ accessToken: 'b-3600' });
  });

  it('reports exchanges and store failures to metrics, and nothing for hits', async () => {
    const time = manualTime();
    const events: string[] = [];
    const down: TokenStore = {
      get: async () => Promise.reject(new Error('down')),
      put: async () => Promise.reject(new Error('down')),
      tryAcquireLease: async () => Promise.reject(new Error('down')),
      releaseLease: async () => Promise.reject(new Error('down')),
    };
    const { cache } = makeCache(time, down, { metrics: { count: (event) => void events.push(event) } });

    await cache.get('k', async () => tokenExpiringIn(3600, time.clock()));
    await cache.get('k', async () => tokenExpiringIn(3600, time.clock()));

    expect(events).toEqual(['storeFailures', 'exchanges']);
  });

  it('replaces an item in the store that is no longer servable', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    await store.put('k', tokenExpiringIn(MARGIN - 1, time.clock(), 'expired'));
    const { cache } = makeCache(time, store);

    const result = await cache.get('k', async () => tokenExpiringIn(3600, time.clock(), 'new'));

    expect(result.token.accessToken).toBe('new-3600');
    expect((await store.get('k'))?.accessToken).toBe('new-3600');
  });
});

/** A token as the Entra client returns it: received now, with its lifetime known. */
const issuedNow = (lifetime: number, now: number, name = 'token'): CachedToken => ({
  accessToken: `${name}-${lifetime}`,
  issuedOn: Math.floor(now / 1000),
  expiresOn: Math.floor(now / 1000) + lifetime,
  scope: 'https://graph.microsoft.com/.default',
});

describe('TokenCache windows that fit the token (10-minute tokens)', () => {
  it('serves a 10-minute token from memory and the store for 5 minutes, then one container refreshes it for all', async () => {
    const time = manualTime();
    const shared = new MemoryTokenStore({ clock: time.clock });
    const containers = [makeCache(time, shared).cache, makeCache(time, shared).cache, makeCache(time, shared).cache];
    let exchanges = 0;
    const exchange = async () => (exchanges++, issuedNow(600, time.clock(), `t${exchanges}`));

    await containers[0]!.get('k', exchange);
    const outcomes: string[] = [];
    for (let round = 1; round <= 14; round++) {
      time.advance(20_000); // up to 280 s old: fresh
      for (const cache of containers) outcomes.push((await cache.get('k', exchange)).outcome);
    }
    expect(exchanges).toBe(1);
    expect(new Set(outcomes)).toStrictEqual(new Set(['l1', 'l2']));

    time.advance(21_000); // 301 s old: in the refresh window (150 s before the 150 s margin)
    const refreshed = await containers[1]!.get('k', exchange);
    const others = await Promise.all([containers[0]!.get('k', exchange), containers[2]!.get('k', exchange)]);
    expect(refreshed).toMatchObject({ outcome: 'exchange', token: { accessToken: 't2-600' } });
    expect(others.map((r) => [r.outcome, r.token.accessToken])).toStrictEqual([
      ['l2', 't2-600'],
      ['l2', 't2-600'],
    ]);
    expect(exchanges).toBe(2);
  });

  it('never serves a 10-minute token with 150 s or less left, even when the refresh fails', async () => {
    const time = manualTime();
    const { cache } = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    await cache.get('k', async () => issuedNow(600, time.clock(), 'old'));

    time.advance(449_000); // 151 s left: still servable while the refresh fails
    expect(await cache.get('k', () => Promise.reject(new UpstreamUnavailableError('entra', 'down')))).toMatchObject({
      outcome: 'stale',
      token: { accessToken: 'old-600' },
    });
    time.advance(1_000); // 150 s left: the margin
    await expect(cache.get('k', () => Promise.reject(new UpstreamUnavailableError('entra', 'down')))).rejects.toMatchObject({
      code: 'upstream_unavailable',
    });
  });

  it('says once per cache that the configured margin does not fit, naming the values; never for hour-long tokens', async () => {
    const time = manualTime();
    const hourly = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    await hourly.cache.get('k', async () => issuedNow(3599, time.clock()));
    time.advance(3_000_000);
    await hourly.cache.get('k', async () => issuedNow(5400, time.clock()));
    expect(hourly.logger.lines.filter((line) => line.level === 'warn')).toStrictEqual([]);

    const short = makeCache(time, new MemoryTokenStore({ clock: time.clock }));
    for (let i = 0; i < 5; i++) {
      await short.cache.get(`k${i}`, async () => issuedNow(600, time.clock()));
      time.advance(400_000);
    }
    const warnings = short.logger.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toBe(
      "refreshMarginSeconds (300) does not fit Entra's token lifetime of 600 s; tokens this short are refreshed with a margin of 150 s " +
        '(a quarter of their lifetime). Set refreshMarginSeconds to at most 150 to use the same margin for every token.',
    );
    expect(warnings[0]?.fields).toStrictEqual({
      refreshMarginSeconds: 300,
      tokenLifetimeSeconds: 600,
      effectiveMarginSeconds: 150,
      maxShareOfLifetime: 0.25,
    });
  });
});

describe('tokenCacheKey', () => {
  const base = {
    authorityHost: 'https://login.microsoftonline.com',
    tenantId: 't',
    clientId: 'c',
    scope: 'https://graph.microsoft.com/.default',
  };

  it('is shared by two aliases of one scope and app, and differs between apps, tenants and scopes', () => {
    expect(tokenCacheKey({ ...base })).toBe(tokenCacheKey({ ...base }));
    expect(tokenCacheKey({ ...base, clientId: 'C' })).toBe(tokenCacheKey(base));
    expect(tokenCacheKey({ ...base, clientId: 'other' })).not.toBe(tokenCacheKey(base));
    expect(tokenCacheKey({ ...base, tenantId: 'other' })).not.toBe(tokenCacheKey(base));
    expect(tokenCacheKey({ ...base, scope: 'https://storage.azure.com/.default' })).not.toBe(tokenCacheKey(base));
    expect(tokenCacheKey({ ...base, authorityHost: 'https://login.microsoftonline.us' })).not.toBe(tokenCacheKey(base));
  });
});

import type { MetricEvent } from '../../../contract/aws-names';
import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../../../contract/broker-config';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { EntraRejectedError, UpstreamUnavailableError } from '../../../lambda/core/errors';
import type { CachedToken, Logger, TokenStore } from '../../../lambda/core/ports';
import { TokenCache, tokenCacheKey } from '../../../lambda/core/token-cache';
import { refreshDueAt, tokenWindows } from '../../../lambda/core/token-freshness';
import { refreshTokensAhead } from '../../../lambda/core/token-refresher';
import { TokenService } from '../../../lambda/core/token-service';

const START = Date.UTC(2026, 11, 3, 12, 0, 0);
const START_S = START / 1000;
const MARGIN = 300;
const PERIOD = 60;
const GRAPH = 'https://graph.microsoft.com/.default';

/** A manual clock; `sleep` advances it, so a lease wait is deterministic and instant. */
function manualTime() {
  let now = START;
  return {
    clock: () => now,
    /** Moves the clock to `seconds` after START. */
    at: (seconds: number) => void (now = START + seconds * 1000),
    sleep: async (ms: number) => {
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function counter() {
  const counts: Partial<Record<MetricEvent, number>> = {};
  return { counts, metrics: { count: (event: MetricEvent) => void (counts[event] = (counts[event] ?? 0) + 1) } };
}

/** A token Entra issued at `issuedAt` (seconds after START) that lives `lifetime` seconds. */
const issued = (issuedAt: number, lifetime: number, name: string): CachedToken => ({
  accessToken: name,
  issuedOn: START_S + issuedAt,
  expiresOn: START_S + issuedAt + lifetime,
  scope: GRAPH,
});

function proactiveCache(time: ReturnType<typeof manualTime>, store: TokenStore, periodSeconds: number | 'off' = PERIOD) {
  const { counts, metrics } = counter();
  const logger = recordingLogger();
  const cache = new TokenCache({
    store,
    clock: time.clock,
    sleep: time.sleep,
    logger,
    metrics,
    refreshMarginSeconds: MARGIN,
    ...(periodSeconds === 'off' ? {} : { proactiveRefreshPeriodSeconds: periodSeconds }),
  });
  return { cache, counts, logger };
}

/** An Entra stand-in for the cache: each call issues the next token of `lifetime` at the current time. */
function entra(time: ReturnType<typeof manualTime>, lifetime = 3600) {
  const calls: string[] = [];
  let failing: Error | undefined;
  return {
    calls,
    fail: (error: Error | undefined) => void (failing = error),
    exchange: async (): Promise<CachedToken> => {
      if (failing) throw failing;
      const name = `t${calls.length + 1}`;
      calls.push(name);
      return issued((time.clock() - START) / 1000, lifetime, name);
    },
  };
}

describe('refreshDueAt: when the refresher renews a token, to the second', () => {
  const due = (lifetime: number, marginSeconds: number, periodSeconds: number) => {
    const token = issued(0, lifetime, 't');
    return refreshDueAt(token, tokenWindows(token, { marginSeconds, aheadSeconds: 0 }), periodSeconds) - START_S;
  };

  it("renews Entra's usual hour at half its life: 30 minutes after issue", () => {
    expect(due(3600, 300, 60)).toBe(1800);
    expect(due(3599, 300, 60)).toBe(1799); // ceil(3599 / 2) = 1800 s before expiry
    expect(due(5400, 300, 60)).toBe(2700);
  });

  it('renews sooner when the margin demands it: at the latest two periods before the margin', () => {
    // 10-minute token: margin capped at 150 s; half life (300 s) comes first with a 60 s period ...
    expect(due(600, 300, 60)).toBe(300);
    // ... but with 5-minute runs two periods before the margin (150 + 600 s) is before the token was even issued.
    expect(due(600, 300, 300)).toBe(600 - 750);
    // The margin is at most a quarter of the life: with a minute's period, half life wins for every Entra lifetime.
    expect(due(3600, 1500, 60)).toBe(1800);
    // 30 minutes, a 600 s margin (capped at 450 s) and 5-minute runs: 450 + 600 s before expiry, not 900.
    expect(due(1800, 600, 300)).toBe(1800 - 1050);
  });

  it('renews a token without a known lifetime when a caller would have (margin), or two periods before it', () => {
    const token = { issuedOn: START_S + 3600, expiresOn: START_S + 3600 };
    expect(refreshDueAt(token, tokenWindows(token, { marginSeconds: 300, aheadSeconds: 0 }), 60) - START_S).toBe(3600 - 420);
  });
});

describe('TokenCache with proactive refresh', () => {
  it('serves callers any token outside its margin: no refresh window, no caller exchange', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    const { cache } = proactiveCache(time, store);
    const upstream = entra(time);
    await cache.get('k', upstream.exchange);

    time.at(3600 - MARGIN - 1); // 301 s left: inside what was the refresh window, outside the margin
    expect(await cache.get('k', upstream.exchange)).toMatchObject({ outcome: 'l1', token: { accessToken: 't1' } });
    expect(upstream.calls).toStrictEqual(['t1']);

    time.at(3600 - MARGIN); // the margin: never served
    expect(await cache.get('k', upstream.exchange)).toMatchObject({ outcome: 'exchange', token: { accessToken: 't2' } });
  });

  it('without it, keeps today: the first caller in the refresh window exchanges', async () => {
    const time = manualTime();
    const { cache } = proactiveCache(time, new MemoryTokenStore({ clock: time.clock }), 'off');
    const upstream = entra(time);
    await cache.get('k', upstream.exchange);
    time.at(3600 - MARGIN - 1);
    expect((await cache.get('k', upstream.exchange)).outcome).toBe('exchange');
  });

  it('warms an empty cache, then renews at half life to the second, never before', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    const { cache } = proactiveCache(time, store);
    const upstream = entra(time);

    expect(await cache.refreshAhead('k', upstream.exchange)).toBe('refreshed');
    time.at(1799);
    expect(await cache.refreshAhead('k', upstream.exchange)).toBe('not-due');
    expect(upstream.calls).toStrictEqual(['t1']);
    time.at(1800);
    expect(await cache.refreshAhead('k', upstream.exchange)).toBe('refreshed');
    expect(upstream.calls).toStrictEqual(['t1', 't2']);
    // Callers, in this process and any other reading the store, get the new token.
    expect((await store.get('k'))?.accessToken).toBe('t2');
    expect(await cache.get('k', upstream.exchange)).toMatchObject({ outcome: 'l1', token: { accessToken: 't2' } });
  });

  it('makes one exchange per refresh when three processes run their refreshers at once on one table', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    const processes = [proactiveCache(time, store), proactiveCache(time, store), proactiveCache(time, store)];
    const upstream = entra(time);
    const gate: Array<() => void> = [];
    // Entra answers only once all three runs have started, so they overlap.
    const slow = async () => {
      await new Promise<void>((resolve) => gate.push(resolve));
      return upstream.exchange();
    };
    for (const at of [0, 1800, 3600]) {
      time.at(at);
      const runs = processes.map(({ cache }) => cache.refreshAhead('k', slow));
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 20 && gate.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
      gate.splice(0).forEach((open) => open());
      const outcomes = await Promise.all(runs);
      expect(outcomes, `at ${at} s`).toContain('refreshed');
      expect(outcomes.filter((outcome) => outcome === 'refreshed')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome !== 'refreshed').every((o) => o === 'elsewhere' || o === 'not-due')).toBe(true);
    }
    expect(upstream.calls).toStrictEqual(['t1', 't2', 't3']);
  });

  it('shares its refresh with a caller in the same process that finds nothing servable (one exchange)', async () => {
    const time = manualTime();
    const { cache, counts } = proactiveCache(time, new MemoryTokenStore({ clock: time.clock }));
    const upstream = entra(time);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = async () => (await held, upstream.exchange());
    const refresher = cache.refreshAhead('k', slow);
    await new Promise((resolve) => setImmediate(resolve));
    const caller = cache.get('k', upstream.exchange);
    release();
    expect(await refresher).toBe('refreshed');
    expect(await caller).toMatchObject({ outcome: 'shared', token: { accessToken: 't1' } });
    expect(upstream.calls).toStrictEqual(['t1']);
    expect(counts.exchanges).toBe(1);
  });

  it('leaves a key alone while a miss in this process exchanges it', async () => {
    const time = manualTime();
    const { cache } = proactiveCache(time, new MemoryTokenStore({ clock: time.clock }));
    const upstream = entra(time);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const miss = cache.get('k', async () => (await held, upstream.exchange()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await cache.refreshAhead('k', upstream.exchange)).toBe('elsewhere');
    release();
    await miss;
    expect(upstream.calls).toStrictEqual(['t1']);
  });

  it('keeps serving the previous token when a refresh fails, until its margin; the next run renews it', async () => {
    const time = manualTime();
    const { cache } = proactiveCache(time, new MemoryTokenStore({ clock: time.clock }));
    const upstream = entra(time);
    await cache.refreshAhead('k', upstream.exchange);
    upstream.fail(new UpstreamUnavailableError('entra', 'Entra ID is unavailable'));
    for (const at of [1800, 2400, 3000, 3299]) {
      time.at(at);
      await expect(cache.refreshAhead('k', upstream.exchange)).rejects.toBeInstanceOf(UpstreamUnavailableError);
      expect(await cache.get('k', upstream.exchange)).toMatchObject({ outcome: 'l1', token: { accessToken: 't1' } });
    }
    upstream.fail(undefined);
    time.at(3299);
    expect(await cache.refreshAhead('k', upstream.exchange)).toBe('refreshed');
    expect(await cache.get('k', upstream.exchange)).toMatchObject({ outcome: 'l1', token: { accessToken: 't2' } });
  });

  it('does not refresh when another process renewed the token between its read and its lease', async () => {
    const time = manualTime();
    const store = new MemoryTokenStore({ clock: time.clock });
    const { cache } = proactiveCache(time, store);
    const upstream = entra(time);
    await cache.refreshAhead('k', upstream.exchange);
    time.at(1800);
    // Another process's refresher writes a fresh token just before this one takes the lease.
    const racing: TokenStore = {
      get: (key) => store.get(key),
      put: (key, token) => store.put(key, token),
      releaseLease: (key, holder) => store.releaseLease(key, holder),
      tryAcquireLease: async (key, holder, until) => {
        await store.put(key, issued(1800, 3600, 'other'));
        return store.tryAcquireLease(key, holder, until);
      },
    };
    const { cache: second } = proactiveCache(time, racing);
    expect(await second.refreshAhead('k', upstream.exchange)).toBe('not-due');
    expect(upstream.calls).toStrictEqual(['t1']);
  });
});

describe('refreshTokensAhead', () => {
  const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const CLIENT = '11111111-2222-4333-8444-555555555555';

  function service(time: ReturnType<typeof manualTime>, outcomes: Map<string, 'ok' | 'reject'>) {
    const config = parseBrokerConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      // Two aliases of one scope share one cache key: one exchange serves both.
      scopes: { graph: GRAPH, 'graph-too': GRAPH, storage: 'https://storage.azure.com/.default' },
    }).runtime;
    const { counts, metrics } = counter();
    const logger = recordingLogger();
    const cache = new TokenCache({
      store: new MemoryTokenStore({ clock: time.clock }),
      clock: time.clock,
      sleep: time.sleep,
      logger,
      metrics,
      refreshMarginSeconds: MARGIN,
      proactiveRefreshPeriodSeconds: PERIOD,
    });
    const requests: string[] = [];
    const tokenService = new TokenService({
      config,
      assertions: { issuer: 'https://issuer.example', subject: 'aws-token-broker', create: async () => 'header.payload.signature' },
      cache,
      clock: time.clock,
      entra: {
        sleep: time.sleep,
        fetch: async (_url, init) => {
          const scope = new URLSearchParams(String(init?.body)).get('scope') ?? '';
          requests.push(scope);
          if (outcomes.get(scope) === 'reject') {
            return Response.json(
              {
                error: 'invalid_client',
                error_description: 'AADSTS700213: No matching federated identity record found.',
                error_codes: [700213],
              },
              { status: 400 },
            );
          }
          return Response.json({ token_type: 'Bearer', expires_in: 3600, access_token: `access-${requests.length}` });
        },
      },
    });
    return { tokenService, counts, logger, requests, cache, config };
  }

  it('renews each cache key once, counts RefreshesAhead, and nothing when the next run finds them not due', async () => {
    const time = manualTime();
    const { tokenService, counts, logger, requests } = service(time, new Map());
    const run = await refreshTokensAhead({
      service: tokenService,
      metrics: { count: (e) => void (counts[e] = (counts[e] ?? 0) + 1) },
      logger,
    });
    expect(run).toStrictEqual({ refreshed: 2, notDue: 0, elsewhere: 0, failed: 0 });
    expect(requests.sort()).toStrictEqual([GRAPH, 'https://storage.azure.com/.default']);
    expect(counts.refreshesAhead).toBe(2);

    time.at(PERIOD);
    const next = await refreshTokensAhead({
      service: tokenService,
      metrics: { count: (e) => void (counts[e] = (counts[e] ?? 0) + 1) },
      logger,
    });
    expect(next).toStrictEqual({ refreshed: 0, notDue: 2, elsewhere: 0, failed: 0 });
    expect(counts.refreshesAhead).toBe(2);
    expect(requests).toHaveLength(2);
  });

  it("counts RefreshFailures and logs the aliases and Entra's code; the other keys are still renewed", async () => {
    const time = manualTime();
    const { tokenService, logger, requests } = service(time, new Map([[GRAPH, 'reject']]));
    const { counts, metrics } = counter();
    const run = await refreshTokensAhead({ service: tokenService, metrics, logger });
    expect(run).toStrictEqual({ refreshed: 1, notDue: 0, elsewhere: 0, failed: 1 });
    expect(counts).toMatchObject({ refreshFailures: 1, refreshesAhead: 1 });
    expect(requests).toHaveLength(2);
    const warning = logger.lines.find((line) => line.level === 'warn');
    expect(warning?.message).toMatch(/proactive refresh failed/);
    expect(warning?.fields).toMatchObject({ aliases: ['graph', 'graph-too'], error: 'entra_rejected', aadsts: 'AADSTS700213' });
    expect(JSON.stringify(logger.lines)).not.toContain('header.payload.signature');
  });

  it('keys a refresh by tenant, client and scope', () => {
    const time = manualTime();
    const { config } = service(time, new Map());
    const keys = new Set(Object.values(config.scopes).map((s) => tokenCacheKey({ authorityHost: config.authorityHost, ...s })));
    expect(keys.size).toBe(2);
    expect(EntraRejectedError).toBeDefined();
  });
});

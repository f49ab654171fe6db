import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import type { CachedToken, Logger } from '../../../lambda/core/ports';
import { TokenCache } from '../../../lambda/core/token-cache';
import { MAX_WINDOW_SHARE_OF_LIFETIME, tokenWindows } from '../../../lambda/core/token-freshness';

const START = Date.UTC(2026, 10, 23, 12, 0, 0);
const DEFAULTS = { marginSeconds: 300, aheadSeconds: 300 };
const MINUTE = 60;
const HOUR = 60 * MINUTE;

/**
 * Every access-token lifetime Entra can issue: 10 minutes to a day with a token lifetime policy, a random 60-90
 * minutes by default (learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes), and the
 * 3599 s Entra usually answers. Up to 28 h, the longest lifetime that page names (CAE sessions).
 */
const entraLifetime = fc.oneof(
  fc.integer({ min: 10 * MINUTE, max: 24 * HOUR }),
  fc.integer({ min: 60 * MINUTE, max: 90 * MINUTE }),
  fc.constantFrom(10 * MINUTE, 3599, 24 * HOUR, 28 * HOUR),
);
/** What `refreshMarginSeconds` accepts (contract/broker-config.ts: 0-1800), and a refresh-ahead window as tuned. */
const configured = fc.record({ marginSeconds: fc.integer({ min: 0, max: 1800 }), aheadSeconds: fc.integer({ min: 0, max: 1800 }) });

const dated = (issuedOn: number, lifetime: number) => ({ issuedOn, expiresOn: issuedOn + lifetime });

describe('tokenWindows', () => {
  it('keeps the configured windows for the lifetimes Entra issues by default (an hour or more)', () => {
    for (const lifetime of [3599, 60 * MINUTE, 75 * MINUTE, 90 * MINUTE, 24 * HOUR]) {
      expect(tokenWindows(dated(1000, lifetime), DEFAULTS)).toStrictEqual({
        marginSeconds: 300,
        aheadSeconds: 300,
        lifetimeSeconds: lifetime,
        marginReduced: false,
      });
    }
  });

  it('gives a 10-minute token a margin and a refresh window of 150 s each, so it is fresh for 5 minutes', () => {
    expect(tokenWindows(dated(1000, 600), DEFAULTS)).toStrictEqual({
      marginSeconds: 150,
      aheadSeconds: 150,
      lifetimeSeconds: 600,
      marginReduced: true,
    });
  });

  it('never widens a window for a nonsense lifetime: such a token gets the configured windows', () => {
    expect(tokenWindows({ expiresOn: 2000, issuedOn: 2000 }, DEFAULTS)).toMatchObject({ ...DEFAULTS, lifetimeSeconds: undefined });
    expect(tokenWindows({ expiresOn: 2000, issuedOn: 3000 }, DEFAULTS)).toMatchObject({ ...DEFAULTS, lifetimeSeconds: undefined });
    expect(tokenWindows({ expiresOn: 2000, issuedOn: Number.NaN }, DEFAULTS)).toMatchObject({ ...DEFAULTS, lifetimeSeconds: undefined });
    expect(tokenWindows({ expiresOn: 2000, issuedOn: -1e12 }, DEFAULTS)).toMatchObject({ ...DEFAULTS, marginReduced: false });
  });

  it('for every lifetime and configuration: windows never exceed the configured ones, and leave at least half the life fresh', () => {
    fc.assert(
      fc.property(entraLifetime, configured, fc.integer({ min: 0, max: 2e9 }), (lifetime, config, issuedOn) => {
        const windows = tokenWindows(dated(issuedOn, lifetime), config);
        expect(windows.marginSeconds).toBeLessThanOrEqual(config.marginSeconds);
        expect(windows.aheadSeconds).toBeLessThanOrEqual(config.aheadSeconds);
        expect(windows.marginSeconds + windows.aheadSeconds).toBeLessThanOrEqual(lifetime * 2 * MAX_WINDOW_SHARE_OF_LIFETIME);
        expect(windows.marginReduced).toBe(config.marginSeconds > Math.floor(lifetime / 4));
        // Reduced only as far as it must be: to a quarter of the lifetime, not below.
        if (windows.marginReduced) expect(windows.marginSeconds).toBe(Math.floor(lifetime / 4));
      }),
    );
  });
});

/** A manual clock shared by every container; waiting for a lease holder advances it. */
function sharedTime() {
  const time = { now: START };
  return {
    time,
    clock: () => time.now,
    sleep: async (ms: number) => {
      time.now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

describe('TokenCache with tokens of any lifetime Entra issues (property)', () => {
  it('costs one exchange per refresh across containers and never serves a token inside its margin', async () => {
    await fc.assert(
      fc.asyncProperty(
        entraLifetime,
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 1, max: 4 }),
        // Gaps between rounds of requests; in each round one or more containers are asked at the same instant.
        fc.array(
          fc.record({ gapSeconds: fc.integer({ min: 0, max: 900 }), askers: fc.array(fc.nat({ max: 3 }), { minLength: 1, maxLength: 6 }) }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (lifetime, marginSeconds, containerCount, rounds) => {
          const { time, clock, sleep } = sharedTime();
          const store = new MemoryTokenStore({ clock });
          const caches = Array.from(
            { length: containerCount },
            () =>
              new TokenCache({
                store,
                clock,
                sleep,
                logger: silent,
                metrics: { count: () => undefined },
                refreshMarginSeconds: marginSeconds,
              }),
          );
          const exchangedAt: number[] = [];
          let issued = 0;
          const exchange = async (): Promise<CachedToken> => {
            exchangedAt.push(time.now);
            issued += 1;
            const issuedOn = Math.floor(time.now / 1000);
            return { accessToken: `token-${issued}`, issuedOn, expiresOn: issuedOn + lifetime, scope: 's' };
          };
          // What the rule promises, written out independently of token-freshness.ts: the configured margin but at
          // most a quarter of the lifetime, and a token fresh for at least half its life.
          const effectiveMargin = Math.min(marginSeconds, Math.floor(lifetime / 4));
          const freshSeconds = lifetime / 2;

          for (const round of rounds) {
            time.now += round.gapSeconds * 1000;
            const served = await Promise.all(round.askers.map((index) => caches[index % containerCount]!.get('k', exchange)));
            for (const { token } of served) {
              // Never inside the margin, measured when the answer is given.
              expect(token.expiresOn - time.now / 1000).toBeGreaterThan(effectiveMargin);
            }
          }
          expect(exchangedAt.length).toBeGreaterThanOrEqual(1);
          // One exchange per refresh: a new one only once the previous token stopped being fresh, whichever container asks.
          for (let i = 1; i < exchangedAt.length; i++) {
            // (issuedOn is whole seconds: a token can be up to 1 s older than the instant it was received)
            expect(exchangedAt[i]! - exchangedAt[i - 1]!).toBeGreaterThan((freshSeconds - 1) * 1000);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

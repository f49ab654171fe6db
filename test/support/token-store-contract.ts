/**
 * Behaviour every TokenStore must have, run against each implementation (DynamoDB, memory), so the
 * local runtime without DynamoDB behaves like a deployment.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CachedToken, Clock, TokenStore } from '../../lambda/core/ports';

export interface ContractContext {
  /** A store whose lease decisions use `clock`. */
  makeStore(clock: Clock): TokenStore | Promise<TokenStore>;
  /**
   * What an expired token reads as: `stored` (a plain store returns it; the cache policy checks expiresOn) or `miss`
   * (the sealing store checks it itself). @default 'stored'
   */
  readonly expired?: 'stored' | 'miss';
}

// Far in the future on purpose: DynamoDB Local runs TTL deletion within about a second, so an item
// whose `ttl` lies in the real past (up to five years back, like real DynamoDB) can vanish mid-test.
const T0 = Date.UTC(2100, 0, 1);

async function setup(ctx: ContractContext) {
  const time = { now: T0 };
  const store = await ctx.makeStore(() => time.now);
  // A fresh key per test: the DynamoDB table is shared by every test in the file.
  return { store, time, key: `alias-${randomUUID()}` };
}

const token = (overrides: Partial<CachedToken> = {}): CachedToken => ({
  accessToken: `eyJ0eXAiOiJKV1QifQ.${randomUUID()}.sig`,
  expiresOn: Math.floor(T0 / 1000) + 3600,
  issuedOn: Math.floor(T0 / 1000),
  scope: 'https://graph.microsoft.com/.default',
  ...overrides,
});

/** Registers the shared TokenStore cases under `describe(name)`. */
export function describeTokenStoreContract(name: string, ctx: ContractContext): void {
  describe(`${name}: TokenStore contract`, () => {
    it('returns what was put, and a later put replaces it', async () => {
      const { store, key } = await setup(ctx);
      const first = token();
      await store.put(key, first);
      expect(await store.get(key)).toEqual(first);
      const second = token({ expiresOn: first.expiresOn + 60 });
      await store.put(key, second);
      expect(await store.get(key)).toEqual(second);
    });

    it("keeps the token's audit identifiers (uti, correlation id) with it, and reads a token without them", async () => {
      const { store, key } = await setup(ctx);
      const identified = token({ uti: 'm4xTQZ2KvUuhC3hMnQ0AAA', correlationId: randomUUID() });
      await store.put(key, identified);
      expect(await store.get(key)).toStrictEqual(identified);
      const bare = token();
      await store.put(key, bare);
      expect(await store.get(key)).toStrictEqual(bare);
    });

    it('keeps the time the token was received (its lifetime decides how long it is fresh)', async () => {
      const { store, key } = await setup(ctx);
      const issuedOn = Math.floor(T0 / 1000) - 60;
      const dated = token({ issuedOn, expiresOn: issuedOn + 600 });
      await store.put(key, dated);
      expect(await store.get(key)).toStrictEqual(dated);
    });

    it('returns undefined for a key never stored', async () => {
      const { store, key } = await setup(ctx);
      expect(await store.get(key)).toBeUndefined();
    });

    it(`reads an expired token as ${ctx.expired === 'miss' ? 'a miss' : 'stored'} (TTL deletion is lazy)`, async () => {
      const { store, key } = await setup(ctx);
      const expired = token({ expiresOn: Math.floor(T0 / 1000) - 10 });
      await store.put(key, expired);
      expect(await store.get(key)).toEqual(ctx.expired === 'miss' ? undefined : expired);
    });

    it('keeps tokens and leases of the same key apart', async () => {
      const { store, key } = await setup(ctx);
      expect(await store.tryAcquireLease(key, 'a', T0 + 10_000)).toBe(true);
      expect(await store.get(key)).toBeUndefined();
      await store.put(key, token());
      expect(await store.tryAcquireLease(key, 'b', T0 + 10_000)).toBe(false);
    });

    it('gives the lease to one holder until it expires', async () => {
      const { store, time, key } = await setup(ctx);
      expect(await store.tryAcquireLease(key, 'a', T0 + 10_000)).toBe(true);
      expect(await store.tryAcquireLease(key, 'b', T0 + 10_000)).toBe(false);
      time.now = T0 + 10_000; // expiring exactly now: still held
      expect(await store.tryAcquireLease(key, 'b', T0 + 20_000)).toBe(false);
      time.now = T0 + 10_001;
      expect(await store.tryAcquireLease(key, 'b', T0 + 20_000)).toBe(true);
      expect(await store.tryAcquireLease(key, 'a', T0 + 20_000)).toBe(false);
    });

    it('lets the holder take its own lease again (extending it)', async () => {
      const { store, time, key } = await setup(ctx);
      expect(await store.tryAcquireLease(key, 'a', T0 + 10_000)).toBe(true);
      expect(await store.tryAcquireLease(key, 'a', T0 + 30_000)).toBe(true);
      time.now = T0 + 20_000;
      expect(await store.tryAcquireLease(key, 'b', T0 + 40_000)).toBe(false);
    });

    it('releases only for the holder', async () => {
      const { store, key } = await setup(ctx);
      expect(await store.tryAcquireLease(key, 'a', T0 + 10_000)).toBe(true);
      await store.releaseLease(key, 'b');
      expect(await store.tryAcquireLease(key, 'b', T0 + 10_000)).toBe(false);
      await store.releaseLease(key, 'a');
      expect(await store.tryAcquireLease(key, 'b', T0 + 10_000)).toBe(true);
    });

    it('ignores releasing a lease that is gone or was taken over after expiring', async () => {
      const { store, time, key } = await setup(ctx);
      await expect(store.releaseLease(key, 'a')).resolves.toBeUndefined();
      expect(await store.tryAcquireLease(key, 'a', T0 + 10_000)).toBe(true);
      time.now = T0 + 10_001;
      expect(await store.tryAcquireLease(key, 'b', T0 + 20_000)).toBe(true);
      await store.releaseLease(key, 'a'); // a's late release must not free b's lease
      expect(await store.tryAcquireLease(key, 'c', T0 + 20_000)).toBe(false);
    });

    it('grants exactly one of 20 concurrent acquisitions', async () => {
      const { store, key } = await setup(ctx);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.tryAcquireLease(key, `holder-${i}`, T0 + 10_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}

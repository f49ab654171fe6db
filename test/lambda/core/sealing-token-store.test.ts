/**
 * Sealed cache items, with data keys from the KMS adapter over a KMS mock backed by real AES-256-GCM
 * (test/support/kms-mock.ts): what someone with write access to the table can and cannot make the broker serve.
 */
import { describe, expect, it } from 'vitest';
import { KmsDataKeys } from '../../../lambda/adapters/kms-data-keys';
import { sealBindings } from '../../../lambda/composition/token-function';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import type { CachedToken, Logger } from '../../../lambda/core/ports';
import { SealingTokenStore } from '../../../lambda/core/sealing-token-store';
import { TokenCache } from '../../../lambda/core/token-cache';
import { SealedItemRejectedError, TokenSealer, type SealBinding } from '../../../lambda/core/token-sealing';
import { parseBrokerConfig } from '../../../contract/broker-config';
import { CACHE_KEY_ARN, KMS_ERRORS, mockKms, type MockKms } from '../../support/kms-mock';
import { MemorySealedStore } from '../../support/memory-sealed-store';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const NOW_S = NOW / 1000;
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';

const config = parseBrokerConfig({
  tenantId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  scopes: { graph: GRAPH, storage: STORAGE, other: { scope: GRAPH, clientId: '33333333-3333-3333-3333-333333333333' } },
}).runtime;
const bindings = sealBindings(config);
const [graphBinding, storageBinding, otherAppBinding] = [...bindings.values()] as [SealBinding, SealBinding, SealBinding];

const token = (overrides: Partial<CachedToken> = {}): CachedToken => ({
  accessToken: `eyJ0eXAiOiJKV1QifQ.${'a'.repeat(1500)}.c2lnbmF0dXJl`,
  expiresOn: NOW_S + 3599,
  issuedOn: NOW_S,
  scope: GRAPH,
  uti: 'm4xTQZ2KvUuhC3hMnQ0AAA',
  correlationId: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b',
  ...overrides,
});

function recordingLogger() {
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => void warnings.push({ message, ...(fields ? { fields } : {}) }),
    error: () => undefined,
  };
  return { logger, warnings };
}

/** One container: its own sealer (data-key caches), over the shared table and KMS. */
function container(kms: MockKms, table: MemorySealedStore, time = { now: NOW }, deployment = 'Stack/Broker') {
  const { logger, warnings } = recordingLogger();
  const counts: string[] = [];
  const clock = () => time.now;
  const sealer = new TokenSealer({ keys: new KmsDataKeys(kms.client, CACHE_KEY_ARN, deployment), clock });
  const store = new SealingTokenStore({
    store: table,
    sealer,
    bindingOf: (key) => bindings.get(key),
    clock,
    logger,
    metrics: { count: (event) => void counts.push(event) },
  });
  return { store, sealer, warnings, counts, clock };
}

describe('sealed token items', () => {
  it('round-trips a token, and the table holds no byte of it', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const { store } = container(kms, table);
    const issued = token();
    await store.put(graphBinding.cacheKey, issued);

    expect(await store.get(graphBinding.cacheKey)).toStrictEqual(issued);
    const stored = Buffer.from(table.items.get(graphBinding.cacheKey)!.sealed);
    for (const encoding of ['utf8', 'base64', 'base64url', 'hex'] as const) {
      expect(stored.toString(encoding)).not.toContain(issued.accessToken.slice(20, 60));
    }
    expect(stored.toString('latin1')).not.toContain(issued.uti);
    expect(table.items.get(graphBinding.cacheKey)!.expiresOn).toBe(issued.expiresOn);
  });

  it('does not open for another cache key, app, tenant or scope (the wrong context)', async () => {
    const kms = mockKms();
    const { sealer } = container(kms, new MemorySealedStore());
    const sealed = await sealer.seal(token(), graphBinding);
    const others: SealBinding[] = [
      storageBinding,
      otherAppBinding,
      { ...graphBinding, tenantId: '44444444-4444-4444-4444-444444444444' },
      { ...graphBinding, authorityHost: 'https://login.microsoftonline.us' },
      { ...graphBinding, cacheKey: storageBinding.cacheKey },
    ];
    for (const binding of others) {
      await expect(sealer.open(sealed, binding)).rejects.toMatchObject({ code: 'sealed_item_rejected', reason: 'not-authentic' });
    }
    await expect(sealer.open(sealed, graphBinding)).resolves.toMatchObject({ scope: GRAPH });
  });

  it('does not open with any single byte flipped: header, wrapped data key, IV, ciphertext or tag', async () => {
    const kms = mockKms();
    const { sealer } = container(kms, new MemorySealedStore());
    const sealed = await sealer.seal(token({ accessToken: 'eyJ0eXAiOiJKV1QifQ.e30.c2ln' }), graphBinding);
    const reasons = new Set<string>();
    for (let at = 0; at < sealed.length; at++) {
      const flipped = new Uint8Array(sealed);
      flipped[at]! ^= 0x01;
      const error = await sealer.open(flipped, graphBinding).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `byte ${at} of ${sealed.length}`).toBeInstanceOf(SealedItemRejectedError);
      reasons.add((error as SealedItemRejectedError).reason);
    }
    // Version byte, length, KMS's own check of the wrapped key, and AES-GCM's tag over the rest.
    expect([...reasons].sort()).toEqual(['data-key-rejected', 'malformed', 'not-authentic', 'unsupported-version']);
    await expect(sealer.open(sealed.subarray(0, sealed.length - 1), graphBinding)).rejects.toBeInstanceOf(SealedItemRejectedError);
    await expect(sealer.open(new Uint8Array(), graphBinding)).rejects.toMatchObject({ reason: 'malformed' });
  });

  it("does not open an item whose data key was made for another deployment (KMS's encryption context)", async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    await container(kms, table, { now: NOW }, 'OtherStack/Broker').store.put(graphBinding.cacheKey, token());
    const { store, warnings, counts } = container(kms, table);
    expect(await store.get(graphBinding.cacheKey)).toBeUndefined();
    expect(counts).toEqual(['cacheItemsRejected']);
    expect(warnings[0]?.fields).toMatchObject({ reason: 'data-key-rejected' });
    expect(kms.decryptInputs().at(-1)).toMatchObject({
      KeyId: CACHE_KEY_ARN,
      EncryptionContext: { purpose: 'aws-azure-token-broker/token-cache', deployment: 'Stack/Broker' },
    });
  });

  it('reads items swapped between keys as misses, with a warning and a count, and serves neither', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const writer = container(kms, table);
    await writer.store.put(graphBinding.cacheKey, token({ accessToken: 'graph-token' }));
    await writer.store.put(storageBinding.cacheKey, token({ accessToken: 'storage-token', scope: STORAGE }));
    const graphItem = table.items.get(graphBinding.cacheKey)!;
    table.items.set(graphBinding.cacheKey, table.items.get(storageBinding.cacheKey)!);
    table.items.set(storageBinding.cacheKey, graphItem);

    const { store, warnings, counts } = container(kms, table);
    expect(await store.get(graphBinding.cacheKey)).toBeUndefined();
    expect(await store.get(storageBinding.cacheKey)).toBeUndefined();
    expect(counts).toEqual(['cacheItemsRejected', 'cacheItemsRejected']);
    expect(warnings.map((w) => w.fields?.reason)).toEqual(['not-authentic', 'not-authentic']);
    expect(warnings[0]?.message).toMatch(/treating it as a miss/);
    expect(JSON.stringify(warnings)).not.toMatch(/graph-token|storage-token/);
  });

  it('reads an expired item as a miss without a warning: TTL deletion is lazy, this is routine', async () => {
    const time = { now: NOW };
    const kms = mockKms();
    const { store, warnings, counts } = container(kms, new MemorySealedStore(), time);
    await store.put(graphBinding.cacheKey, token({ expiresOn: NOW_S + 60 }));
    time.now = NOW + 60_000;
    expect(await store.get(graphBinding.cacheKey)).toBeUndefined();
    expect({ warnings, counts }).toEqual({ warnings: [], counts: [] });
  });

  it('rejects an authentic item claiming more than 28 hours of life, and refuses to store one', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const { store, sealer, warnings, counts } = container(kms, table);
    const farFuture = token({ expiresOn: NOW_S + 28 * 3600 + 1 });
    // As a compromised writer with the key could have made it: authentic, bound to the right key.
    await table.put(graphBinding.cacheKey, await sealer.seal(farFuture, graphBinding), farFuture.expiresOn);
    expect(await store.get(graphBinding.cacheKey)).toBeUndefined();
    expect(counts).toEqual(['cacheItemsRejected']);
    expect(warnings[0]?.fields).toMatchObject({ reason: 'lifetime-beyond-entra-maximum' });

    table.items.clear();
    await store.put(graphBinding.cacheKey, farFuture);
    expect(table.items.size).toBe(0);
    const longest = token({ expiresOn: NOW_S + 28 * 3600 });
    await store.put(graphBinding.cacheKey, longest);
    expect(await store.get(graphBinding.cacheKey)).toStrictEqual(longest);
  });

  it('rejects an authentic item whose token is for another scope than its key', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const { store, sealer, warnings, counts } = container(kms, table);
    const wrongScope = token({ scope: STORAGE });
    await table.put(graphBinding.cacheKey, await sealer.seal(wrongScope, graphBinding), wrongScope.expiresOn);
    expect(await store.get(graphBinding.cacheKey)).toBeUndefined();
    expect(counts).toEqual(['cacheItemsRejected']);
    expect(warnings[0]?.fields).toMatchObject({ reason: 'other-scope' });
  });

  it('passes a KMS outage on (a store failure for the cache, not a rejection)', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    await container(kms, table).store.put(graphBinding.cacheKey, token());
    const { store, counts } = container(kms, table);
    kms.failNext('Decrypt', KMS_ERRORS.throttling());
    await expect(store.get(graphBinding.cacheKey)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(counts).toEqual([]);
    // The failure is not remembered: the next read asks KMS again and opens the item.
    await expect(store.get(graphBinding.cacheKey)).resolves.toMatchObject({ scope: GRAPH });
  });

  it('never reads or writes a key that is not one of the configured scopes', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const { store } = container(kms, table);
    await store.put('not-a-configured-key', token());
    expect(table.items.size).toBe(0);
    await table.put('not-a-configured-key', new Uint8Array([1, 2, 3]), NOW_S + 60);
    expect(await store.get('not-a-configured-key')).toBeUndefined();
  });
});

describe('data keys', () => {
  it('costs no KMS call on an L2 hit once the container has opened the data key, or sealed with it', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    const writer = container(kms, table);
    await writer.store.put(graphBinding.cacheKey, token());
    await writer.store.put(storageBinding.cacheKey, token({ scope: STORAGE }));
    expect(kms.generateDataKeyInputs()).toHaveLength(1); // one data key seals both
    await writer.store.get(graphBinding.cacheKey);
    expect(kms.decryptInputs()).toHaveLength(0); // its own data key: kept since sealing

    const reader = container(kms, table);
    await reader.store.get(graphBinding.cacheKey);
    await reader.store.get(storageBinding.cacheKey);
    await reader.store.get(graphBinding.cacheKey);
    expect(kms.decryptInputs()).toHaveLength(1); // one Decrypt per data key and container
  });

  it('seals with a new data key after 15 minutes or 1000 items', async () => {
    const time = { now: NOW };
    const kms = mockKms();
    const sealer = new TokenSealer({ keys: new KmsDataKeys(kms.client, CACHE_KEY_ARN, 'd'), clock: () => time.now });
    for (let i = 0; i < 1000; i++) await sealer.seal(token(), graphBinding);
    expect(kms.generateDataKeyInputs()).toHaveLength(1);
    await sealer.seal(token(), graphBinding);
    expect(kms.generateDataKeyInputs()).toHaveLength(2);
    time.now += 15 * 60_000 - 1;
    await sealer.seal(token(), graphBinding);
    expect(kms.generateDataKeyInputs()).toHaveLength(2);
    time.now += 1;
    await sealer.seal(token(), graphBinding);
    expect(kms.generateDataKeyInputs()).toHaveLength(3);
  });

  it('keeps at most 32 opened data keys, each for an hour', async () => {
    const time = { now: NOW };
    const kms = mockKms();
    const keys = new KmsDataKeys(kms.client, CACHE_KEY_ARN, 'd');
    const items: Uint8Array[] = [];
    for (let i = 0; i < 33; i++) {
      // A writer per item: 33 different data keys.
      items.push(await new TokenSealer({ keys, clock: () => time.now }).seal(token(), graphBinding));
    }
    const reader = new TokenSealer({ keys, clock: () => time.now });
    for (const item of items) await reader.open(item, graphBinding);
    expect(kms.decryptInputs()).toHaveLength(33);
    await reader.open(items[32]!, graphBinding);
    expect(kms.decryptInputs()).toHaveLength(33);
    await reader.open(items[0]!, graphBinding); // evicted as the least recently used
    expect(kms.decryptInputs()).toHaveLength(34);
    time.now += 60 * 60_000;
    await reader.open(items[32]!, graphBinding);
    expect(kms.decryptInputs()).toHaveLength(35);
  });
});

describe('the cache over sealed items', () => {
  it('exchanges once for a tampered item and serves the fresh token, never the tampered one', async () => {
    const kms = mockKms();
    const table = new MemorySealedStore();
    await container(kms, table).store.put(graphBinding.cacheKey, token({ accessToken: 'original' }));
    const item = table.items.get(graphBinding.cacheKey)!;
    item.sealed[item.sealed.length - 20]! ^= 0xff;

    const { store, counts } = container(kms, table);
    const cache = new TokenCache({
      store,
      clock: () => NOW,
      logger: recordingLogger().logger,
      metrics: { count: () => undefined },
      refreshMarginSeconds: 300,
    });
    let exchanges = 0;
    const fresh = async () => (exchanges++, token({ accessToken: 'fresh' }));
    const first = await cache.get(graphBinding.cacheKey, fresh);
    const second = await cache.get(graphBinding.cacheKey, fresh);

    expect({ exchanges, first: first.token.accessToken, second: second.token.accessToken }).toEqual({
      exchanges: 1,
      first: 'fresh',
      second: 'fresh',
    });
    expect(counts).toEqual(['cacheItemsRejected']);
    // The fresh token replaced the tampered item, sealed.
    expect(await container(kms, table).store.get(graphBinding.cacheKey)).toMatchObject({ accessToken: 'fresh' });
  });

  it('keeps leases working through the sealing store', async () => {
    const table = new MemorySealedStore(() => NOW);
    const { store } = container(mockKms(), table);
    expect(await store.tryAcquireLease(graphBinding.cacheKey, 'a', NOW + 10_000)).toBe(true);
    expect(await store.tryAcquireLease(graphBinding.cacheKey, 'b', NOW + 10_000)).toBe(false);
    await store.releaseLease(graphBinding.cacheKey, 'a');
    expect(await store.tryAcquireLease(graphBinding.cacheKey, 'b', NOW + 10_000)).toBe(true);
  });
});

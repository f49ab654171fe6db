import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyRotationSettings } from '../../../contract/broker-config';
import { activeKey, publishedKeys, type RotationKey, type RotationState } from '../../../contract/key-rotation-state';
import { adoptUnauthenticatedState, runKeyRotation, type KeyRotationDeps } from '../../../lambda/core/key-rotation';
import { nextRotationStep } from '../../../lambda/core/key-rotation-plan';
import type { KeyRotationStore, Logger } from '../../../lambda/core/ports';
import { FakeKeyService } from '../../support/fake-key-service';
import { rotationStoreWorld } from '../../support/rotation-store';

const DAY = 86_400;
const SETTINGS: KeyRotationSettings = { intervalSeconds: 90 * DAY, publishLeadSeconds: 2 * DAY, retireAfterSeconds: DAY };
const T0 = 1_800_000_000;
const silent: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A rotation world: a store, a key service and a settable clock (unix seconds). */
function world(settings = SETTINGS, store: KeyRotationStore = rotationStoreWorld().store) {
  const keys = new FakeKeyService();
  let now = T0;
  const deps = (): KeyRotationDeps => ({ keys, store, settings, clock: () => now * 1000, logger: silent });
  return {
    keys,
    store,
    setNow: (seconds: number) => {
      now = seconds;
    },
    run: (request?: Parameters<typeof runKeyRotation>[1]) => runKeyRotation(deps(), request),
    runWith: (extra: Partial<KeyRotationDeps>, request?: Parameters<typeof runKeyRotation>[1]) =>
      runKeyRotation({ ...deps(), ...extra }, request),
    state: async () => (await store.read()).state,
  };
}

const statuses = (state: RotationState) => Object.fromEntries(state.keys.map((key) => [key.keyId, key.status]));
const kids = (state: RotationState) => publishedKeys(state).map((key) => key.keyId);

describe('key rotation: transitions', () => {
  it('creates the first key active at once when there is none', async () => {
    const w = world();
    const run = await w.run();
    expect(run.steps).toEqual([{ kind: 'create', reason: 'initial', activatesAt: T0 }]);
    expect(activeKey(run.state)).toMatchObject({ keyId: 'key-0', status: 'active', activatedAt: T0, publishedAt: T0, reason: 'initial' });
    expect(run.state.keys[0]?.jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("adopts the deployment's existing key instead of creating one", async () => {
    const w = world();
    const run = await w.runWith({ adoptableKeyId: 'stack-key-1' });
    expect(w.keys.created).toEqual([]);
    expect(activeKey(run.state)).toMatchObject({ keyId: 'stack-key-1', reason: 'adopted', activatedAt: T0 });
  });

  it('retires the adopted stack key out of the JWKS but never schedules its deletion (the stack owns it)', async () => {
    const w = world();
    await w.runWith({ adoptableKeyId: 'stack-key-1' });
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds + SETTINGS.retireAfterSeconds);
    await w.run();
    w.setNow(T0 + 10 * SETTINGS.intervalSeconds);
    await w.run();
    const state = await w.state();
    expect(state.keys.find((key) => key.keyId === 'stack-key-1')?.status).toBe('unpublished');
    expect(w.keys.deleted.has('stack-key-1')).toBe(false);
    expect(kids(state)).not.toContain('stack-key-1');
  });

  it('publishes the next key publishLeadSeconds before the interval ends, not a second earlier', async () => {
    const w = world();
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds - 1);
    expect((await w.run()).steps).toEqual([]);
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    const run = await w.run();
    expect(run.steps).toEqual([{ kind: 'create', reason: 'schedule', activatesAt: T0 + SETTINGS.intervalSeconds }]);
    expect(statuses(run.state)).toEqual({ 'key-0': 'active', 'key-1': 'published' });
    expect(kids(run.state)).toEqual(['key-0', 'key-1']);
  });

  it('activates the next key only once it has been published for the whole lead, and retires the previous one', async () => {
    const w = world();
    await w.run();
    const publishAt = T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds;
    w.setNow(publishAt);
    await w.run();
    w.setNow(publishAt + SETTINGS.publishLeadSeconds - 1);
    expect((await w.run()).steps).toEqual([]);
    expect(activeKey(await w.state())?.keyId).toBe('key-0');
    w.setNow(publishAt + SETTINGS.publishLeadSeconds);
    const run = await w.run();
    expect(run.steps).toEqual([{ kind: 'activate', keyId: 'key-1' }]);
    expect(statuses(run.state)).toEqual({ 'key-0': 'retired', 'key-1': 'active' });
    expect(kids(run.state)).toEqual(['key-1', 'key-0']);
  });

  it('counts the lead from the write that publishes the key, not from when the run started creating it', async () => {
    const store = rotationStoreWorld().store;
    const keys = new FakeKeyService();
    let nowMs = T0 * 1000;
    // Creating a key takes 2.5 s (a slow KMS); the clock is at a fraction of a second.
    keys.beforeCall = (operation) => {
      if (operation === 'createKey') nowMs += 2_500;
    };
    const deps = { keys, store, settings: SETTINGS, clock: () => nowMs, logger: silent };
    await runKeyRotation(deps);
    nowMs = (T0 + 3 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds) * 1000 + 300; // the first key: written at T0 + 2.5 s, rounded up
    const run = await runKeyRotation(deps);
    const next = run.state.keys.find((key) => key.status === 'published') as RotationKey;
    const writtenAtMs = nowMs;
    expect(next.publishedAt * 1000).toBeGreaterThanOrEqual(writtenAtMs);
    expect(next.activatesAt).toBeGreaterThanOrEqual(next.publishedAt + SETTINGS.publishLeadSeconds);
  });

  it('a late rotator publishes late and still keeps the full lead', async () => {
    const w = world();
    await w.run();
    const late = T0 + SETTINGS.intervalSeconds + 3_600;
    w.setNow(late);
    const run = await w.run();
    expect(run.steps).toEqual([{ kind: 'create', reason: 'schedule', activatesAt: late + SETTINGS.publishLeadSeconds }]);
    expect(activeKey(run.state)?.keyId).toBe('key-0');
  });

  it('keeps the retired key published retireAfterSeconds, then unpublishes it and only then schedules its deletion', async () => {
    const w = world();
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    await w.run();
    const activatedAt = T0 + SETTINGS.intervalSeconds;
    w.setNow(activatedAt);
    await w.run();
    w.setNow(activatedAt + SETTINGS.retireAfterSeconds - 1);
    expect((await w.run()).steps).toEqual([]);
    expect(kids(await w.state())).toEqual(['key-1', 'key-0']);
    expect(w.keys.deleted.size).toBe(0);
    w.setNow(activatedAt + SETTINGS.retireAfterSeconds);
    const run = await w.run();
    expect(run.steps).toEqual([
      { kind: 'unpublish', keyId: 'key-0' },
      { kind: 'schedule-deletion', keyId: 'key-0' },
    ]);
    expect(kids(run.state)).toEqual(['key-1']);
    expect(run.state.keys.find((key) => key.keyId === 'key-0')).toMatchObject({
      status: 'deletion-scheduled',
      unpublishedAt: activatedAt + SETTINGS.retireAfterSeconds,
      deletionScheduledAt: activatedAt + SETTINGS.retireAfterSeconds,
    });
    expect([...w.keys.deleted]).toEqual(['key-0']);
  });

  it('a requested rotation publishes a key now and activates it after the lead, never sooner', async () => {
    const w = world();
    await w.run();
    w.setNow(T0 + 10);
    const run = await w.run({ request: { kind: 'rotate', requestedAt: T0 + 10 } });
    expect(run.steps).toEqual([{ kind: 'create', reason: 'requested', activatesAt: T0 + 10 + SETTINGS.publishLeadSeconds }]);
    // Running the same request again does nothing more.
    expect((await w.run({ request: { kind: 'rotate', requestedAt: T0 + 10 } })).steps).toEqual([]);
    w.setNow(T0 + 10 + SETTINGS.publishLeadSeconds);
    expect((await w.run()).steps).toEqual([{ kind: 'activate', keyId: 'key-1' }]);
  });

  it('a requested rotation while a next key waits brings its activation forward to the end of its lead', async () => {
    const w = world();
    await w.run();
    const publishAt = T0 + SETTINGS.intervalSeconds - 5 * DAY;
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    await w.run({ request: { kind: 'rotate', requestedAt: publishAt } });
    const state = await w.state();
    const next = state.keys.find((key) => key.status === 'published') as RotationKey;
    expect(next.activatesAt).toBe(next.publishedAt + SETTINGS.publishLeadSeconds);
  });

  it('an emergency activates a new key at once and takes every other key out of the JWKS', async () => {
    const w = world();
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    await w.run(); // key-1 published, waiting
    w.setNow(T0 + SETTINGS.intervalSeconds - DAY);
    const request = { kind: 'emergency', requestedAt: T0 + SETTINGS.intervalSeconds - DAY } as const;
    const run = await w.run({ request });
    expect(run.steps[0]).toEqual({ kind: 'create', reason: 'emergency', activatesAt: request.requestedAt });
    expect(kids(run.state)).toEqual(['key-2']);
    expect(activeKey(run.state)).toMatchObject({ keyId: 'key-2', reason: 'emergency', activatedAt: request.requestedAt });
    expect(statuses(run.state)).toEqual({ 'key-0': 'deletion-scheduled', 'key-1': 'deletion-scheduled', 'key-2': 'active' });
    expect(w.keys.deleted).toEqual(new Set(['key-0', 'key-1']));
    // The same request again (a retried CLI call) changes nothing.
    expect((await w.run({ request })).steps).toEqual([]);
  });

  it('keeps the record of at most five deleted keys', async () => {
    const settings = { intervalSeconds: 100, publishLeadSeconds: 20, retireAfterSeconds: 10 };
    const w = world(settings);
    for (let t = 0; t <= 1_000; t += 10) {
      w.setNow(T0 + t);
      await w.run();
    }
    const state = await w.state();
    expect(state.keys.filter((key) => key.status === 'deletion-scheduled')).toHaveLength(5);
    expect(publishedKeys(state).length).toBeLessThanOrEqual(2);
  });
});

describe('key rotation: concurrency and crashes', () => {
  it('two rotators at once: one key is published, the loser sees it and deletes the key it made in vain', async () => {
    const w = world();
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    const [a, b] = await Promise.all([w.run(), w.run()]);
    expect(a.state).toEqual(b.state);
    expect(a.version).toBe(b.version);
    expect([a.steps.length, b.steps.length].sort()).toEqual([0, 1]);
    const state = await w.state();
    expect(statuses(state)).toEqual({ 'key-0': 'active', [state.keys[1]?.keyId ?? '']: 'published' });
    const loser = w.keys.created.find((keyId) => !state.keys.some((key) => key.keyId === keyId));
    expect(loser).toBeDefined();
    expect([...w.keys.deleted]).toEqual([loser]);
  });

  it('two emergency rotations at once end with one new active key', async () => {
    const w = world();
    await w.run();
    const request = { kind: 'emergency', requestedAt: T0 + 5 } as const;
    w.setNow(T0 + 5);
    await Promise.all([w.run({ request }), w.run({ request })]);
    const state = await w.state();
    expect(publishedKeys(state)).toHaveLength(1);
    expect(activeKey(state)?.reason).toBe('emergency');
  });

  /** Crashes at the `at`-th call of the key service or the store (counting both), once. */
  function crashingWorld(at: number) {
    const store = rotationStoreWorld().store;
    let calls = 0;
    let crashed = false;
    const maybeCrash = (what: string) => {
      calls += 1;
      if (!crashed && calls === at) {
        crashed = true;
        throw new Error(`crash at ${what}`);
      }
    };
    const crashingStore: KeyRotationStore = {
      read: () => store.read(),
      replaceRefused: (state, refused) => store.replaceRefused(state, refused),
      adoptUnauthenticated: (check) => store.adoptUnauthenticated(check),
      write: async (state, version) => {
        const written = await store.write(state, version);
        maybeCrash('after write'); // the write landed, the process died before it knew
        return written;
      },
    };
    const w = world(SETTINGS, crashingStore);
    w.keys.beforeCall = (operation) => {
      maybeCrash(operation);
    };
    return { w, crashed: () => crashed };
  }

  // One schedule through every step: initial, publish, activate, unpublish, schedule deletion; plus an emergency.
  const SCHEDULE = [
    { at: T0 },
    { at: T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds },
    { at: T0 + SETTINGS.intervalSeconds },
    { at: T0 + SETTINGS.intervalSeconds + SETTINGS.retireAfterSeconds },
    { at: T0 + SETTINGS.intervalSeconds + SETTINGS.retireAfterSeconds + 1, emergency: true },
  ];

  async function play(w: ReturnType<typeof world>): Promise<RotationState> {
    for (const moment of SCHEDULE) {
      w.setNow(moment.at);
      const request = moment.emergency ? { request: { kind: 'emergency', requestedAt: moment.at } as const } : {};
      try {
        await w.run(request);
      } catch {
        await w.run(request); // the rerun after the crash
      }
    }
    return w.state();
  }

  // An uninterrupted play makes 15 calls (key service and store together): a crash at each of them.
  it.each(Array.from({ length: 15 }, (_, i) => i + 1))(
    'a crash at call %i, then a rerun, ends where an uninterrupted run ends',
    async (at) => {
      const reference = await play(world());
      const { w, crashed } = crashingWorld(at);
      const state = await play(w);
      expect(crashed()).toBe(true);
      // Same life for every key that was published; a key created just before a crash may be an extra, never published.
      const life = (s: RotationState) => s.keys.map((key) => [key.status, key.reason, key.publishedAt, key.activatedAt ?? null]);
      expect(life(state)).toEqual(life(reference));
      const orphans = w.keys.created.filter((keyId) => !state.keys.some((key) => key.keyId === keyId));
      expect(orphans.length).toBeLessThanOrEqual(1);
      // Every key whose deletion the state records was asked to be deleted (perhaps twice: idempotent).
      for (const key of state.keys.filter((k) => k.status === 'deletion-scheduled')) expect(w.keys.deleted.has(key.keyId)).toBe(true);
    },
  );
});

describe('key rotation: a state item the rotation did not write', () => {
  /** The rotator's world, and the item as an attacker with PutItem leaves it: their key appended, due now, version bumped. */
  async function forged(mac: 'keep' | 'none') {
    const stores = rotationStoreWorld({ clock: () => T0 * 1000 });
    const w = world(SETTINGS, stores.store);
    await w.run();
    const stored = stores.items.item!;
    const state = JSON.parse(stored.stateJson!) as RotationState;
    const attacker: RotationKey = {
      ...state.keys[0]!,
      keyId: 'attacker-key',
      status: 'published',
      reason: 'schedule',
      publishedAt: T0 - SETTINGS.publishLeadSeconds,
      activatesAt: T0,
    };
    stores.items.put({
      version: stored.version + 1,
      stateJson: JSON.stringify({ keys: [...state.keys, attacker] }),
      mac: mac === 'keep' ? stored.mac : undefined,
    });
    return { w, stores, forgedItem: stores.items.item };
  }

  it.each(['keep', 'none'] as const)(
    'plans nothing from it (MAC %s): the run fails, the item is left as it is, the attacker key is never activated',
    async (mac) => {
      const { w, stores, forgedItem } = await forged(mac);
      const callsBefore = w.keys.created.length + w.keys.deletionCalls.length;
      w.setNow(T0 + SETTINGS.intervalSeconds);
      for (const request of [undefined, { request: { kind: 'rotate' as const, requestedAt: T0 + SETTINGS.intervalSeconds } }]) {
        await expect(w.run(request?.request ? request : undefined)).rejects.toMatchObject({
          code: 'rotation_state_rejected',
          storedVersion: 2,
        });
      }
      expect(stores.items.item).toEqual(forgedItem);
      expect(w.keys.created.length + w.keys.deletionCalls.length).toBe(callsBefore);
      expect(stores.rejectedCount()).toBe(2);
    },
  );

  it('an emergency starts a new verified state from a new key, trusting (and deleting) nothing the refused item names', async () => {
    const { w, stores } = await forged('keep');
    const reader = stores.another();
    w.setNow(T0 + 60);
    const run = await w.run({ request: { kind: 'emergency', requestedAt: T0 + 60 } });

    expect(run.steps).toEqual([{ kind: 'create', reason: 'emergency', activatesAt: T0 + 60 }]);
    expect(run.state.keys).toHaveLength(1);
    expect(run.state.keys[0]).toMatchObject({ keyId: 'key-1', status: 'active', reason: 'emergency', activatedAt: T0 + 60 });
    // Neither the attacker's key nor the keys the refused item listed are deleted: the rotator acts on verified states only.
    expect(w.keys.deletionCalls).toEqual([]);
    // Every reader takes the new state: its version is above the refused one's and above the time.
    expect(run.version).toBe(T0 + 1); // the store's clock reads T0
    expect(await reader.read()).toEqual({ state: run.state, version: run.version });
    // And the rotation carries on from it.
    w.setNow(T0 + 60 + SETTINGS.intervalSeconds);
    expect((await w.run()).state.keys.map((key) => key.status)).toEqual(['active', 'published']);
  });

  it("after a replay, a reader that had verified a newer version takes the emergency's state too", async () => {
    const stores = rotationStoreWorld({ clock: () => T0 * 1000 });
    const w = world(SETTINGS, stores.store);
    await w.run();
    const version1 = stores.items.item;
    w.setNow(T0 + SETTINGS.intervalSeconds);
    await w.run();
    const reader = stores.another();
    expect((await reader.read()).version).toBeGreaterThan(1);
    stores.items.put(version1);
    await expect(reader.read()).rejects.toMatchObject({ reason: 'replayed' });

    // A new rotator container never saw the newer version: to it the replayed item verifies; an emergency still works.
    const rotator = world(SETTINGS, stores.another());
    rotator.setNow(T0 + SETTINGS.intervalSeconds + 10);
    const run = await rotator.run({ request: { kind: 'emergency', requestedAt: T0 + SETTINGS.intervalSeconds + 10 } });
    expect(await reader.read()).toEqual({ state: run.state, version: run.version });
  });
});

describe('key rotation: upgrading a state item written before the MAC', () => {
  /** The item as the previous version's rotator left it: the same state, no MAC. */
  async function legacy() {
    const stores = rotationStoreWorld({ clock: () => T0 * 1000 });
    const w = world(SETTINGS, stores.store);
    await w.run();
    w.setNow(T0 + SETTINGS.intervalSeconds - SETTINGS.publishLeadSeconds);
    await w.run(); // a next key published
    stores.items.put({ ...stores.items.item!, mac: undefined });
    return { w, stores };
  }

  it("adopts it when every key it names is the key service's key of that id, then rotates on", async () => {
    const { w, stores } = await legacy();
    const before = JSON.parse(stores.items.item!.stateJson!) as RotationState;
    await expect(stores.another().read()).rejects.toMatchObject({ reason: 'no-mac' });
    const adopted = await adoptUnauthenticatedState({
      keys: w.keys,
      store: stores.store,
      settings: SETTINGS,
      clock: () => T0 * 1000,
      logger: silent,
    });
    expect(adopted?.state).toEqual(before);
    expect(await stores.another().read()).toEqual({ state: before, version: adopted?.version });
    // Nothing left to adopt: the item has its MAC.
    expect(
      await adoptUnauthenticatedState({ keys: w.keys, store: stores.store, settings: SETTINGS, clock: () => T0 * 1000, logger: silent }),
    ).toBeUndefined();
  });

  it("does not adopt it when a key it names is not the key service's (a public key written into the item), and writes nothing", async () => {
    const { w, stores } = await legacy();
    const state = JSON.parse(stores.items.item!.stateJson!) as RotationState;
    const attacker = { ...state.keys[1]!, jwk: await w.keys.publicKey('key-5') };
    const forgedJson = JSON.stringify({ keys: [state.keys[0], attacker] });
    stores.items.put({ ...stores.items.item!, stateJson: forgedJson });
    await expect(
      adoptUnauthenticatedState({ keys: w.keys, store: stores.store, settings: SETTINGS, clock: () => T0 * 1000, logger: silent }),
    ).rejects.toMatchObject({ code: 'unauthenticated_state_key', message: expect.stringContaining(attacker.keyId) as string });
    w.keys.beforeCall = (operation, keyId) => {
      if (operation === 'publicKey' && keyId === state.keys[0]!.keyId)
        throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    };
    await expect(
      adoptUnauthenticatedState({ keys: w.keys, store: stores.store, settings: SETTINGS, clock: () => T0 * 1000, logger: silent }),
    ).rejects.toMatchObject({ message: expect.stringMatching(/cannot read \(AccessDeniedException\)/) as string });
    expect(stores.items.item?.stateJson).toBe(forgedJson);
    expect(stores.items.item?.mac).toBeUndefined();
  });
});

describe('key rotation: properties over random schedules', () => {
  it('whatever the run times: one active key, published for the lead before signing, unpublished only after retireAfter, never deleted while published', async () => {
    const settings = { intervalSeconds: 1_000, publishLeadSeconds: 200, retireAfterSeconds: 100 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.integer({ min: 1, max: 700 }), emergency: fc.boolean(), rotate: fc.boolean() }), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.integer({ min: 1, max: 3 }),
        async (moments, rotators) => {
          const w = world(settings);
          let now = T0;
          let maxGap = 0;
          for (const moment of moments) {
            now += moment.gap;
            maxGap = Math.max(maxGap, moment.gap);
            w.setNow(now);
            const request =
              moment.emergency && moment.gap > 600
                ? { request: { kind: 'emergency', requestedAt: now } as const }
                : moment.rotate
                  ? { request: { kind: 'rotate', requestedAt: now } as const }
                  : {};
            await Promise.all(Array.from({ length: rotators }, () => w.run(request)));
            const state = await w.state();
            expect(state.keys.filter((key) => key.status === 'active')).toHaveLength(1);
            for (const key of state.keys) {
              if (key.activatedAt !== undefined && !['initial', 'emergency', 'adopted'].includes(key.reason)) {
                expect(key.activatedAt - key.publishedAt).toBeGreaterThanOrEqual(settings.publishLeadSeconds);
              }
              if (
                key.unpublishedAt !== undefined &&
                key.reason !== 'emergency' &&
                key.retiredAt !== undefined &&
                key.retiredAt !== key.unpublishedAt
              ) {
                expect(key.unpublishedAt - key.retiredAt).toBeGreaterThanOrEqual(settings.retireAfterSeconds);
              }
              if (w.keys.deleted.has(key.keyId)) expect(['unpublished', 'deletion-scheduled']).toContain(key.status);
            }
            // The JWKS stays small: active, next, and the retired ones of the last retireAfter.
            expect(publishedKeys(state).length).toBeLessThanOrEqual(3);
            const active = activeKey(state) as RotationKey;
            expect(now - (active.activatedAt ?? 0)).toBeLessThanOrEqual(settings.intervalSeconds + settings.publishLeadSeconds + maxGap);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('plans to adopt the given key when the state is empty', () => {
    expect(nextRotationStep({ keys: [] }, T0, SETTINGS, { adoptableKeyId: 'k' })).toEqual({ kind: 'adopt', keyId: 'k' });
  });
});

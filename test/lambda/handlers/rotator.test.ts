import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { KeyRotationStore } from '../../../lambda/core/ports';
import { createRotatorHandler, EMERGENCY_NOTE } from '../../../lambda/handlers/rotator';
import { FakeKeyService } from '../../support/fake-key-service';
import { rotationStoreWorld } from '../../support/rotation-store';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const settings = { intervalSeconds: 1_000, publishLeadSeconds: 200, retireAfterSeconds: 100 };
const T0 = 1_800_000_000;
const context = {} as Context;

function rotator(store: KeyRotationStore = rotationStoreWorld().store) {
  let now = T0;
  const recorded = { failures: 0, ages: [] as number[], flushes: 0, counts: [] as string[] };
  const handler = createRotatorHandler({
    rotation: { keys: new FakeKeyService(), store, settings, clock: () => now * 1000, logger: silent, adoptableKeyId: 'key-99' },
    metrics: {
      count: (event) => {
        recorded.counts.push(event);
        if (event === 'keyRotationFailures') recorded.failures += 1;
      },
      activeKeyAge: (seconds) => void recorded.ages.push(seconds),
      flush: () => void (recorded.flushes += 1),
    },
    logger: silent,
  });
  return { handler, recorded, setNow: (t: number) => void (now = t) };
}

describe('rotator handler', () => {
  it('a scheduled event adopts the stack key first, then follows the schedule, reporting the active key age', async () => {
    const r = rotator();
    const first = await r.handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context);
    expect(first).toMatchObject({ version: 1, steps: ['adopt'], keys: [{ keyId: 'key-99', status: 'active' }] });
    expect(first.keys[0]).not.toHaveProperty('jwk');
    r.setNow(T0 + 900);
    expect((await r.handler({}, context)).steps).toEqual(['create']);
    expect(r.recorded.ages).toEqual([0, 900]);
    expect(r.recorded.flushes).toBe(2);
  });

  it('an emergency request says what it costs', async () => {
    const r = rotator();
    await r.handler({}, context);
    r.setNow(T0 + 10);
    const result = await r.handler({ action: 'emergency', requestedAt: T0 + 10 }, context);
    expect(result.note).toBe(EMERGENCY_NOTE);
    expect(result.note).toContain('AADSTS7000272');
    expect(result.keys.filter((key) => ['active', 'published', 'retired'].includes(key.status))).toHaveLength(1);
  });

  it('refuses an unknown action or a stale request, changing nothing, and counts the failure', async () => {
    const { store } = rotationStoreWorld();
    const r = rotator(store);
    await expect(r.handler({ action: 'delete-everything' }, context)).rejects.toMatchObject({
      code: 'invalid_rotator_event',
      message: expect.stringContaining('"delete-everything"') as string,
    });
    await expect(r.handler({ action: 'emergency', requestedAt: T0 - 7_200 }, context)).rejects.toThrow(/requestedAt/);
    expect((await store.read()).version).toBe(0);
    expect(r.recorded.failures).toBe(2);
  });
});

describe('rotator handler: a refused rotation state', () => {
  it('fails a scheduled run (counted as a failure and a refusal) and recovers on an emergency request', async () => {
    const stores = rotationStoreWorld();
    const r = rotator(stores.store);
    await r.handler({}, context);
    const stored = stores.items.item!;
    stores.items.put({ ...stored, version: stored.version + 1 }); // the old MAC under a bumped version
    await expect(r.handler({}, context)).rejects.toMatchObject({ code: 'rotation_state_rejected' });
    expect(r.recorded.failures).toBe(1);
    expect(stores.rejectedCount()).toBe(1);

    r.setNow(T0 + 5);
    const recovered = await r.handler({ action: 'emergency', requestedAt: T0 + 5 }, context);
    expect(recovered).toMatchObject({ steps: ['create'], keys: [{ status: 'active', reason: 'emergency' }], note: EMERGENCY_NOTE });
    expect((await stores.another().read()).state.keys).toHaveLength(1);
  });
});

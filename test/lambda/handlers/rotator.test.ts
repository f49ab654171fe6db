import { describe, expect, it } from 'vitest';
import { createObservability } from '../../../lambda/adapters/observability';
import { AuthenticatedRotationStore } from '../../../lambda/core/authenticated-rotation-store';
import { createRotatorHandler, EMERGENCY_NOTE } from '../../../lambda/handlers/rotator';
import { FakeKeyService } from '../../support/fake-key-service';
import { lambdaContext } from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';
import { rotationStoreWorld } from '../../support/rotation-store';

const settings = { intervalSeconds: 1_000, publishLeadSeconds: 200, retireAfterSeconds: 100 };
const T0 = 1_800_000_000;
const context = lambdaContext();

/**
 * The rotator as the Lambda entry builds it (Powertools middlewares, metrics with the Deployment dimension), on
 * `store` (a world's store: the world then counts the refusals its store sees), with what it publishes.
 */
function rotator(world = rotationStoreWorld()) {
  let now = T0;
  const logs = captureLogs();
  const { logger, metrics, middlewares } = createObservability({ route: 'rotator', deployment: 'TestStack/Broker' });
  const store = new AuthenticatedRotationStore({
    items: world.items,
    authenticator: world.authenticator,
    logger,
    metrics,
    clock: () => now * 1000,
  });
  const handler = createRotatorHandler({
    rotation: { keys: new FakeKeyService(), store, settings, clock: () => now * 1000, logger, adoptableKeyId: 'key-99' },
    metrics,
    logger,
  }).use([...middlewares]);
  const published = (name: string) => logs.metricEntries().flatMap((entry) => (name in entry ? [entry[name]] : []));
  const recorded = {
    get ages() {
      return published('ActiveSigningKeyAge');
    },
    get failures() {
      return published('KeyRotationFailures').length;
    },
    get refusals() {
      return published('RotationStateRejected').length;
    },
  };
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
    const world = rotationStoreWorld();
    const r = rotator(world);
    await expect(r.handler({ action: 'delete-everything' }, context)).rejects.toMatchObject({
      code: 'invalid_rotator_event',
      message: expect.stringContaining('"delete-everything"') as string,
    });
    await expect(r.handler({ action: 'emergency', requestedAt: T0 - 7_200 }, context)).rejects.toThrow(/requestedAt/);
    expect((await world.store.read()).version).toBe(0);
    expect(r.recorded.failures).toBe(2);
  });
});

describe('rotator handler: a refused rotation state', () => {
  it('fails a scheduled run (counted as a failure and a refusal) and recovers on an emergency request', async () => {
    const stores = rotationStoreWorld();
    const r = rotator(stores);
    await r.handler({}, context);
    const stored = stores.items.item!;
    stores.items.put({ ...stored, version: stored.version + 1 }); // the old MAC under a bumped version
    await expect(r.handler({}, context)).rejects.toMatchObject({ code: 'rotation_state_rejected' });
    expect(r.recorded.failures).toBe(1);
    expect(r.recorded.refusals).toBe(1);

    r.setNow(T0 + 5);
    const recovered = await r.handler({ action: 'emergency', requestedAt: T0 + 5 }, context);
    expect(recovered).toMatchObject({ steps: ['create'], keys: [{ status: 'active', reason: 'emergency' }], note: EMERGENCY_NOTE });
    expect((await stores.another().read()).state.keys).toHaveLength(1);
  });
});

describe('rotator handler: migrate', () => {
  it('adopts a state item written before the MAC (after a scheduled run refused it), then runs as scheduled', async () => {
    const stores = rotationStoreWorld();
    const r = rotator(stores);
    await r.handler({}, context);
    stores.items.put({ ...stores.items.item!, mac: undefined }); // as the previous version left it
    await expect(r.handler({}, context)).rejects.toMatchObject({ code: 'rotation_state_rejected', reason: 'no-mac' });
    const migrated = await r.handler({ action: 'migrate', requestedAt: T0 }, context);
    expect(migrated).toMatchObject({ steps: [], keys: [{ keyId: 'key-99', status: 'active' }] });
    expect((await stores.another().read()).state.keys).toHaveLength(1);
  });
});

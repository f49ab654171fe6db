import { randomBytes } from 'node:crypto';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KEY_ROTATION_ITEM } from '../../../contract/aws-names';
import { activeKey, publishedKeys, rotationStateMacMessage } from '../../../contract/key-rotation-state';
import { DynamoDbRotationStore } from '../../../lambda/adapters/dynamodb-rotation-store';
import { LocalStateAuthenticator } from '../../../lambda/adapters/local-state-authenticator';
import { AuthenticatedRotationStore } from '../../../lambda/core/authenticated-rotation-store';
import { runKeyRotation } from '../../../lambda/core/key-rotation';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { FakeKeyService } from '../../support/fake-key-service';

const client = localDynamoDbClient(inject('dynamodbEndpoint'));
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const settings = { intervalSeconds: 1_000, publishLeadSeconds: 200, retireAfterSeconds: 100 };
const authenticator = new LocalStateAuthenticator(randomBytes(32));

afterAll(() => client.destroy());

/** The store as the functions build it, on `tableName`. */
const authenticated = (tableName: string) =>
  new AuthenticatedRotationStore({
    items: new DynamoDbRotationStore(client, tableName),
    authenticator,
    logger: silent,
    metrics: { count: () => undefined },
    clock: Date.now,
  });

async function rawItem(tableName: string) {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: KEY_ROTATION_ITEM.partitionKey } }, ConsistentRead: true }),
  );
  return Item;
}

describe('DynamoDbRotationStore', () => {
  it('reads version 0 and no keys from a table without the item, then writes versions in order, each with its MAC', async () => {
    const tableName = uniqueTableName('rotation-store');
    await ensureTokenTable(client, tableName);
    const store = authenticated(tableName);
    expect(await store.read()).toEqual({ state: { keys: [] }, version: 0 });
    const run = await runKeyRotation({ keys: new FakeKeyService(), store, settings, clock: () => 1_800_000_000_000, logger: silent });
    expect(run.version).toBe(1);
    expect((await authenticated(tableName).read()).state).toEqual(run.state);
    // The item as stored: the MAC is over the version and the JSON exactly as stored.
    const item = await rawItem(tableName);
    const json = item?.[KEY_ROTATION_ITEM.stateAttribute]?.S ?? '';
    expect(item?.[KEY_ROTATION_ITEM.versionAttribute]?.N).toBe('1');
    expect(
      await authenticator.verify(rotationStateMacMessage(1, json), item?.[KEY_ROTATION_ITEM.macAttribute]?.B ?? new Uint8Array()),
    ).toBe(true);
    // A stale version is refused, the item unchanged.
    expect(await store.write({ keys: [] }, 0)).toBe(false);
    expect(await store.write({ keys: [] }, 5)).toBe(false);
    expect((await store.read()).version).toBe(1);
  });

  it('four rotators at once on one table: one key published per step, the others see it', async () => {
    const tableName = uniqueTableName('rotation-race');
    await ensureTokenTable(client, tableName);
    const keys = new FakeKeyService();
    let now = 1_800_000_000;
    const rotate = () => runKeyRotation({ keys, store: authenticated(tableName), settings, clock: () => now * 1000, logger: silent });
    await Promise.all([rotate(), rotate(), rotate(), rotate()]);
    now += settings.intervalSeconds - settings.publishLeadSeconds;
    const runs = await Promise.all([rotate(), rotate(), rotate(), rotate()]);
    const state = (await authenticated(tableName).read()).state;
    for (const run of runs) expect(run.state).toEqual(state);
    expect(state.keys.map((key) => key.status)).toEqual(['active', 'published']);
    // Every key created in vain was never in the state, and is on its way out.
    const inVain = keys.created.filter((keyId) => !state.keys.some((key) => key.keyId === keyId));
    expect(inVain.length).toBeGreaterThan(0);
    expect([...keys.deleted].sort()).toEqual(inVain.sort());
    expect(activeKey(state)?.keyId).toBe(publishedKeys(state)[0]?.keyId);
  });

  it('refuses an item put by hand without a MAC, and names the field of a verified item this version cannot parse', async () => {
    const tableName = uniqueTableName('rotation-bad');
    await ensureTokenTable(client, tableName);
    const json = JSON.stringify({ keys: [{ keyId: 'k', status: 'active' }] });
    const put = (mac?: Uint8Array) =>
      client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            pk: { S: KEY_ROTATION_ITEM.partitionKey },
            [KEY_ROTATION_ITEM.versionAttribute]: { N: '3' },
            [KEY_ROTATION_ITEM.stateAttribute]: { S: json },
            ...(mac ? { [KEY_ROTATION_ITEM.macAttribute]: { B: mac } } : {}),
          },
        }),
      );
    await put();
    await expect(authenticated(tableName).read()).rejects.toMatchObject({
      code: 'rotation_state_rejected',
      reason: 'no-mac',
      storedVersion: 3,
    });
    // With the key (as a newer broker's rotator would write it): verified, then refused as unreadable.
    await put(await authenticator.mac(rotationStateMacMessage(3, json)));
    await expect(authenticated(tableName).read()).rejects.toMatchObject({
      code: 'invalid_rotation_state',
      message: expect.stringContaining('keys[0].jwk') as string,
    });
  });
});

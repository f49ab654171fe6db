import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import { KmsDataKeys } from '../../../lambda/adapters/kms-data-keys';
import { InternalError, UpstreamUnavailableError } from '../../../lambda/core/errors';
import { SealingTokenStore } from '../../../lambda/core/sealing-token-store';
import { TokenSealer } from '../../../lambda/core/token-sealing';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { CACHE_KEY_ARN, mockKms } from '../../support/kms-mock';
import { describeTokenStoreContract } from '../../support/token-store-contract';

const endpoint = inject('dynamodbEndpoint');
const client = localDynamoDbClient(endpoint);
const tableName = uniqueTableName('token-store-test');

beforeAll(() => ensureTokenTable(client, tableName));
afterAll(() => client.destroy());

// What the token function uses: the sealing store over the table, data keys from (a mock of) KMS.
describeTokenStoreContract('SealingTokenStore over DynamoDbTokenStore', {
  expired: 'miss',
  makeStore: (clock) =>
    new SealingTokenStore({
      store: new DynamoDbTokenStore(client, tableName, { clock }),
      sealer: new TokenSealer({ keys: new KmsDataKeys(mockKms().client, CACHE_KEY_ARN, 'Stack/Broker'), clock }),
      bindingOf: (key) => ({
        cacheKey: key,
        authorityHost: 'https://login.microsoftonline.com',
        tenantId: '11111111-1111-1111-1111-111111111111',
        clientId: '22222222-2222-2222-2222-222222222222',
        scope: 'https://graph.microsoft.com/.default',
      }),
      clock,
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: { count: () => undefined },
    }),
});

const rawItem = async (pk: string) =>
  (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;

describe('DynamoDbTokenStore items', () => {
  const store = new DynamoDbTokenStore(client, tableName);

  it('writes the token item as the sealed bytes and ttl = expiresOn, nothing else', async () => {
    const sealed = new Uint8Array([1, 0, 3, 9, 8, 7]);
    await store.put('graph', sealed, 1_900_000_123);
    expect(await rawItem('token#graph')).toEqual({ pk: { S: 'token#graph' }, sealed: { B: sealed }, ttl: { N: '1900000123' } });
    expect(await store.get('graph')).toEqual(sealed);
  });

  it('reads an item without `sealed` (a token in the clear, not written by this broker) as empty bytes, which the sealing store rejects', async () => {
    const Item = {
      pk: { S: 'token#old' },
      accessToken: { S: 'at-3' },
      expiresOn: { N: '1900000123' },
      scope: { S: 's' },
      ttl: { N: '1900000123' },
    };
    await client.send(new PutItemCommand({ TableName: tableName, Item }));
    expect(await store.get('old')).toEqual(new Uint8Array());
  });

  const notBinary: Array<[string, AttributeValue]> = [
    ['a string', { S: 'AQID' }],
    ['a number', { N: '42' }],
    ['a list', { L: [{ B: new Uint8Array([1]) }] }],
  ];
  it.each(notBinary)('reads `sealed` stored as %s as empty bytes, which the sealing store rejects', async (_, sealed) => {
    const key = `corrupt-${Math.random().toString(36).slice(2)}`;
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: `token#${key}` }, sealed } }));
    expect(await store.get(key)).toEqual(new Uint8Array());
  });

  it('writes the lease item with its expiry in ms and a ttl (s) a little after it', async () => {
    const expiresAtMs = Date.now() + 10_000;
    expect(await store.tryAcquireLease('graph', 'holder-1', expiresAtMs)).toBe(true);
    const item = await rawItem('lease#graph');
    expect(item?.holder).toEqual({ S: 'holder-1' });
    expect(item?.leaseExpiresAt).toEqual({ N: String(expiresAtMs) });
    const ttl = Number(item?.ttl?.N);
    expect(ttl).toBeGreaterThan(expiresAtMs / 1000);
    expect(ttl).toBeLessThanOrEqual(expiresAtMs / 1000 + 300);
  });

  it('refuses an item whose expiry is not a number (a caller bug, not an outage)', async () => {
    await expect(store.put('k', new Uint8Array([1]), Number.NaN)).rejects.toBeInstanceOf(InternalError);
  });
});

describe('DynamoDbTokenStore failures', () => {
  const operations = {
    get: (s: DynamoDbTokenStore) => s.get('k'),
    put: (s: DynamoDbTokenStore) => s.put('k', new TextEncoder().encode('secret-token-value'), 1_900_000_000),
    tryAcquireLease: (s: DynamoDbTokenStore) => s.tryAcquireLease('k', 'h', Date.now() + 1000),
    releaseLease: (s: DynamoDbTokenStore) => s.releaseLease('k', 'h'),
  };

  it.each(Object.keys(operations) as Array<keyof typeof operations>)(
    '%s on a missing table: upstream_unavailable naming the AWS error, never its message',
    async (operation) => {
      const store = new DynamoDbTokenStore(client, uniqueTableName('no-such-table'));
      const error = await operations[operation](store).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      const upstream = error as UpstreamUnavailableError;
      expect(upstream.code).toBe('upstream_unavailable');
      expect(upstream.statusCode).toBe(503);
      expect(upstream.upstream).toBe('dynamodb');
      expect(upstream.message).toBe('The token cache table is unavailable: ResourceNotFoundException.');
      const cause = upstream.cause as Error;
      expect(cause.name).toBe('ResourceNotFoundException');
      expect(cause.message.length).toBeGreaterThan(0);
      expect(JSON.stringify(upstream.toJSON())).not.toContain(cause.message);
      expect(JSON.stringify(upstream.toJSON())).not.toContain('secret-token-value');
    },
  );

  it('fails fast with upstream_unavailable when nothing listens at the endpoint', async () => {
    const port = await freePort(); // bound and released: nothing listens there now
    const dead = localDynamoDbClient(`http://127.0.0.1:${port}`, {
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true }),
    });
    const store = new DynamoDbTokenStore(dead, tableName);
    const started = Date.now();
    for (const operation of Object.values(operations)) {
      const error = await operation(store).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toBe('The token cache table is unavailable: connection refused.');
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    dead.destroy();
  });
});

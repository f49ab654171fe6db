import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import { InternalError, UpstreamUnavailableError } from '../../../lambda/core/errors';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { describeTokenStoreContract } from '../../support/token-store-contract';

const endpoint = inject('dynamodbEndpoint');
const client = localDynamoDbClient(endpoint);
const tableName = uniqueTableName('token-store-test');

beforeAll(() => ensureTokenTable(client, tableName));
afterAll(() => client.destroy());

describeTokenStoreContract('DynamoDbTokenStore', { makeStore: (clock) => new DynamoDbTokenStore(client, tableName, { clock }) });

const rawItem = async (pk: string) =>
  (await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;

describe('DynamoDbTokenStore items', () => {
  const store = new DynamoDbTokenStore(client, tableName);

  it('writes the token item with ttl = expiresOn, so DynamoDB TTL removes it with the token', async () => {
    await store.put('graph', { accessToken: 'at-1', expiresOn: 1_900_000_123, scope: 'https://graph.microsoft.com/.default' });
    expect(await rawItem('token#graph')).toEqual({
      pk: { S: 'token#graph' },
      accessToken: { S: 'at-1' },
      expiresOn: { N: '1900000123' },
      scope: { S: 'https://graph.microsoft.com/.default' },
      ttl: { N: '1900000123' },
    });
  });

  it("writes the token's audit identifiers as uti and correlationId, and reads an item written without them", async () => {
    const correlationId = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
    await store.put('audited', { accessToken: 'at-2', expiresOn: 1_900_000_123, scope: 's', uti: 'm4xTQZ2KvUuhC3hMnQ0AAA', correlationId });
    expect(await rawItem('token#audited')).toMatchObject({ uti: { S: 'm4xTQZ2KvUuhC3hMnQ0AAA' }, correlationId: { S: correlationId } });

    // An item as the broker wrote it before it recorded these identifiers.
    const Item = {
      pk: { S: 'token#old' },
      accessToken: { S: 'at-3' },
      expiresOn: { N: '1900000123' },
      scope: { S: 's' },
      ttl: { N: '1900000123' },
    };
    await client.send(new PutItemCommand({ TableName: tableName, Item }));
    expect(await store.get('old')).toStrictEqual({ accessToken: 'at-3', expiresOn: 1_900_000_123, scope: 's' });
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

  const corrupt: Array<[string, Record<string, AttributeValue>]> = [
    ['expiresOn stored as a string', { accessToken: { S: 'at' }, expiresOn: { S: '1900000000' }, scope: { S: 's' } }],
    ['accessToken missing', { expiresOn: { N: '1900000000' }, scope: { S: 's' } }],
    ['accessToken empty', { accessToken: { S: '' }, expiresOn: { N: '1900000000' }, scope: { S: 's' } }],
    ['accessToken stored as a number', { accessToken: { N: '1' }, expiresOn: { N: '1900000000' }, scope: { S: 's' } }],
    ['scope missing', { accessToken: { S: 'at' }, expiresOn: { N: '1900000000' } }],
    ['expiresOn missing', { accessToken: { S: 'at' }, scope: { S: 's' } }],
  ];
  it.each(corrupt)('reads an unparseable item (%s) as undefined', async (_, attributes) => {
    const key = `corrupt-${Math.random().toString(36).slice(2)}`;
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: `token#${key}` }, ...attributes } }));
    expect(await store.get(key)).toBeUndefined();
  });

  it('refuses a token whose expiry is not a number (a caller bug, not an outage)', async () => {
    await expect(store.put('k', { accessToken: 'at', expiresOn: Number.NaN, scope: 's' })).rejects.toBeInstanceOf(InternalError);
  });
});

describe('DynamoDbTokenStore failures', () => {
  const operations = {
    get: (s: DynamoDbTokenStore) => s.get('k'),
    put: (s: DynamoDbTokenStore) => s.put('k', { accessToken: 'secret-token-value', expiresOn: 1_900_000_000, scope: 's' }),
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

/** The token cache on a real table (DynamoDB Local), sealed as in the token function: conditional-write leases, unreadable items, short-lived tokens. */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogsForFile } from '../../support/log-capture';
import { createLogging } from '../../../lambda/adapters/observability';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import { KmsDataKeys } from '../../../lambda/adapters/kms-data-keys';
import type { CachedToken } from '../../../lambda/core/ports';
import { SealingTokenStore } from '../../../lambda/core/sealing-token-store';
import { TokenCache } from '../../../lambda/core/token-cache';
import { TokenSealer } from '../../../lambda/core/token-sealing';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { CACHE_KEY_ARN, mockKms } from '../../support/kms-mock';

const client = localDynamoDbClient(inject('dynamodbEndpoint'));
const tableName = uniqueTableName('token-cache');
captureLogsForFile(); // the lines, kept out of the test output
const { logger } = createLogging({ route: 'token' });

beforeAll(() => ensureTokenTable(client, tableName));
afterAll(() => client.destroy());

const kms = mockKms();
/** The table as the token function reads and writes it: sealed items, checked when opened. */
const sealedStore = (clock: () => number = Date.now) =>
  new SealingTokenStore({
    store: new DynamoDbTokenStore(client, tableName, { clock }),
    sealer: new TokenSealer({ keys: new KmsDataKeys(kms.client, CACHE_KEY_ARN, 'Stack/Broker'), clock }),
    bindingOf: (key) => ({
      cacheKey: key,
      authorityHost: 'https://login.example',
      tenantId: 't',
      clientId: 'c',
      scope: 'api://x/.default',
    }),
    clock,
    logger,
    metrics: { count: () => undefined },
  });
const container = () =>
  new TokenCache({
    store: sealedStore(),
    clock: Date.now,
    logger,
    metrics: { count: () => undefined },
    refreshMarginSeconds: 300,
  });
const freshToken = (name: string): CachedToken => ({
  accessToken: name,
  expiresOn: Math.floor(Date.now() / 1000) + 3600,
  issuedOn: Math.floor(Date.now() / 1000),
  scope: 'api://x/.default',
});

describe('TokenCache on DynamoDB Local', () => {
  it('ignores an item it cannot read and replaces it with a fresh token', async () => {
    await client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: 'token#corrupt' }, sealed: { S: 'not the bytes of a sealed item' }, ttl: { S: 'soon' } },
      }),
    );
    let exchanges = 0;
    const result = await container().get('corrupt', async () => (exchanges++, freshToken('replacement')));

    expect(exchanges).toBe(1);
    expect(result.token.accessToken).toBe('replacement');
    const item = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'token#corrupt' } }, ConsistentRead: true }));
    expect(Object.keys(item.Item ?? {}).sort()).toEqual(['pk', 'sealed', 'ttl']);
    expect(Buffer.from(item.Item?.sealed?.B ?? []).toString('latin1')).not.toContain('replacement');
    expect((await container().get('corrupt', async () => freshToken('never'))).token.accessToken).toBe('replacement');
  });

  it('makes one exchange when 20 containers miss the same key at once', async () => {
    let exchanges = 0;
    const slowExchange = async () => {
      exchanges++;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return freshToken('shared');
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => container().get('burst', slowExchange)));

    expect(exchanges).toBe(1);
    expect(new Set(results.map((r) => r.token.accessToken))).toEqual(new Set(['shared']));
  });
});

describe('TokenCache on DynamoDB Local with 10-minute tokens', () => {
  it('costs one exchange per 5 minutes over two hours of steady traffic on 3 containers (injected clock)', async () => {
    const time = { now: Date.UTC(2100, 0, 1) }; // far ahead: DynamoDB Local's TTL deletion must not remove the items
    const clock = () => time.now;
    const store = sealedStore(clock);
    const containers = Array.from(
      { length: 3 },
      () =>
        new TokenCache({
          store,
          clock,
          logger,
          metrics: { count: () => undefined },
          refreshMarginSeconds: 300,
          sleep: async () => void (time.now += 50),
        }),
    );
    let exchanges = 0;
    const exchange = async (): Promise<CachedToken> => {
      exchanges++;
      const issuedOn = Math.floor(time.now / 1000);
      return { accessToken: `t${exchanges}`, issuedOn, expiresOn: issuedOn + 600, scope: 'api://x/.default' };
    };

    // A request to each container every 10 s for 2 hours: 2160 requests.
    for (let tick = 0; tick < 720; tick++) {
      const served = await Promise.all(containers.map((cache) => cache.get('ten-minutes', exchange)));
      for (const { token } of served) expect(token.expiresOn - time.now / 1000).toBeGreaterThan(150);
      time.now += 10_000;
    }

    // Fresh for 300 s, then refreshed by the first caller of the refresh window: one exchange every 300-310 s.
    expect(exchanges).toBeGreaterThanOrEqual(7200 / 310);
    expect(exchanges).toBeLessThanOrEqual(7200 / 300 + 1);
  });
});

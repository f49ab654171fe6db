/** The token cache on a real table (DynamoDB Local), sealed as in the token function: conditional-write leases and unreadable items. */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../support/log-capture';
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
const { logger } = captureLogs();

beforeAll(() => ensureTokenTable(client, tableName));
afterAll(() => client.destroy());

const kms = mockKms();
const container = () =>
  new TokenCache({
    store: new SealingTokenStore({
      store: new DynamoDbTokenStore(client, tableName),
      sealer: new TokenSealer({ keys: new KmsDataKeys(kms.client, CACHE_KEY_ARN, 'Stack/Broker'), clock: Date.now }),
      bindingOf: (key) => ({
        cacheKey: key,
        authorityHost: 'https://login.example',
        tenantId: 't',
        clientId: 'c',
        scope: 'api://x/.default',
      }),
      clock: Date.now,
      logger,
      metrics: { count: () => undefined },
    }),
    clock: Date.now,
    logger,
    refreshMarginSeconds: 300,
    pollIntervalMs: 50,
  });
const freshToken = (name: string): CachedToken => ({
  accessToken: name,
  expiresOn: Math.floor(Date.now() / 1000) + 3600,
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

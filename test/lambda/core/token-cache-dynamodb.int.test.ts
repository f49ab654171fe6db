/** The token cache on a real table (DynamoDB Local): conditional-write leases and unreadable items. */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../support/log-capture';
import { DynamoDbTokenStore } from '../../../lambda/adapters/dynamodb-token-store';
import type { CachedToken } from '../../../lambda/core/ports';
import { TokenCache } from '../../../lambda/core/token-cache';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';

const client = localDynamoDbClient(inject('dynamodbEndpoint'));
const tableName = uniqueTableName('token-cache');
const { logger } = captureLogs();

beforeAll(() => ensureTokenTable(client, tableName));
afterAll(() => client.destroy());

const container = () =>
  new TokenCache({
    store: new DynamoDbTokenStore(client, tableName),
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
        Item: { pk: { S: 'token#corrupt' }, accessToken: { N: '42' }, expiresOn: { S: 'soon' } },
      }),
    );
    let exchanges = 0;
    const result = await container().get('corrupt', async () => (exchanges++, freshToken('replacement')));

    expect(exchanges).toBe(1);
    expect(result.token.accessToken).toBe('replacement');
    const item = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'token#corrupt' } }, ConsistentRead: true }));
    expect(item.Item?.accessToken).toEqual({ S: 'replacement' });
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

import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';

const client = localDynamoDbClient(inject('dynamodbEndpoint'));
afterAll(() => client.destroy());

describe('ensureTokenTable', () => {
  it('creates the table once when 5 processes start at once, ACTIVE with TTL on `ttl`', async () => {
    const tableName = uniqueTableName('ensure-table-test');
    await Promise.all(Array.from({ length: 5 }, () => ensureTokenTable(client, tableName, { pollMs: 50 })));

    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(TimeToLiveDescription).toEqual({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
  });

  it('is a no-op for an existing table', async () => {
    const tableName = uniqueTableName('ensure-table-test');
    await ensureTokenTable(client, tableName);
    await expect(ensureTokenTable(client, tableName)).resolves.toBeUndefined();
  });

  it('reports an unreachable DynamoDB as upstream_unavailable naming the table', async () => {
    const dead = localDynamoDbClient(`http://127.0.0.1:${await freePort()}`, {
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true }),
    });
    const error = await ensureTokenTable(dead, 'some-table').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe('The token cache table "some-table" is unavailable: connection refused.');
    dead.destroy();
  });
});

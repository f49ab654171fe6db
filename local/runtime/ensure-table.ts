/**
 * Creates the token cache table for the local runtime and tests (in AWS the CDK stack owns it).
 * Several processes may start at once against one DynamoDB Local, so every step tolerates having been
 * done by someone else in the meantime.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { TOKEN_TABLE_PARTITION_KEY, TOKEN_TABLE_TTL_ATTRIBUTE } from '../../contract/aws-names';
import { dynamoDbUnavailable } from '../../lambda/adapters/dynamodb-errors';
import { UpstreamUnavailableError } from '../../lambda/core/errors';

export interface EnsureTokenTableOptions {
  /** How long to wait for the table to become ACTIVE; default 60 s (real DynamoDB takes seconds). */
  readonly timeoutMs?: number;
  /** Poll interval while waiting; default 250 ms. */
  readonly pollMs?: number;
}

/**
 * Creates the table if missing (`pk` S hash key, PAY_PER_REQUEST), waits until it is ACTIVE and makes
 * sure TTL is enabled on `ttl`. Idempotent and safe to run concurrently.
 * @throws UpstreamUnavailableError when DynamoDB fails or the table does not become ACTIVE in time
 */
export async function ensureTokenTable(client: DynamoDBClient, tableName: string, options: EnsureTokenTableOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const what = `The token cache table "${tableName}"`;
  try {
    if ((await tableStatus(client, tableName)) === undefined) {
      try {
        await client.send(
          new CreateTableCommand({
            TableName: tableName,
            AttributeDefinitions: [{ AttributeName: TOKEN_TABLE_PARTITION_KEY, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: TOKEN_TABLE_PARTITION_KEY, KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
      } catch (error) {
        // Another process created it between our describe and our create: wait for it like ours.
        if (errorName(error) !== 'ResourceInUseException') throw error;
      }
    }

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await tableStatus(client, tableName);
      if (status === 'ACTIVE') break;
      if (Date.now() >= deadline) {
        throw new UpstreamUnavailableError(
          'dynamodb',
          `${what} did not become ACTIVE within ${timeoutMs} ms (status ${status ?? 'missing'}).`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }

    await enableTtl(client, tableName);
  } catch (error) {
    throw dynamoDbUnavailable(error, what);
  }
}

async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  if (await ttlEnabled(client, tableName)) return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TOKEN_TABLE_TTL_ATTRIBUTE },
      }),
    );
  } catch (error) {
    // Real DynamoDB answers ValidationException when TTL is already enabled (or being enabled) by a
    // concurrent caller; that is success if it is enabled on our attribute.
    if (errorName(error) === 'ValidationException' && (await ttlEnabled(client, tableName))) return;
    throw error;
  }
}

async function ttlEnabled(client: DynamoDBClient, tableName: string): Promise<boolean> {
  const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  return ttl?.AttributeName === TOKEN_TABLE_TTL_ATTRIBUTE && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING');
}

function errorName(error: unknown): unknown {
  return (error as { name?: unknown } | null)?.name;
}

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
import { sleep } from '../../lambda/core/retry';

export interface EnsureTokenTableOptions {
  /**
   * Bound on the whole operation (describe, create, wait until ACTIVE, TTL), retries included: calls in
   * flight are aborted when it passes. @default 60000 (real DynamoDB takes seconds to create a table)
   */
  readonly timeoutMs?: number;
  /** Poll interval while waiting for ACTIVE. @default 250 */
  readonly pollMs?: number;
  /** Where the table lives, named in error messages (e.g. `http://127.0.0.1:8000`). @default - the table name only */
  readonly endpoint?: string;
}

/**
 * Creates the table if missing (`pk` S hash key, PAY_PER_REQUEST), waits until it is ACTIVE and makes
 * sure TTL is enabled on `ttl`. Idempotent and safe to run concurrently. Each call gets the client's own
 * timeouts and retries; `timeoutMs` bounds them all.
 * @throws UpstreamUnavailableError naming the table (and endpoint) when DynamoDB fails, does not answer
 *   within `timeoutMs`, or the table does not become ACTIVE in time
 */
export async function ensureTokenTable(client: DynamoDBClient, tableName: string, options: EnsureTokenTableOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const pollMs = options.pollMs ?? 250;
  const what = `The token cache table "${tableName}"${options.endpoint ? ` at ${options.endpoint}` : ''}`;
  const endsAt = Date.now() + timeoutMs;
  const deadline = new AbortController();
  const timer = setTimeout(() => {
    deadline.abort();
  }, timeoutMs);
  const call = { abortSignal: deadline.signal };
  try {
    if ((await tableStatus(client, tableName, call)) === undefined) {
      try {
        await client.send(
          new CreateTableCommand({
            TableName: tableName,
            AttributeDefinitions: [{ AttributeName: TOKEN_TABLE_PARTITION_KEY, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: TOKEN_TABLE_PARTITION_KEY, KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
          call,
        );
      } catch (error) {
        // Another process created it between our describe and our create: wait for it like ours.
        if (errorName(error) !== 'ResourceInUseException') throw error;
      }
    }

    for (;;) {
      const status = await tableStatus(client, tableName, call);
      if (status === 'ACTIVE') break;
      // Give up before a poll that would end past the bound, so a slow table is reported as such.
      if (Date.now() + pollMs >= endsAt) {
        throw new UpstreamUnavailableError(
          'dynamodb',
          `${what} did not become ACTIVE within ${timeoutMs} ms (status ${status ?? 'missing'}).`,
        );
      }
      await sleep(pollMs);
    }

    await enableTtl(client, tableName, call);
  } catch (error) {
    if (deadline.signal.aborted && !(error instanceof UpstreamUnavailableError)) {
      throw new UpstreamUnavailableError('dynamodb', `${what} is unavailable: no answer within ${timeoutMs} ms, with retries.`, {
        cause: error,
      });
    }
    throw dynamoDbUnavailable(error, what);
  } finally {
    clearTimeout(timer);
  }
}

/** Per-call options of `client.send`: the abort signal of the overall bound. */
interface Call {
  readonly abortSignal: AbortSignal;
}

async function tableStatus(client: DynamoDBClient, tableName: string, call: Call): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }), call);
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string, call: Call): Promise<void> {
  if (await ttlEnabled(client, tableName, call)) return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TOKEN_TABLE_TTL_ATTRIBUTE },
      }),
      call,
    );
  } catch (error) {
    // Real DynamoDB answers ValidationException when TTL is already enabled (or being enabled) by a
    // concurrent caller; that is success if it is enabled on our attribute.
    if (errorName(error) === 'ValidationException' && (await ttlEnabled(client, tableName, call))) return;
    throw error;
  }
}

async function ttlEnabled(client: DynamoDBClient, tableName: string, call: Call): Promise<boolean> {
  const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }), call);
  return ttl?.AttributeName === TOKEN_TABLE_TTL_ATTRIBUTE && (ttl.TimeToLiveStatus === 'ENABLED' || ttl.TimeToLiveStatus === 'ENABLING');
}

function errorName(error: unknown): unknown {
  return (error as { name?: unknown } | null)?.name;
}

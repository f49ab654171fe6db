/**
 * The shared (second-tier) token cache in DynamoDB, with the refresh lease that keeps concurrent Lambdas
 * from all calling Entra when a token runs out.
 *
 * One table, partition key `pk` (S), TTL attribute `ttl`:
 * - token item `pk = "token#" + key`: `accessToken` (S), `expiresOn` (N, unix s), `scope` (S), `ttl` (N = expiresOn),
 *   `issuedOn` (N, unix s: with expiresOn the token's lifetime, which sets how long it is fresh), and, for the audit
 *   trail, `uti` (S) and `correlationId` (S) when known (items written before have none of these three and still read).
 * - lease item `pk = "lease#" + key`: `holder` (S), `leaseExpiresAt` (N, ms), `ttl` (N, s, a minute after the lease).
 *
 * DynamoDB's TTL deletion is lazy (typically within days of `ttl`, not at it), so an expired item can
 * still be read: `get` returns it as stored and the cache policy checks `expiresOn` before serving it;
 * leases are judged by `leaseExpiresAt`, never by whether the item still exists.
 *
 * Uses the low-level client with plain AttributeValues (no lib-dynamodb) to keep the Lambda bundle small.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InternalError } from '../core/errors';
import { TOKEN_TABLE_PARTITION_KEY, TOKEN_TABLE_TTL_ATTRIBUTE } from '../../contract/aws-names';
import { dynamoDbUnavailable, isConditionFailure } from './dynamodb-errors';
import { systemClock, type CachedToken, type Clock, type TokenStore } from '../core/ports';

export interface DynamoDbTokenStoreOptions {
  /** Decides whether a lease has expired; default Date.now. */
  readonly clock?: Clock;
}

/** Seconds a lease item lingers after its lease ends before TTL may delete it. */
const LEASE_TTL_SLACK_SECONDS = 60;

/** `TokenStore` on a DynamoDB table (see the module comment for the item layout). */
export class DynamoDbTokenStore implements TokenStore {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbTokenStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Strongly consistent read, so a token another instance just stored is seen.
   * @returns the token, or undefined when absent or unreadable (missing/wrong-typed attributes)
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async get(key: string): Promise<CachedToken | undefined> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: tokenPk(key) } }, ConsistentRead: true }),
      );
      return Item ? parseToken(Item) : undefined;
    } catch (error) {
      throw dynamoDbUnavailable(error);
    }
  }

  /**
   * Stores (overwrites) the token; `ttl` = `expiresOn` lets DynamoDB delete it eventually.
   * @throws InternalError when expiresOn is not a finite number (a caller bug)
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async put(key: string, token: CachedToken): Promise<void> {
    if (!Number.isFinite(token.expiresOn)) throw new InternalError('A token with an invalid expiry cannot be cached.');
    const expiresOn = String(token.expiresOn);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TOKEN_TABLE_PARTITION_KEY]: { S: tokenPk(key) },
            accessToken: { S: token.accessToken },
            expiresOn: { N: expiresOn },
            scope: { S: token.scope },
            ...(token.issuedOn !== undefined && Number.isFinite(token.issuedOn) ? { issuedOn: { N: String(token.issuedOn) } } : {}),
            ...(token.uti ? { uti: { S: token.uti } } : {}),
            ...(token.correlationId ? { correlationId: { S: token.correlationId } } : {}),
            [TOKEN_TABLE_TTL_ATTRIBUTE]: { N: expiresOn },
          },
        }),
      );
    } catch (error) {
      throw dynamoDbUnavailable(error);
    }
  }

  /**
   * Conditional put: succeeds when there is no lease, it has expired (by the injected clock), or `holder`
   * already holds it (re-taking your own lease extends it).
   * @returns true when `holder` now holds the lease until `expiresAtMs`, false when another holder does
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TOKEN_TABLE_PARTITION_KEY]: { S: leasePk(key) },
            holder: { S: holder },
            leaseExpiresAt: { N: String(expiresAtMs) },
            [TOKEN_TABLE_TTL_ATTRIBUTE]: { N: String(Math.ceil(expiresAtMs / 1000) + LEASE_TTL_SLACK_SECONDS) },
          },
          ConditionExpression: `attribute_not_exists(${TOKEN_TABLE_PARTITION_KEY}) OR leaseExpiresAt < :now OR holder = :holder`,
          ExpressionAttributeValues: { ':now': { N: String(this.clock()) }, ':holder': { S: holder } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw dynamoDbUnavailable(error);
    }
  }

  /**
   * Deletes the lease only if `holder` still holds it; when someone else has taken it (ours had expired)
   * or it is gone, nothing happens.
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async releaseLease(key: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: leasePk(key) } },
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': { S: holder } },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return;
      throw dynamoDbUnavailable(error);
    }
  }
}

const tokenPk = (key: string): string => `token#${key}`;
const leasePk = (key: string): string => `lease#${key}`;

function parseToken(item: Record<string, AttributeValue>): CachedToken | undefined {
  const accessToken = item.accessToken?.S;
  const scope = item.scope?.S;
  const expiresOnText = item.expiresOn?.N;
  const expiresOn = expiresOnText === undefined ? Number.NaN : Number(expiresOnText);
  if (!accessToken || scope === undefined || !Number.isFinite(expiresOn)) return undefined;
  const issuedOnText = item.issuedOn?.N;
  const issuedOn = issuedOnText === undefined ? Number.NaN : Number(issuedOnText);
  const uti = item.uti?.S;
  const correlationId = item.correlationId?.S;
  return {
    accessToken,
    expiresOn,
    ...(Number.isFinite(issuedOn) ? { issuedOn } : {}),
    scope,
    ...(uti ? { uti } : {}),
    ...(correlationId ? { correlationId } : {}),
  };
}

/**
 * The shared (second-tier) token cache in DynamoDB, with the refresh lease that keeps concurrent Lambdas
 * from all calling Entra when a token runs out.
 *
 * One table, partition key `pk` (S), TTL attribute `ttl`:
 * - token item `pk = "token#" + key`: `sealed` (B: the envelope of lambda/core/token-sealing.ts; nothing in it is
 *   readable without the cache key) and `ttl` (N, unix s = the token's expiry).
 * - lease item `pk = "lease#" + key`: `holder` (S), `leaseExpiresAt` (N, ms), `ttl` (N, s, a minute after the lease).
 *
 * DynamoDB's TTL deletion is lazy (typically within days of `ttl`, not at it), so an expired item can
 * still be read: `get` returns it as stored and the sealing store checks the expiry inside before serving it;
 * leases are judged by `leaseExpiresAt`, never by whether the item still exists.
 *
 * Uses the low-level client with plain AttributeValues (no lib-dynamodb) to keep the Lambda bundle small.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InternalError } from '../core/errors';
import { TOKEN_TABLE_PARTITION_KEY, TOKEN_TABLE_TTL_ATTRIBUTE } from '../../contract/aws-names';
import { dynamoDbUnavailable, isConditionFailure } from './dynamodb-errors';
import { systemClock, type Clock, type SealedTokenStore } from '../core/ports';

export interface DynamoDbTokenStoreOptions {
  /** Decides whether a lease has expired; default Date.now. */
  readonly clock?: Clock;
}

/** Seconds a lease item lingers after its lease ends before TTL may delete it. */
const LEASE_TTL_SLACK_SECONDS = 60;

/** `SealedTokenStore` on a DynamoDB table (see the module comment for the item layout). */
export class DynamoDbTokenStore implements SealedTokenStore {
  private readonly clock: Clock;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoDbTokenStoreOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Strongly consistent read, so an item another instance just stored is seen.
   * @returns the sealed bytes; undefined when there is no item; an empty array when `sealed` is missing or not binary
   *   (not an item the broker wrote), so the sealing store rejects it
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async get(key: string): Promise<Uint8Array | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: tokenPk(key) } }, ConsistentRead: true }),
      ));
    } catch (error) {
      throw dynamoDbUnavailable(error);
    }
    if (item === undefined) return undefined;
    return item.sealed?.B ?? new Uint8Array();
  }

  /**
   * Stores (overwrites) the sealed item; `ttl` = `expiresOn` lets DynamoDB delete it eventually.
   * @throws InternalError when expiresOn is not a finite number (a caller bug)
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async put(key: string, sealed: Uint8Array, expiresOn: number): Promise<void> {
    if (!Number.isFinite(expiresOn)) throw new InternalError('A token with an invalid expiry cannot be cached.');
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TOKEN_TABLE_PARTITION_KEY]: { S: tokenPk(key) },
            sealed: { B: sealed },
            [TOKEN_TABLE_TTL_ATTRIBUTE]: { N: String(Math.ceil(expiresOn)) },
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

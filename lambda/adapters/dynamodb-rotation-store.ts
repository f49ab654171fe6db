/**
 * The rotation state item in the token cache table: `pk = KEY_ROTATION_ITEM.partitionKey` with `version` (N), the
 * state as JSON (S) and its MAC (B), no TTL. Every write is conditional on the version read, so concurrent rotators
 * never overwrite each other (contract/aws-names.ts names the attributes for lib/ and the CLI). Verifying the MAC is
 * the reader's job (lambda/core/authenticated-rotation-store.ts): this store hands out the item as stored.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEY_ROTATION_ITEM, TOKEN_TABLE_PARTITION_KEY } from '../../contract/aws-names';
import type { RotationItemStore, StoredRotationItem } from '../core/ports';
import { dynamoDbUnavailable, isConditionFailure } from './dynamodb-errors';

const { partitionKey, versionAttribute, stateAttribute, macAttribute } = KEY_ROTATION_ITEM;

/** `RotationItemStore` on a DynamoDB table. */
export class DynamoDbRotationStore implements RotationItemStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Strongly consistent read.
   * @returns the item as stored (a version that is not a number as NaN), or undefined when there is none
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async read(): Promise<StoredRotationItem | undefined> {
    let item;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: partitionKey } }, ConsistentRead: true }),
      ));
    } catch (error) {
      throw dynamoDbUnavailable(error);
    }
    if (!item) return undefined;
    const version = item[versionAttribute]?.N;
    return {
      version: version === undefined ? Number.NaN : Number(version),
      stateJson: item[stateAttribute]?.S,
      mac: item[macAttribute]?.B,
    };
  }

  /**
   * Conditional put: no item yet for version 0, else the same version.
   * @returns false when another writer changed the item first
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async write(item: { version: number; stateJson: string; mac: Uint8Array }, expectedVersion: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TOKEN_TABLE_PARTITION_KEY]: { S: partitionKey },
            [versionAttribute]: { N: String(item.version) },
            [stateAttribute]: { S: item.stateJson },
            [macAttribute]: { B: item.mac },
          },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TOKEN_TABLE_PARTITION_KEY } }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': versionAttribute },
                ExpressionAttributeValues: { ':version': { N: String(expectedVersion) } },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw dynamoDbUnavailable(error);
    }
  }
}

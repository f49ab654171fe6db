/**
 * The rotation state in the token cache table: one item `pk = KEY_ROTATION_ITEM.partitionKey` with `version` (N) and
 * the state as JSON (S), no TTL. Every write is conditional on the version read, so concurrent rotators never
 * overwrite each other (contract/aws-names.ts names the attributes for lib/ and the CLI).
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KEY_ROTATION_ITEM, TOKEN_TABLE_PARTITION_KEY } from '../../contract/aws-names';
import { EMPTY_ROTATION_STATE, parseRotationState, RotationStateError, type RotationState } from '../../contract/key-rotation-state';
import type { KeyRotationStore, VersionedRotationState } from '../core/ports';
import { dynamoDbUnavailable, isConditionFailure } from './dynamodb-errors';

const { partitionKey, versionAttribute, stateAttribute } = KEY_ROTATION_ITEM;

/** `KeyRotationStore` on a DynamoDB table. */
export class DynamoDbRotationStore implements KeyRotationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Strongly consistent read; no item is version 0 with no keys.
   * @throws UpstreamUnavailableError when DynamoDB fails; RotationStateError for an item this version cannot read
   */
  async read(): Promise<VersionedRotationState> {
    let item;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [TOKEN_TABLE_PARTITION_KEY]: { S: partitionKey } }, ConsistentRead: true }),
      ));
    } catch (error) {
      throw dynamoDbUnavailable(error);
    }
    if (!item) return { state: EMPTY_ROTATION_STATE, version: 0 };
    const version = Number(item[versionAttribute]?.N);
    const json = item[stateAttribute]?.S;
    if (!Number.isInteger(version) || version < 1 || json === undefined) {
      throw new RotationStateError(`expected ${versionAttribute} (N) and ${stateAttribute} (S)`);
    }
    return { state: parseRotationState(json), version };
  }

  /**
   * Conditional put: no item yet for version 0, else the same version.
   * @returns false when another writer changed the item first
   * @throws UpstreamUnavailableError when DynamoDB fails
   */
  async write(state: RotationState, expectedVersion: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [TOKEN_TABLE_PARTITION_KEY]: { S: partitionKey },
            [versionAttribute]: { N: String(expectedVersion + 1) },
            [stateAttribute]: { S: JSON.stringify(state) },
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

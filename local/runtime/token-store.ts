/** The local runtime's shared token cache: DynamoDB (Local) when configured, else memory. */
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import type { Logger, TokenStore } from '../../lambda/core/ports';
import { ensureTokenTable } from './ensure-table';
import type { LocalConfig } from './local-config';

export interface OpenedStore {
  readonly store: TokenStore;
  /** Releases the client, if any. */
  readonly close: () => void;
}

/**
 * Opens the configured store; with DynamoDB, creates the table first (safely when several processes start at once).
 * @throws UpstreamUnavailableError when DynamoDB cannot be reached or the table does not become ACTIVE
 */
export async function openTokenStore(config: LocalConfig, logger: Logger): Promise<OpenedStore> {
  if (!config.dynamodbEndpoint) return { store: new MemoryTokenStore(), close: () => undefined };
  const client = createDynamoDbClient({
    endpoint: config.dynamodbEndpoint,
    region: config.region,
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTokenTable(client, config.tableName);
  logger.info('token cache in DynamoDB', { endpoint: config.dynamodbEndpoint, tableName: config.tableName });
  return {
    store: new DynamoDbTokenStore(client, config.tableName),
    close: () => {
      client.destroy();
    },
  };
}

/** The local runtime's shared token cache: DynamoDB (Local) when configured, else memory. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbTokenStore } from '../../lambda/adapters/dynamodb-token-store';
import { MemoryTokenStore } from '../../lambda/adapters/memory-token-store';
import type { Logger, SealedTokenStore, TokenStore } from '../../lambda/core/ports';
import { ensureTokenTable } from './ensure-table';
import type { LocalConfig } from './local-config';

/** How long start-up waits for the table, retries included, before it gives up. */
export const STARTUP_TIMEOUT_MS = 60_000;
// Start-up is not a request with a caller waiting: a DynamoDB Local still starting, or busy with other
// processes creating the same table on a loaded machine, can take seconds per answer. So the table is
// bootstrapped with a client of its own, patient per call, bounded overall by STARTUP_TIMEOUT_MS; the
// store serves requests with the Lambda's tight client (about 1 s per call, 2 attempts).
const BOOTSTRAP_CONNECT_TIMEOUT_MS = 5_000;
const BOOTSTRAP_REQUEST_TIMEOUT_MS = 15_000;
/** The SDK's standard retries: throttling, 5xx, timeouts and refused connections, with jittered exponential backoff. */
const BOOTSTRAP_MAX_ATTEMPTS = 6;

// DynamoDB Local accepts any credentials; these are not secrets.
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The shared cache: DynamoDB, whose items the runtime seals (other processes and users can read the table), or this
 * process's memory, which nobody else reads.
 */
export type OpenedStore =
  | { readonly kind: 'dynamodb'; readonly sealed: SealedTokenStore; readonly close: () => void }
  | { readonly kind: 'memory'; readonly store: TokenStore; readonly close: () => void };

export interface OpenTokenStoreOptions {
  /** Bound on creating (or finding) the table at start-up. @default 60000 */
  readonly startupTimeoutMs?: number;
}

/**
 * Opens the configured store; with DynamoDB, creates the table first (safely when several processes start
 * at once), waiting generously for a slow DynamoDB but no longer than `startupTimeoutMs`.
 * @throws UpstreamUnavailableError naming the table and the endpoint when DynamoDB cannot be reached, does
 *   not answer in time, or the table does not become ACTIVE
 */
export async function openTokenStore(config: LocalConfig, logger: Logger, options: OpenTokenStoreOptions = {}): Promise<OpenedStore> {
  const endpoint = config.dynamodbEndpoint;
  if (!endpoint) return { kind: 'memory', store: new MemoryTokenStore(), close: () => undefined };
  const bootstrap = new DynamoDBClient({
    endpoint,
    region: config.region,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: BOOTSTRAP_MAX_ATTEMPTS,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: BOOTSTRAP_CONNECT_TIMEOUT_MS,
      requestTimeout: BOOTSTRAP_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    }),
  });
  try {
    await ensureTokenTable(bootstrap, config.tableName, { endpoint, timeoutMs: options.startupTimeoutMs ?? STARTUP_TIMEOUT_MS });
  } finally {
    bootstrap.destroy();
  }
  logger.info('token cache in DynamoDB', { endpoint, tableName: config.tableName });
  const client = createDynamoDbClient({ endpoint, region: config.region, credentials: LOCAL_CREDENTIALS });
  return {
    kind: 'dynamodb',
    sealed: new DynamoDbTokenStore(client, config.tableName),
    close: () => {
      client.destroy();
    },
  };
}

/**
 * The local runtime's key rotation: the deployment's state machine (lambda/core/key-rotation.ts) on a timer, keys as
 * PEM files in `signingKeyDir`, the state in DynamoDB (Local) when the runtime has a table, so that several processes
 * share keys and state, or in this process's memory.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KeyRotationSettings } from '../../contract/broker-config';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbRotationStore } from '../../lambda/adapters/dynamodb-rotation-store';
import { MemoryRotationStore } from '../../lambda/adapters/memory-rotation-store';
import { runKeyRotation } from '../../lambda/core/key-rotation';
import type { Clock, KeyRotationStore, Logger } from '../../lambda/core/ports';
import { RotationStateReader, stateCacheSeconds } from '../../lambda/core/rotation-state-reader';
import { SigningKeyDirectory } from './signing-key-dir';

// DynamoDB Local accepts any credentials; these are not secrets.
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalRotationOptions {
  readonly signingKeyDir: string;
  readonly settings: KeyRotationSettings;
  /** The table (already created) the state item goes in. @default - the state stays in memory */
  readonly dynamodb?: { readonly endpoint: string; readonly region: string; readonly tableName: string };
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface LocalRotation {
  readonly keys: SigningKeyDirectory;
  /** The state as the token and JWKS routes read it (kept for `stateCacheSeconds`). */
  readonly state: RotationStateReader;
  readonly settings: KeyRotationSettings;
  /** Stops the timer and releases the DynamoDB client. */
  stop(): void;
}

/** How often the timer runs the rotation: a fifth of the shortest figure, from 0.2 s to a minute. */
export function rotationTickMs(settings: KeyRotationSettings): number {
  const shortest = Math.min(settings.intervalSeconds, settings.publishLeadSeconds, settings.retireAfterSeconds);
  return Math.min(60_000, Math.max(200, Math.floor((shortest * 1000) / 5)));
}

/**
 * Runs the rotation once (so a key is active before the runtime listens), then on a timer.
 * @throws what the first run throws (DynamoDB unreachable, the folder not writable)
 */
export async function startLocalRotation(options: LocalRotationOptions): Promise<LocalRotation> {
  const { logger, clock, settings } = options;
  const keys = new SigningKeyDirectory(options.signingKeyDir);
  const { tooOpen } = await keys.prepare();
  if (tooOpen) logger.warn('signingKeyDir was readable by other users; it is now mode 0700', { path: options.signingKeyDir });
  let client: DynamoDBClient | undefined;
  let store: KeyRotationStore;
  if (options.dynamodb) {
    client = createDynamoDbClient({ endpoint: options.dynamodb.endpoint, region: options.dynamodb.region, credentials: LOCAL_CREDENTIALS });
    store = new DynamoDbRotationStore(client, options.dynamodb.tableName);
  } else {
    store = new MemoryRotationStore();
  }
  const rotate = () => runKeyRotation({ keys, store, settings, clock, logger });
  await rotate();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    rotate()
      .catch((error: unknown) => {
        // The next tick retries; every step is written conditionally, so a failed one leaves a consistent state.
        logger.warn('key rotation run failed; retrying on the next tick', { error: error instanceof Error ? error.name : 'unknown' });
      })
      .finally(() => {
        running = false;
      });
  }, rotationTickMs(settings));
  return {
    keys,
    settings,
    state: new RotationStateReader({ store, clock, maxAgeMs: stateCacheSeconds(settings) * 1000, logger }),
    stop: () => {
      clearInterval(timer);
      client?.destroy();
    },
  };
}

/**
 * The local runtime's key rotation: the deployment's state machine (lambda/core/key-rotation.ts) on a timer, keys as
 * PEM files in `signingKeyDir`, the state in DynamoDB (Local) when the runtime has a table, so that several processes
 * share keys and state, or in this process's memory. The state item carries its MAC as in a deployment, made with the
 * local rotation state key (`rotationStateKeyFile`) instead of KMS: a state item the rotation did not write is refused
 * by the token and JWKS routes and by the rotation itself.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KeyRotationSettings } from '../../contract/broker-config';
import { KEY_ROTATION_ITEM } from '../../contract/aws-names';
import { RotationStateRejectedError } from '../../contract/key-rotation-state';
import { createDynamoDbClient } from '../../lambda/adapters/aws-clients';
import { DynamoDbRotationStore } from '../../lambda/adapters/dynamodb-rotation-store';
import { MemoryRotationStore } from '../../lambda/adapters/memory-rotation-store';
import { LocalStateAuthenticator } from '../../lambda/adapters/local-state-authenticator';
import { AuthenticatedRotationStore } from '../../lambda/core/authenticated-rotation-store';
import type { FunctionObservability } from '../../lambda/adapters/observability';
import type { BrokerMetrics, Clock, Logger, RotationItemStore } from '../../lambda/core/ports';
import { createRotatorHandler } from '../../lambda/handlers/rotator';
import { lambdaContext } from './api-gateway-event';
import type { InvocationScope } from './invocation-scope';
import { RotationStateReader, stateCacheSeconds } from '../../lambda/core/rotation-state-reader';
import { SigningKeyDirectory } from './signing-key-dir';

/** The deployed rotator's timeout. */
const ROTATOR_TIMEOUT_MS = 60_000;
// DynamoDB Local accepts any credentials; these are not secrets.
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export interface LocalRotationOptions {
  readonly signingKeyDir: string;
  readonly settings: KeyRotationSettings;
  /** The table (already created) the state item goes in. @default - the state stays in memory */
  readonly dynamodb?: { readonly endpoint: string; readonly region: string; readonly tableName: string };
  /** The 32-byte key the state's MAC is made with (the rotation state key file's content). */
  readonly stateKey: Uint8Array;
  /** The file it was read from, named when a state item does not verify with it. */
  readonly stateKeyFile: string;
  /** The rotator's logs and metrics, as the deployed rotator function has them. */
  readonly rotator: FunctionObservability;
  /** Runs each tick as an invocation of its own. */
  readonly inScope: InvocationScope;
  readonly clock: Clock;
}

export interface LocalRotation {
  readonly keys: SigningKeyDirectory;
  /**
   * The state as a route reads it (kept for `stateCacheSeconds`), verifying it on its own and counting a refusal
   * with that route's metrics, as the token and JWKS functions each do.
   */
  reader(route: { readonly logger: Logger; readonly metrics: BrokerMetrics }): RotationStateReader;
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
 * @throws what the first run throws (DynamoDB unreachable, the folder not writable); for a state item that does not
 *   verify, an Error naming the table, the key file and how to start afresh
 */
export async function startLocalRotation(options: LocalRotationOptions): Promise<LocalRotation> {
  const { clock, settings } = options;
  const { logger } = options.rotator;
  const keys = new SigningKeyDirectory(options.signingKeyDir);
  const { tooOpen } = await keys.prepare();
  if (tooOpen) logger.warn('signingKeyDir was readable by other users; it is now mode 0700', { path: options.signingKeyDir });
  let client: DynamoDBClient | undefined;
  let items: RotationItemStore;
  if (options.dynamodb) {
    client = createDynamoDbClient({ endpoint: options.dynamodb.endpoint, region: options.dynamodb.region, credentials: LOCAL_CREDENTIALS });
    items = new DynamoDbRotationStore(client, options.dynamodb.tableName);
  } else {
    items = new MemoryRotationStore();
  }
  const authenticator = new LocalStateAuthenticator(options.stateKey);
  // The rotation and the readers verify on their own, as the rotator and the token and JWKS functions do in AWS.
  const authenticated = (route: { logger: Logger; metrics: BrokerMetrics }) =>
    new AuthenticatedRotationStore({ items, authenticator, logger: route.logger, metrics: route.metrics, clock });
  // Each tick is a scheduled invocation of the deployment's rotator handler, wrapped as deployed (its counts, key age
  // and log lines), in an invocation scope of its own.
  const rotator = createRotatorHandler({
    rotation: { keys, store: authenticated(options.rotator), settings, clock, logger },
    metrics: options.rotator.metrics,
    logger,
  }).use([...options.rotator.middlewares]);
  const rotate = () => {
    const context = lambdaContext({ functionName: 'broker-rotator', timeoutMs: ROTATOR_TIMEOUT_MS, clock });
    return options.inScope(context.awsRequestId, () => rotator({}, context));
  };
  try {
    await rotate();
  } catch (error) {
    client?.destroy();
    if (error instanceof RotationStateRejectedError && options.dynamodb)
      throw refusedAtStart(error, options.dynamodb.tableName, options.stateKeyFile);
    throw error;
  }
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    rotate()
      // Logged and counted by the handler; the next tick retries (every step is written conditionally).
      .catch(() => undefined)
      .finally(() => {
        running = false;
      });
  }, rotationTickMs(settings));
  return {
    keys,
    settings,
    reader: (route) =>
      new RotationStateReader({ store: authenticated(route), clock, maxAgeMs: stateCacheSeconds(settings) * 1000, logger: route.logger }),
    stop: () => {
      clearInterval(timer);
      client?.destroy();
    },
  };
}

/**
 * Locally a refused state is most often this machine's own: written with another rotationStateKeyFile (a process on
 * the same table with its own key file, or the default file generated again). No emergency rotation runs locally:
 * the item goes, and the next start begins a new state.
 */
function refusedAtStart(error: RotationStateRejectedError, tableName: string, stateKeyFile: string): Error {
  return new Error(
    `the key rotation state item in table ${tableName} does not verify with rotationStateKeyFile ${stateKeyFile} (${error.reason}): ` +
      `it was written with another rotation state key (processes sharing a table must share rotationStateKeyFile) or by someone else. ` +
      `Use the key file it was written with, or delete the item (partition key "${KEY_ROTATION_ITEM.partitionKey}") or set a new tableName, then start again.`,
    { cause: error },
  );
}

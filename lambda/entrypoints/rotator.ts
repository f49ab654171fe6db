// Lambda entry of the key rotator: on the EventBridge schedule, and when `broker-keys rotate` invokes it.
import { BROKER_ENV } from '../../contract/environment';
import { parseKeyRotationSettingsJson } from '../../contract/key-rotation-state';
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbRotationStore } from '../adapters/dynamodb-rotation-store';
import { KmsKeyService } from '../adapters/kms-key-service';
import { KmsStateAuthenticator } from '../adapters/kms-state-authenticator';
import { createObservability } from '../adapters/observability';
import { AuthenticatedRotationStore } from '../core/authenticated-rotation-store';
import { systemClock } from '../core/ports';
import { createRotatorHandler } from '../handlers/rotator';
import { requireEnv } from './env';

const deployment = requireEnv(BROKER_ENV.deployment);
const { logger, metrics, middlewares } = createObservability({ route: 'rotator', deployment });
const kms = createKmsClient();

export const handler = createRotatorHandler({
  rotation: {
    keys: new KmsKeyService(kms, { deployment, keyPolicy: requireEnv(BROKER_ENV.signingKeyPolicy) }),
    // The rotator alone may make the state's MAC (GenerateMac); it verifies every state it reads, as the readers do.
    store: new AuthenticatedRotationStore({
      items: new DynamoDbRotationStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
      authenticator: new KmsStateAuthenticator(kms, requireEnv(BROKER_ENV.rotationStateKeyArn)),
      logger,
      metrics,
      clock: systemClock,
    }),
    settings: parseKeyRotationSettingsJson(requireEnv(BROKER_ENV.keyRotation)),
    clock: systemClock,
    logger,
    adoptableKeyId: requireEnv(BROKER_ENV.signingKeyArn),
  },
  metrics,
  logger,
}).use([...middlewares]);

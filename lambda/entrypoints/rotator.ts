// Lambda entry of the key rotator: on the EventBridge schedule, and when `broker-keys rotate` invokes it.
import { BROKER_ENV } from '../../contract/environment';
import { parseKeyRotationSettingsJson } from '../../contract/key-rotation-state';
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbRotationStore } from '../adapters/dynamodb-rotation-store';
import { KmsKeyService } from '../adapters/kms-key-service';
import { asLoggerPort, createBrokerLogger, lambdaContextMiddleware } from '../adapters/powertools-logger';
import { PowertoolsRotatorMetrics } from '../adapters/powertools-metrics';
import { systemClock } from '../core/ports';
import { createRotatorHandler } from '../handlers/rotator';
import { requireEnv } from './env';

const powertools = createBrokerLogger({ persistentKeys: { route: 'rotator' } });
const logger = asLoggerPort(powertools);
const deployment = requireEnv(BROKER_ENV.deployment);

export const handler = createRotatorHandler({
  rotation: {
    keys: new KmsKeyService(createKmsClient(), { deployment, keyPolicy: requireEnv(BROKER_ENV.signingKeyPolicy) }),
    store: new DynamoDbRotationStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
    settings: parseKeyRotationSettingsJson(requireEnv(BROKER_ENV.keyRotation)),
    clock: systemClock,
    logger,
    adoptableKeyId: requireEnv(BROKER_ENV.signingKeyArn),
  },
  metrics: new PowertoolsRotatorMetrics({ deployment, logger: powertools }),
  logger,
}).use(lambdaContextMiddleware(powertools));

// Lambda entry for GET /jwks: the published keys from the rotation state (no KMS call on Entra's path once the
// rotator has run; before that, the keys the stack published, read from KMS once per container).
import { BROKER_ENV } from '../../contract/environment';
import { parseKeyRotationSettingsJson } from '../../contract/key-rotation-state';
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbRotationStore } from '../adapters/dynamodb-rotation-store';
import { KmsPublicKeys } from '../adapters/kms-signer';
import { asLoggerPort, createBrokerLogger, lambdaContextMiddleware } from '../adapters/powertools-logger';
import { systemClock } from '../core/ports';
import { rotationPublicKeys } from '../core/rotating-assertions';
import { jwksCacheControl, RotationStateReader, stateCacheSeconds } from '../core/rotation-state-reader';
import { createJwksHandler } from '../handlers/jwks';
import { requireEnv } from './env';

const powertools = createBrokerLogger({ persistentKeys: { route: 'jwks' } });
const logger = asLoggerPort(powertools);
const settings = parseKeyRotationSettingsJson(requireEnv(BROKER_ENV.keyRotation));
const state = new RotationStateReader({
  store: new DynamoDbRotationStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
  clock: systemClock,
  maxAgeMs: stateCacheSeconds(settings) * 1000,
  logger,
});

export const handler = createJwksHandler({
  keys: rotationPublicKeys(state, new KmsPublicKeys(createKmsClient(), requireEnv(BROKER_ENV.publishedKeyArns).split(',').filter(Boolean))),
  cacheControl: jwksCacheControl(settings),
  logger,
}).use(lambdaContextMiddleware(powertools));

// Lambda entry for GET /jwks: the published keys from the rotation state, verified against its MAC (no KMS call on
// Entra's path but VerifyMac once per state read; before the rotator's first run, the keys the stack published, read
// from KMS once per container).
import { BROKER_ENV } from '../../contract/environment';
import { parseKeyRotationSettingsJson } from '../../contract/key-rotation-state';
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbRotationStore } from '../adapters/dynamodb-rotation-store';
import { KmsPublicKeys } from '../adapters/kms-signer';
import { KmsStateAuthenticator } from '../adapters/kms-state-authenticator';
import { createObservability } from '../adapters/observability';
import { AuthenticatedRotationStore } from '../core/authenticated-rotation-store';
import { systemClock } from '../core/ports';
import { rotationPublicKeys } from '../core/rotating-assertions';
import { jwksCacheControl, RotationStateReader, stateCacheSeconds } from '../core/rotation-state-reader';
import { createJwksHandler } from '../handlers/jwks';
import { requireEnv } from './env';

// A refused rotation state is counted here too (RotationStateRejected, with the Deployment dimension).
const { logger, metrics, middlewares } = createObservability({ route: 'jwks', deployment: requireEnv(BROKER_ENV.deployment) });
const kms = createKmsClient();
const settings = parseKeyRotationSettingsJson(requireEnv(BROKER_ENV.keyRotation));
const state = new RotationStateReader({
  store: new AuthenticatedRotationStore({
    items: new DynamoDbRotationStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
    authenticator: new KmsStateAuthenticator(kms, requireEnv(BROKER_ENV.rotationStateKeyArn)),
    logger,
    metrics,
    clock: systemClock,
  }),
  clock: systemClock,
  maxAgeMs: stateCacheSeconds(settings) * 1000,
  logger,
});

export const handler = createJwksHandler({
  keys: rotationPublicKeys(state, new KmsPublicKeys(kms, requireEnv(BROKER_ENV.publishedKeyArns).split(',').filter(Boolean))),
  cacheControl: jwksCacheControl(settings),
  logger,
}).use([...middlewares]);

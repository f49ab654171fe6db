// Lambda entry for GET /jwks. The KMS client and the public keys are fetched once per container.
import { BROKER_ENV } from '../../contract/environment';
import { createKmsClient } from '../adapters/aws-clients';
import { createJsonLogger, parseLogLevel } from '../adapters/json-logger';
import { KmsPublicKeys } from '../adapters/kms-signer';
import { createJwksHandler } from '../handlers/jwks';
import { requireEnv } from './env';

export const handler = createJwksHandler({
  keys: new KmsPublicKeys(createKmsClient(), requireEnv(BROKER_ENV.publishedKeyArns).split(',').filter(Boolean)),
  logger: createJsonLogger({ level: parseLogLevel(process.env[BROKER_ENV.logLevel]), base: { route: 'jwks' } }),
});

// Lambda entry for GET /jwks. The KMS client, the logger and the public keys are fetched once per container.
import { BROKER_ENV } from '../../contract/environment';
import { createKmsClient } from '../adapters/aws-clients';
import { KmsPublicKeys } from '../adapters/kms-signer';
import { asLoggerPort, createBrokerLogger, lambdaContextMiddleware } from '../adapters/powertools-logger';
import { createJwksHandler } from '../handlers/jwks';
import { requireEnv } from './env';

const logger = createBrokerLogger({ persistentKeys: { route: 'jwks' } });

export const handler = createJwksHandler({
  keys: new KmsPublicKeys(createKmsClient(), requireEnv(BROKER_ENV.publishedKeyArns).split(',').filter(Boolean)),
  logger: asLoggerPort(logger),
}).use(lambdaContextMiddleware(logger));

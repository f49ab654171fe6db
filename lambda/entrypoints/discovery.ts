// Lambda entry for GET /.well-known/openid-configuration. Everything is built once per container.
import { BROKER_ENV } from '../../contract/environment';
import { asLoggerPort, createBrokerLogger, lambdaContextMiddleware } from '../adapters/powertools-logger';
import { createDiscoveryHandler } from '../handlers/discovery';
import { requireIssuer } from './env';

const logger = createBrokerLogger({ persistentKeys: { route: 'discovery' } });

export const handler = createDiscoveryHandler({ issuer: requireIssuer(BROKER_ENV.issuer), logger: asLoggerPort(logger) }).use(
  lambdaContextMiddleware(logger),
);

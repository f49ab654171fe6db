// Lambda entry for GET /.well-known/openid-configuration. Everything is built once per container.
import { BROKER_ENV } from '../../contract/environment';
import { createJsonLogger, parseLogLevel } from '../adapters/json-logger';
import { createDiscoveryHandler } from '../handlers/discovery';
import { requireIssuer } from './env';

export const handler = createDiscoveryHandler({
  issuer: requireIssuer(BROKER_ENV.issuer),
  logger: createJsonLogger({ level: parseLogLevel(process.env[BROKER_ENV.logLevel]), base: { route: 'discovery' } }),
});

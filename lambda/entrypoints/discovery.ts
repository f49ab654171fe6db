// Lambda entry for GET /.well-known/openid-configuration. Everything is built once per container.
import { createJsonLogger, parseLogLevel } from '../adapters/json-logger';
import { normaliseIssuer } from '../core/discovery';
import { createDiscoveryHandler } from '../handlers/discovery';
import { requireEnv } from './env';

export const handler = createDiscoveryHandler({
  issuer: normaliseIssuer(requireEnv('BROKER_ISSUER')),
  logger: createJsonLogger({ level: parseLogLevel(process.env.LOG_LEVEL), base: { route: 'discovery' } }),
});

// Lambda entry for GET /.well-known/openid-configuration. Everything is built once per container.
import { BROKER_ENV } from '../../contract/environment';
import { createLogging } from '../adapters/observability';
import { createDiscoveryHandler } from '../handlers/discovery';
import { requireIssuer } from './env';

const { logger, middlewares } = createLogging({ route: 'discovery' });

export const handler = createDiscoveryHandler({ issuer: requireIssuer(BROKER_ENV.issuer), logger }).use([...middlewares]);

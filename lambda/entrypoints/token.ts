// Lambda entry for GET /token/{alias}. Clients, key id and L1 cache live as long as the container.
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbTokenStore } from '../adapters/dynamodb-token-store';
import { createEmfMetrics } from '../adapters/emf-metrics';
import { createJsonLogger, parseLogLevel } from '../adapters/json-logger';
import { KmsSigner } from '../adapters/kms-signer';
import { parseAllowedCallers } from '../core/caller-restriction';
import { parseBrokerConfig } from '../core/config';
import { normaliseIssuer } from '../core/discovery';
import { systemClock } from '../core/ports';
import { sleep } from '../core/retry';
import { TokenCache } from '../core/token-cache';
import { TokenService } from '../core/token-service';
import { createTokenHandler } from '../handlers/token';
import { requireEnv } from './env';

const logger = createJsonLogger({ level: parseLogLevel(process.env.LOG_LEVEL), base: { route: 'token' } });
const config = parseBrokerConfig(JSON.parse(requireEnv('BROKER_CONFIG')), { source: 'BROKER_CONFIG' });
const cache = new TokenCache({
  store: new DynamoDbTokenStore(createDynamoDbClient(), requireEnv('BROKER_TABLE_NAME')),
  clock: systemClock,
  logger,
  metrics: createEmfMetrics(),
  refreshMarginSeconds: config.refreshMarginSeconds,
});

export const handler = createTokenHandler({
  service: new TokenService({
    config,
    issuer: normaliseIssuer(requireEnv('BROKER_ISSUER')),
    signer: new KmsSigner(createKmsClient(), requireEnv('BROKER_SIGNING_KEY_ARN')),
    cache,
    clock: systemClock,
    entra: { fetch, sleep },
  }),
  logger,
  clock: systemClock,
  allowedCallers: parseAllowedCallers(process.env.BROKER_ALLOWED_CALLERS),
});

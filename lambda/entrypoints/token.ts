// Lambda entry for GET /token/{alias}. Clients, key id and L1 cache live as long as the container.
import { parseAllowedCallersJson } from '../../contract/allowed-callers';
import { parseRuntimeConfig } from '../../contract/broker-config';
import { BROKER_ENV } from '../../contract/environment';
import { createDynamoDbClient, createKmsClient } from '../adapters/aws-clients';
import { DynamoDbTokenStore } from '../adapters/dynamodb-token-store';
import { createEmfMetrics } from '../adapters/emf-metrics';
import { createJsonLogger, parseLogLevel } from '../adapters/json-logger';
import { KmsSigner } from '../adapters/kms-signer';
import { createTokenFunction } from '../composition/token-function';
import { requireEnv, requireIssuer } from './env';

const logger = createJsonLogger({ level: parseLogLevel(process.env[BROKER_ENV.logLevel]), base: { route: 'token' } });
const allowedCallers = parseAllowedCallersJson(process.env[BROKER_ENV.allowedCallers]);

export const { handler } = createTokenFunction({
  config: parseRuntimeConfig(JSON.parse(requireEnv(BROKER_ENV.runtimeConfig)), { source: BROKER_ENV.runtimeConfig }),
  issuer: requireIssuer(BROKER_ENV.issuer),
  signer: new KmsSigner(createKmsClient(), requireEnv(BROKER_ENV.signingKeyArn)),
  store: new DynamoDbTokenStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
  logger,
  metrics: createEmfMetrics(requireEnv(BROKER_ENV.deployment)),
  ...(allowedCallers ? { allowedCallers } : {}),
});

// Lambda entry for GET /token/{alias}. Clients, logger, metrics, key id and L1 cache live as long as the container.
import { parseAllowedCallersJson } from '../../contract/allowed-callers';
import { parseRuntimeConfig } from '../../contract/broker-config';
import { BROKER_ENV } from '../../contract/environment';
import { createDynamoDbClient, createKmsClient, createStsClient } from '../adapters/aws-clients';
import { DynamoDbTokenStore } from '../adapters/dynamodb-token-store';
import { KmsDataKeys } from '../adapters/kms-data-keys';
import { KmsSigner } from '../adapters/kms-signer';
import { StsAssertions } from '../adapters/sts-assertions';
import { createTokenObservability } from '../adapters/token-observability';
import { createTokenFunction, type AssertionDeps } from '../composition/token-function';
import { requireEnv, requireIssuer } from './env';

// Log level and service name come from POWERTOOLS_LOG_LEVEL and POWERTOOLS_SERVICE_NAME, set by the construct.
const deployment = requireEnv(BROKER_ENV.deployment);
const { logger, audit, metrics, middlewares, beginInvocation } = createTokenObservability({ deployment });
const allowedCallers = parseAllowedCallersJson(process.env[BROKER_ENV.allowedCallers]);
const kms = createKmsClient();
const config = parseRuntimeConfig(JSON.parse(requireEnv(BROKER_ENV.runtimeConfig)), { source: BROKER_ENV.runtimeConfig });

/** Who makes the assertions: the broker's KMS key, or AWS STS outbound identity federation (config.signer). */
function assertionDeps(): AssertionDeps {
  if (config.signer === 'kms') {
    return { issuer: requireIssuer(BROKER_ENV.issuer), signer: new KmsSigner(kms, requireEnv(BROKER_ENV.signingKeyArn)) };
  }
  return {
    assertions: new StsAssertions(createStsClient(), {
      // AWS's issuer exactly as IAM reported it: Entra's credential names it as is, and it only feeds refusal hints.
      issuer: requireEnv(BROKER_ENV.issuer),
      subject: requireEnv(BROKER_ENV.assertionSubject),
      audience: config.audience,
      lifetimeSeconds: config.assertionLifetimeSeconds,
    }),
  };
}

export const { handler } = createTokenFunction({
  config,
  ...assertionDeps(),
  store: {
    sealed: new DynamoDbTokenStore(createDynamoDbClient(), requireEnv(BROKER_ENV.tableName)),
    dataKeys: new KmsDataKeys(kms, requireEnv(BROKER_ENV.tokenCacheKeyArn), deployment),
  },
  api: { apiId: requireEnv(BROKER_ENV.apiId), stage: requireEnv(BROKER_ENV.apiStage) },
  logger,
  audit,
  metrics,
  middlewares,
  beginInvocation,
  ...(allowedCallers ? { allowedCallers } : {}),
});

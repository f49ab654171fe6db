// Lambda entry for GET /token/{alias}. Clients, logger, metrics, key id and L1 cache live as long as the container.
import { parseAllowedCallersJson } from '../../contract/allowed-callers';
import { parseRuntimeConfig } from '../../contract/broker-config';
import { BROKER_ENV } from '../../contract/environment';
import { createDynamoDbClient, createKmsClient, createStsClient } from '../adapters/aws-clients';
import { DynamoDbTokenStore } from '../adapters/dynamodb-token-store';
import { KmsDataKeys } from '../adapters/kms-data-keys';
import { DynamoDbRotationStore } from '../adapters/dynamodb-rotation-store';
import { KmsKeySigner, kmsPublicJwk } from '../adapters/kms-signer';
import { KmsStateAuthenticator } from '../adapters/kms-state-authenticator';
import { StsAssertions } from '../adapters/sts-assertions';
import { createTokenObservability } from '../adapters/observability';
import { createTokenFunction } from '../composition/token-function';
import { parseKeyRotationSettingsJson } from '../../contract/key-rotation-state';
import { systemClock, type ClientAssertionSource } from '../core/ports';
import { AuthenticatedRotationStore } from '../core/authenticated-rotation-store';
import { rotatingAssertions } from '../core/rotating-assertions';
import { RotationStateReader, stateCacheSeconds } from '../core/rotation-state-reader';
import { requireEnv, requireIssuer } from './env';

// Log level and service name come from POWERTOOLS_LOG_LEVEL and POWERTOOLS_SERVICE_NAME, set by the construct.
const deployment = requireEnv(BROKER_ENV.deployment);
const observability = createTokenObservability({ deployment });
const { logger, metrics } = observability;
const allowedCallers = parseAllowedCallersJson(process.env[BROKER_ENV.allowedCallers]);
const kms = createKmsClient();
const dynamodb = createDynamoDbClient();
const tableName = requireEnv(BROKER_ENV.tableName);
const config = parseRuntimeConfig(JSON.parse(requireEnv(BROKER_ENV.runtimeConfig)), { source: BROKER_ENV.runtimeConfig });

/** Who makes the assertions: the broker's rotating KMS keys, or AWS STS outbound identity federation (config.signer). */
function assertionSource(): ClientAssertionSource {
  if (config.signer === 'aws-sts') {
    return new StsAssertions(createStsClient(), {
      // AWS's issuer exactly as IAM reported it: Entra's credential names it as is, and it only feeds refusal hints.
      issuer: requireEnv(BROKER_ENV.issuer),
      subject: requireEnv(BROKER_ENV.assertionSubject),
      audience: config.audience,
      lifetimeSeconds: config.assertionLifetimeSeconds,
    });
  }
  const settings = parseKeyRotationSettingsJson(requireEnv(BROKER_ENV.keyRotation));
  const stackKeyArn = requireEnv(BROKER_ENV.signingKeyArn);
  // The active key of the rotation state (kept per container a fifth of the lead, at most a minute); the stack's key
  // until the rotator first ran.
  return rotatingAssertions(
    {
      issuer: requireIssuer(BROKER_ENV.issuer),
      subject: config.subject,
      audience: config.audience,
      lifetimeSeconds: config.assertionLifetimeSeconds,
    },
    {
      state: new RotationStateReader({
        // Every state read is verified against its MAC (VerifyMac): a state the rotator did not write is never used.
        store: new AuthenticatedRotationStore({
          items: new DynamoDbRotationStore(dynamodb, tableName),
          authenticator: new KmsStateAuthenticator(kms, requireEnv(BROKER_ENV.rotationStateKeyArn)),
          logger,
          metrics,
          clock: systemClock,
        }),
        clock: systemClock,
        maxAgeMs: stateCacheSeconds(settings) * 1000,
        logger,
      }),
      signer: new KmsKeySigner(kms),
      clock: systemClock,
      bootstrap: { keyId: stackKeyArn, jwk: kmsPublicJwk(kms, stackKeyArn) },
    },
  );
}

export const handler = createTokenFunction({
  config,
  assertions: assertionSource(),
  store: {
    sealed: new DynamoDbTokenStore(dynamodb, tableName),
    dataKeys: new KmsDataKeys(kms, requireEnv(BROKER_ENV.tokenCacheKeyArn), deployment),
  },
  api: { apiId: requireEnv(BROKER_ENV.apiId), stage: requireEnv(BROKER_ENV.apiStage) },
  observability,
  ...(allowedCallers ? { allowedCallers } : {}),
});

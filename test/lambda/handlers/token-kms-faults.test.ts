/**
 * KMS faults as the caller of `GET /token/{alias}` sees them, on the token function as deployed: rotating assertions
 * signed by KmsKeySigner, the rotation state verified with KMS VerifyMac, Powertools middlewares. KMS has no emulator
 * here: the mock answers with real RSA signatures and real HMACs, and fails on demand the way the SDK does.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONFIG_DEFAULTS, parseBrokerConfig } from '../../../contract/broker-config';
import { KmsKeyService } from '../../../lambda/adapters/kms-key-service';
import { KmsKeySigner, kmsPublicJwk } from '../../../lambda/adapters/kms-signer';
import { KmsStateAuthenticator } from '../../../lambda/adapters/kms-state-authenticator';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { createTokenObservability } from '../../../lambda/adapters/observability';
import { createTokenFunction } from '../../../lambda/composition/token-function';
import { runKeyRotation } from '../../../lambda/core/key-rotation';
import type { Fetch } from '../../../lambda/core/ports';
import { rotatingAssertions } from '../../../lambda/core/rotating-assertions';
import { RotationStateReader } from '../../../lambda/core/rotation-state-reader';
import { httpEvent, jsonBody, lambdaContext, TEST_API } from '../../support/http-events';
import { ACTIVE_KEY_ARN, KMS_ERRORS, mockKms, ROTATION_STATE_KEY_ARN } from '../../support/kms-mock';
import { captureLogs } from '../../support/log-capture';
import { rotationStoreWorld } from '../../support/rotation-store';

const config = parseBrokerConfig({
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
}).runtime;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/**
 * A token function on mocked KMS. `rotated`: the rotator has run (adopting the stack key), so the state item exists
 * and is verified with VerifyMac; otherwise the stack key signs until it does.
 */
async function brokerOnKms(options: { rotated?: boolean } = {}) {
  const kms = mockKms();
  const clock = () => Date.now();
  const authenticator = new KmsStateAuthenticator(kms.client, ROTATION_STATE_KEY_ARN);
  const stores = rotationStoreWorld({ authenticator });
  if (options.rotated) {
    const keys = new KmsKeyService(kms.client, { deployment: 'TestStack/Broker', keyPolicy: '{}' });
    await runKeyRotation({
      keys,
      store: stores.store,
      settings: CONFIG_DEFAULTS.keyRotation,
      clock,
      logger: silent,
      adoptableKeyId: ACTIVE_KEY_ARN,
    });
  }
  let exchanges = 0;
  const fetch: Fetch = async () => {
    exchanges++;
    return new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: `header.payload${exchanges}.signature` }), {
      status: 200,
    });
  };
  const logs = captureLogs();
  const observability = createTokenObservability({ deployment: 'TestStack/Broker' });
  const handler = createTokenFunction({
    config,
    assertions: rotatingAssertions(
      {
        issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        subject: config.subject,
        audience: config.audience,
        lifetimeSeconds: config.assertionLifetimeSeconds,
      },
      {
        state: new RotationStateReader({ store: stores.another(), clock, maxAgeMs: 1000, logger: observability.logger }),
        signer: new KmsKeySigner(kms.client),
        clock,
        bootstrap: { keyId: ACTIVE_KEY_ARN, jwk: kmsPublicJwk(kms.client, ACTIVE_KEY_ARN) },
      },
    ),
    store: new MemoryTokenStore(),
    api: TEST_API,
    observability,
    fetch,
    sleep: async () => undefined,
  });
  return {
    kms,
    get: () => handler(httpEvent({ routeKey: 'GET /token/graph' }), lambdaContext()),
    exchanges: () => exchanges,
    logLines: logs.lines,
    logs,
  };
}

describe('KMS faults', () => {
  it('KMS throttling → 503 upstream_unavailable (kms); nothing cached; the next request signs and succeeds', async () => {
    const { kms, get, exchanges, logs } = await brokerOnKms();
    kms.failNext('Sign', KMS_ERRORS.throttling());

    const throttled = await get();
    expect(throttled.statusCode).toBe(503);
    expect(jsonBody(throttled)).toEqual({
      error: 'upstream_unavailable',
      upstream: 'kms',
      message: 'AWS KMS Sign is unavailable or throttling (ThrottlingException). Retry later.',
    });
    expect(exchanges()).toBe(0);
    expect(logs.metricEntries()).toMatchObject([{ UpstreamUnavailable: 1 }]);

    const recovered = await get();
    expect(recovered.statusCode).toBe(200);
    expect(exchanges()).toBe(1);
  });

  it('KMS access denied → 500 internal naming the refusal and what to check, without the ARN or SDK text', async () => {
    const { kms, get, logLines } = await brokerOnKms();
    kms.failNext('Sign', KMS_ERRORS.accessDenied());

    const denied = await get();
    expect(denied.statusCode).toBe(500);
    expect(jsonBody(denied)).toEqual({
      error: 'internal',
      message:
        "AWS KMS refused Sign with the broker's key (AccessDeniedException): check the key's state, its key policy and the function's role.",
    });
    expect(denied.body).not.toMatch(/arn:aws|not authorized/);
    // Operators get the SDK's own words in the log, where the ARN belongs.
    expect(logLines.join('\n')).toMatch(/AccessDeniedException: User: arn:aws:sts::/);
  });

  it('KMS unreachable for the public key (cold container) → 503; the kid is fetched again next time', async () => {
    const { kms, get } = await brokerOnKms();
    kms.failNext('GetPublicKey', KMS_ERRORS.internal());

    expect((await get()).statusCode).toBe(503);
    expect((await get()).statusCode).toBe(200);
    expect(kms.getPublicKeyInputs()).toHaveLength(2);
  });

  it('KMS unreachable for VerifyMac (cold container, rotation state present) → 503, not a refused state; then signs with its key', async () => {
    const { kms, get, logs } = await brokerOnKms({ rotated: true });
    kms.failNext('VerifyMac', KMS_ERRORS.throttling());

    const unavailable = await get();
    expect(unavailable.statusCode).toBe(503);
    expect(jsonBody(unavailable)).toMatchObject({
      upstream: 'kms',
      message: expect.stringMatching(/^AWS KMS VerifyMac is unavailable/) as string,
    });
    expect(logs.metricEntries().some((entry) => 'RotationStateRejected' in entry)).toBe(false);
    expect((await get()).statusCode).toBe(200);
    expect(kms.signInputs().map((input) => input.KeyId)).toEqual([ACTIVE_KEY_ARN]);
  });
});

/**
 * KMS faults as the caller of `GET /token/{alias}` sees them. KMS has no emulator here: the mock answers
 * with real RSA signatures, and fails on demand the way the SDK does.
 */
import { describe, expect, it } from 'vitest';
import { KmsKeySigner, kmsPublicJwk } from '../../../lambda/adapters/kms-signer';
import { rotatingAssertions } from '../../../lambda/core/rotating-assertions';
import { RotationStateReader } from '../../../lambda/core/rotation-state-reader';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { parseBrokerConfig } from '../../../contract/broker-config';
import type { Fetch } from '../../../lambda/core/ports';
import { TokenCache } from '../../../lambda/core/token-cache';
import { TokenService } from '../../../lambda/core/token-service';
import { createTokenHandler } from '../../../lambda/handlers/token';
import { httpEvent, jsonBody, lambdaContext, TEST_API } from '../../support/http-events';
import { ACTIVE_KEY_ARN, KMS_ERRORS, mockKms } from '../../support/kms-mock';
import { captureLogs } from '../../support/log-capture';
import { rotationStoreWorld } from '../../support/rotation-store';

const config = parseBrokerConfig({
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
}).runtime;

function brokerOnKms() {
  const kms = mockKms();
  let exchanges = 0;
  const fetch: Fetch = async () => {
    exchanges++;
    return new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: `header.payload${exchanges}.signature` }), {
      status: 200,
    });
  };
  const logs = captureLogs({ logLevel: 'INFO' });
  const { logger, lines: logLines } = logs;
  const clock = () => Date.now();
  const service = new TokenService({
    config,
    // As the token function before the rotator's first run: no state yet, the stack's key (its kid read from KMS).
    assertions: rotatingAssertions(
      {
        issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        subject: config.subject,
        audience: config.audience,
        lifetimeSeconds: config.assertionLifetimeSeconds,
      },
      {
        state: new RotationStateReader({ store: rotationStoreWorld().store, clock, maxAgeMs: 1000, logger }),
        signer: new KmsKeySigner(kms.client),
        clock,
        bootstrap: { keyId: ACTIVE_KEY_ARN, jwk: kmsPublicJwk(kms.client, ACTIVE_KEY_ARN) },
      },
    ),
    cache: new TokenCache({
      store: new MemoryTokenStore(),
      clock,
      logger,
      metrics: logs.metrics,
      refreshMarginSeconds: config.refreshMarginSeconds,
    }),
    clock,
    entra: { fetch, sleep: async () => undefined },
  });
  const handler = createTokenHandler({ service, api: TEST_API, logger, audit: logs.audit, metrics: logs.metrics, clock }).use(
    logs.middlewares,
  );
  return {
    kms,
    get: () => handler(httpEvent({ routeKey: 'GET /token/graph' }), lambdaContext()),
    exchanges: () => exchanges,
    logLines,
    logs,
  };
}

describe('KMS faults', () => {
  it('KMS throttling → 503 upstream_unavailable (kms); nothing cached; the next request signs and succeeds', async () => {
    const { kms, get, exchanges } = brokerOnKms();
    kms.failNext('Sign', KMS_ERRORS.throttling());

    const throttled = await get();
    expect(throttled.statusCode).toBe(503);
    expect(jsonBody(throttled)).toEqual({
      error: 'upstream_unavailable',
      upstream: 'kms',
      message: 'AWS KMS Sign is unavailable or throttling (ThrottlingException). Retry later.',
    });
    expect(exchanges()).toBe(0);

    const recovered = await get();
    expect(recovered.statusCode).toBe(200);
    expect(exchanges()).toBe(1);
  });

  it('KMS access denied → 500 internal naming the refusal and what to check, without the ARN or SDK text', async () => {
    const { kms, get, logLines } = brokerOnKms();
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
    const { kms, get } = brokerOnKms();
    kms.failNext('GetPublicKey', KMS_ERRORS.internal());

    expect((await get()).statusCode).toBe(503);
    expect((await get()).statusCode).toBe(200);
    expect(kms.getPublicKeyInputs()).toHaveLength(2);
  });
});

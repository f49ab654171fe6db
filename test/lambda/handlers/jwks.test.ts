import { generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { captureLogsForFile } from '../../support/log-capture';
import { createLogging } from '../../../lambda/adapters/observability';
import { KmsPublicKeys } from '../../../lambda/adapters/kms-signer';
import { fixedSigningKey } from '../../../lambda/adapters/local-key-signer';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { createJwksHandler } from '../../../lambda/handlers/jwks';
import { ACTIVE_KEY_ARN, KMS_ERRORS, mockKms } from '../../support/kms-mock';
import { httpEvent, jsonBody, lambdaContext } from '../../support/http-events';
import { rsaKeyPair } from '../../support/rsa-keys';
import { runKeyRotation } from '../../../lambda/core/key-rotation';
import { rotatingAssertions, rotationPublicKeys } from '../../../lambda/core/rotating-assertions';
import { jwksCacheControl, RotationStateReader } from '../../../lambda/core/rotation-state-reader';
import { FakeKeyService } from '../../support/fake-key-service';
import { rotationStoreWorld } from '../../support/rotation-store';

const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
captureLogsForFile(); // the lines, kept out of the test output
const { logger } = createLogging({ route: 'jwks' });

describe('GET /jwks', () => {
  it('answers 200 JSON, cacheable, with the active key and the next one, active first', async () => {
    const [active, next] = [await rsaPublicKeyToJwk(rsaKeyPair('active').publicKey), await rsaPublicKeyToJwk(rsaKeyPair('next').publicKey)];
    const times = { publishedAt: 1, activatesAt: 1 };
    const state = {
      keys: [
        { keyId: 'next', jwk: next, status: 'published', reason: 'schedule', ...times },
        { keyId: 'active', jwk: active, status: 'active', reason: 'initial', activatedAt: 1, ...times },
      ] as const,
    };
    const handler = createJwksHandler({ keys: rotationPublicKeys({ current: async () => state }), logger });
    const response = await handler(httpEvent({ routeKey: 'GET /jwks', caller: null }), lambdaContext());

    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'cache-control': expect.stringMatching(/^public, max-age=\d+$/),
    });
    expect(jsonBody(response)).toStrictEqual({
      keys: [await rsaPublicKeyToJwk(rsaKeyPair('active').publicKey), await rsaPublicKeyToJwk(rsaKeyPair('next').publicKey)],
    });
  });

  it("serves the rotation state's published keys (no key service call) with a Cache-Control inside the publish lead", async () => {
    const { store } = rotationStoreWorld();
    const keys = new FakeKeyService();
    const settings = { intervalSeconds: 86_400, publishLeadSeconds: 3_600, retireAfterSeconds: 300 };
    let nowMs = 1_800_000_000_000;
    const clock = () => nowMs;
    await runKeyRotation({ keys, store, settings, clock, logger });
    nowMs += (86_400 - 3_600) * 1000;
    await runKeyRotation({ keys, store, settings, clock, logger });
    const state = new RotationStateReader({ store, clock, maxAgeMs: 1000, logger });
    keys.beforeCall = () => {
      throw new Error('the JWKS must not call the key service');
    };
    const handler = createJwksHandler({ keys: rotationPublicKeys(state), cacheControl: jwksCacheControl(settings), logger });
    const response = await handler(httpEvent({ routeKey: 'GET /jwks', caller: null }), lambdaContext());
    expect(response.headers).toMatchObject({ 'cache-control': 'public, max-age=360' });
    const published = (await store.read()).state.keys.map((key) => key.jwk);
    expect(jsonBody(response)).toStrictEqual({ keys: published });
    expect(published).toHaveLength(2);
  });

  it('refuses a local key file that is not an RSA key when the runtime starts, instead of failing later', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(fixedSigningKey(ec, 'ec.pem', 0)).rejects.toThrow(
      new TypeError('signing key: expected an RSA private key of 2048 bits or more, received ec 0'),
    );
  });

  it('serves keys with which a verifier (as Entra does) checks an assertion the broker signed with its key file', async () => {
    const now = Date.UTC(2025, 5, 1, 12, 0, 0);
    const fixed = await fixedSigningKey(rsaKeyPair('active').privateKeyPem, 'signing-key.pem', now / 1000);
    const handler = createJwksHandler({ keys: rotationPublicKeys(fixed.state), logger });
    const response = await handler(httpEvent({ routeKey: 'GET /jwks', caller: null }), lambdaContext());
    const assertion = await rotatingAssertions(
      { issuer: ISSUER, subject: 'aws-token-broker', audience: 'api://AzureADTokenExchange', lifetimeSeconds: 300 },
      { ...fixed, clock: () => now },
    ).create();
    const jwks = createLocalJWKSet(jsonBody(response) as unknown as Parameters<typeof createLocalJWKSet>[0]);
    await expect(jwtVerify(assertion, jwks, { issuer: ISSUER, algorithms: ['RS256'], currentDate: new Date(now) })).resolves.toMatchObject({
      payload: { iss: ISSUER, sub: 'aws-token-broker' },
    });
  });

  it('answers 503 upstream_unavailable, not cacheable, when KMS throttles', async () => {
    const kms = mockKms();
    kms.failNext('GetPublicKey', KMS_ERRORS.throttling());
    const handler = createJwksHandler({ keys: new KmsPublicKeys(kms.client, [ACTIVE_KEY_ARN]), logger });
    const response = await handler(httpEvent({ routeKey: 'GET /jwks', caller: null }), lambdaContext());

    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(jsonBody(response)).toStrictEqual({
      error: 'upstream_unavailable',
      upstream: 'kms',
      message: 'AWS KMS GetPublicKey is unavailable or throttling (ThrottlingException). Retry later.',
    });
    expect(response.body).not.toContain(ACTIVE_KEY_ARN);
  });

  it('answers 503, not cacheable, when the rotation state item does not verify and none was verified before', async () => {
    const stores = rotationStoreWorld();
    await runKeyRotation({
      keys: new FakeKeyService(),
      store: stores.store,
      settings: { intervalSeconds: 100, publishLeadSeconds: 20, retireAfterSeconds: 10 },
      clock: () => 1_800_000_000_000,
      logger,
    });
    stores.items.put({ ...stores.items.item!, mac: undefined });
    const state = new RotationStateReader({ store: stores.another(), clock: () => 1_800_000_000_000, maxAgeMs: 1000, logger });
    const response = await createJwksHandler({ keys: rotationPublicKeys(state), logger })(
      httpEvent({ routeKey: 'GET /jwks', caller: null }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'cache-control': 'no-store' });
    expect(jsonBody(response)).toStrictEqual({
      error: 'upstream_unavailable',
      upstream: 'dynamodb',
      message: 'The published keys cannot be read now. Retry later.',
    });
    expect(stores.rejectedCount()).toBe(1);
  });
});

import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsKeySigner, KmsPublicKeys, kmsPublicJwk } from '../../../lambda/adapters/kms-signer';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { ACTIVE_KEY_ARN, KMS_ERRORS, NEXT_KEY_ARN, mockKms } from '../../support/kms-mock';

const signingInput = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhd3MtdG9rZW4tYnJva2VyIn0', 'ascii');

/** Secrets and internals that must never reach a BrokerError's message or JSON. */
function expectNoInternals(error: unknown): void {
  const seen = JSON.stringify({ message: (error as Error).message, json: (error as { toJSON(): unknown }).toJSON() });
  expect(seen).not.toContain(ACTIVE_KEY_ARN);
  expect(seen).not.toContain('111122223333');
  expect(seen).not.toContain('is not authorized to perform');
}

describe('KmsKeySigner and kmsPublicJwk', () => {
  it('signs with RS256 so that the public key verifies the signature over the signing input', async () => {
    const kms = mockKms();
    const signature = await new KmsKeySigner(kms.client).sign(ACTIVE_KEY_ARN, signingInput);
    const verifier = createVerify('RSA-SHA256').update(signingInput);
    expect(verifier.verify(kms.keyPair(ACTIVE_KEY_ARN).publicKey, Buffer.from(signature))).toBe(true);
  });

  it('signs with the key it is given, each call with that key', async () => {
    const kms = mockKms({ withNextKey: true });
    const signer = new KmsKeySigner(kms.client);
    const next = await signer.sign(NEXT_KEY_ARN, signingInput);
    expect(createVerify('RSA-SHA256').update(signingInput).verify(kms.keyPair(NEXT_KEY_ARN).publicKey, Buffer.from(next))).toBe(true);
    expect(createVerify('RSA-SHA256').update(signingInput).verify(kms.keyPair(ACTIVE_KEY_ARN).publicKey, Buffer.from(next))).toBe(false);
    expect(kms.signInputs().map((input) => input.KeyId)).toStrictEqual([NEXT_KEY_ARN]);
  });

  it('fetches the public key once however often the kid is asked for', async () => {
    const kms = mockKms();
    const jwk = kmsPublicJwk(kms.client, ACTIVE_KEY_ARN);
    const kids = (await Promise.all([jwk(), jwk(), jwk()])).map((key) => key.kid);
    kids.push((await jwk()).kid);

    expect(new Set(kids)).toStrictEqual(new Set([(await rsaPublicKeyToJwk(kms.keyPair(ACTIVE_KEY_ARN).publicKey)).kid]));
    expect(kms.getPublicKeyInputs()).toStrictEqual([{ KeyId: ACTIVE_KEY_ARN }]);
  });

  it('tries GetPublicKey again after a failure instead of remembering it', async () => {
    const kms = mockKms();
    kms.failNext('GetPublicKey', KMS_ERRORS.throttling());
    const jwk = kmsPublicJwk(kms.client, ACTIVE_KEY_ARN);

    await expect(jwk()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    await expect(jwk()).resolves.toMatchObject({ kid: expect.stringMatching(/^[\w-]{43}$/) as string });
    expect(kms.getPublicKeyInputs()).toHaveLength(2);
  });

  it.each([
    ['ThrottlingException', KMS_ERRORS.throttling],
    ['KMSInternalException', KMS_ERRORS.internal],
  ])('maps %s on Sign to 503 upstream_unavailable (kms)', async (name, makeError) => {
    const kms = mockKms();
    kms.failNext('Sign', makeError());
    const failure = new KmsKeySigner(kms.client).sign(ACTIVE_KEY_ARN, signingInput);
    await expect(failure).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      upstream: 'kms',
      message: `AWS KMS Sign is unavailable or throttling (${name}). Retry later.`,
    });
    expectNoInternals(await failure.catch((e: unknown) => e));
  });

  it('maps a network failure (no HTTP status) on Sign to upstream_unavailable', async () => {
    const kms = mockKms();
    kms.failNext('Sign', Object.assign(new Error('connect ETIMEDOUT 52.94.1.1:443'), { name: 'TimeoutError' }));
    await expect(new KmsKeySigner(kms.client).sign(ACTIVE_KEY_ARN, signingInput)).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      message: expect.stringMatching(/\(TimeoutError\)/),
    });
  });

  it('maps AccessDeniedException to 500 internal naming the error, but neither the ARN nor the SDK message', async () => {
    const kms = mockKms();
    kms.failNext('Sign', KMS_ERRORS.accessDenied());
    const failure = new KmsKeySigner(kms.client).sign(ACTIVE_KEY_ARN, signingInput);
    await expect(failure).rejects.toMatchObject({
      statusCode: 500,
      code: 'internal',
      message:
        "AWS KMS refused Sign with the broker's key (AccessDeniedException): check the key's state, its key policy and the function's role.",
    });
    const error = await failure.catch((e: unknown) => e);
    expectNoInternals(error);
    // Operators still find the SDK error in the cause (logged, never answered).
    expect((error as Error).cause).toMatchObject({ name: 'AccessDeniedException' });
  });

  it('maps AccessDeniedException on GetPublicKey (the kid) to 500 internal', async () => {
    const kms = mockKms();
    kms.failNext('GetPublicKey', KMS_ERRORS.accessDenied());
    await expect(kmsPublicJwk(kms.client, ACTIVE_KEY_ARN)()).rejects.toMatchObject({
      statusCode: 500,
      code: 'internal',
      message: expect.stringMatching(/^AWS KMS refused GetPublicKey .*\(AccessDeniedException\)/),
    });
  });

  it('refuses a key that is not RSA (ECC_NIST_P256) with 500 internal', async () => {
    const kms = mockKms();
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    kms.addKey(ACTIVE_KEY_ARN, { keySpec: 'ECC_NIST_P256', publicKeyDer: ec });
    await expect(kmsPublicJwk(kms.client, ACTIVE_KEY_ARN)()).rejects.toMatchObject({
      statusCode: 500,
      code: 'internal',
      message: expect.stringMatching(/is not an RSA SIGN_VERIFY key supporting RSASSA_PKCS1_V1_5_SHA_256 \(KeySpec ECC_NIST_P256\)/),
    });
  });
});

describe('KmsPublicKeys', () => {
  it('publishes every configured key, in order, each fetched once', async () => {
    const kms = mockKms({ withNextKey: true });
    const source = new KmsPublicKeys(kms.client, [ACTIVE_KEY_ARN, NEXT_KEY_ARN]);
    const keys = await source.publicKeys();
    await source.publicKeys();

    expect(keys).toStrictEqual([
      await rsaPublicKeyToJwk(kms.keyPair(ACTIVE_KEY_ARN).publicKey),
      await rsaPublicKeyToJwk(kms.keyPair(NEXT_KEY_ARN).publicKey),
    ]);
    expect(kms.getPublicKeyInputs()).toStrictEqual([{ KeyId: ACTIVE_KEY_ARN }, { KeyId: NEXT_KEY_ARN }]);
  });

  it('tries again after a failed fetch', async () => {
    const kms = mockKms({ withNextKey: true });
    kms.failNext('GetPublicKey', KMS_ERRORS.internal());
    const source = new KmsPublicKeys(kms.client, [ACTIVE_KEY_ARN, NEXT_KEY_ARN]);
    await expect(source.publicKeys()).rejects.toMatchObject({ code: 'upstream_unavailable', upstream: 'kms' });
    await expect(source.publicKeys()).resolves.toHaveLength(2);
  });
});

import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { KmsKeySigner, KmsPublicKeys, kmsPublicJwk } from '../../../lambda/adapters/kms-signer';
import { createClientAssertion, type AssertionClaimsInput } from '../../../lambda/core/assertion';
import { jwksDocument } from '../../../lambda/core/discovery';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { ACTIVE_KEY_ARN, NEXT_KEY_ARN, mockKms } from '../../support/kms-mock';

const NOW_MS = Date.UTC(2025, 5, 1, 12, 0, 0, 456);
const NOW_S = Math.floor(NOW_MS / 1000);
const clock = () => NOW_MS;

const input: AssertionClaimsInput = {
  issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  subject: 'aws-token-broker',
  audience: 'api://AzureADTokenExchange',
  lifetimeSeconds: 300,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const decodePart = (jwt: string, index: number): unknown =>
  JSON.parse(Buffer.from(jwt.split('.')[index] ?? '', 'base64url').toString('utf8'));

/** The assertion deps as the token function has them: KMS signs with the key the rotation state names active. */
async function setup() {
  const kms = mockKms();
  const key = { keyId: ACTIVE_KEY_ARN, kid: (await kmsPublicJwk(kms.client, ACTIVE_KEY_ARN)()).kid };
  return { kms, deps: { key, signer: new KmsKeySigner(kms.client), clock } };
}

describe('createClientAssertion', () => {
  it('has exactly the header {alg: RS256, typ: JWT, kid} with the kid of the active KMS key', async () => {
    const { kms, deps } = await setup();
    const jwt = await createClientAssertion(input, deps);
    const expectedKid = (await rsaPublicKeyToJwk(kms.keyPair(ACTIVE_KEY_ARN).publicKey)).kid;
    expect(decodePart(jwt, 0)).toStrictEqual({ alg: 'RS256', typ: 'JWT', kid: expectedKid });
  });

  it('carries iss, sub, aud, iat, nbf, exp and jti, with exp - iat = the configured lifetime', async () => {
    const { deps } = await setup();
    const jwt = await createClientAssertion({ ...input, lifetimeSeconds: 120 }, { ...deps, newJti: () => 'jti-1' });
    expect(decodePart(jwt, 1)).toStrictEqual({
      iss: input.issuer,
      sub: input.subject,
      aud: input.audience,
      iat: NOW_S,
      nbf: NOW_S,
      exp: NOW_S + 120,
      jti: 'jti-1',
    });
  });

  it('uses a fresh UUID jti for every assertion', async () => {
    const { deps } = await setup();
    const jtis = await Promise.all(
      [1, 2, 3].map(async () => (decodePart(await createClientAssertion(input, deps), 1) as { jti: string }).jti),
    );
    for (const jti of jtis) expect(jti).toMatch(UUID);
    expect(new Set(jtis).size).toBe(3);
  });

  it('is signed through KMS so that it verifies against the JWKS the broker serves', async () => {
    const { kms, deps } = await setup();
    const jwt = await createClientAssertion(input, deps);
    const jwks = createLocalJWKSet(jwksDocument(await new KmsPublicKeys(kms.client, [ACTIVE_KEY_ARN]).publicKeys()));

    const { payload, protectedHeader } = await jwtVerify(jwt, jwks, {
      issuer: input.issuer,
      audience: input.audience,
      subject: input.subject,
      algorithms: ['RS256'],
      currentDate: new Date(NOW_MS),
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.exp).toBe(NOW_S + 300);
  });

  it('does not verify against a JWKS that only holds another key (the signature is bound to the active key)', async () => {
    const kms = mockKms({ withNextKey: true });
    const key = { keyId: ACTIVE_KEY_ARN, kid: (await kmsPublicJwk(kms.client, ACTIVE_KEY_ARN)()).kid };
    const jwt = await createClientAssertion(input, { key, signer: new KmsKeySigner(kms.client), clock });
    const onlyNext = jwksDocument(await new KmsPublicKeys(kms.client, [NEXT_KEY_ARN]).publicKeys());
    // Give the next key the assertion's kid, so the verifier really checks the signature with the wrong key.
    const kid = decodeProtectedHeader(jwt).kid;
    const forged = { keys: onlyNext.keys.map((key) => ({ ...key, kid: kid ?? '' })) };

    await expect(jwtVerify(jwt, createLocalJWKSet(forged), { algorithms: ['RS256'], currentDate: new Date(NOW_MS) })).rejects.toMatchObject(
      { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', message: expect.stringMatching(/signature verification failed/) },
    );
  });

  it('is rejected by a verifier once exp has passed (the lifetime is real)', async () => {
    const { kms, deps } = await setup();
    const jwt = await createClientAssertion(input, deps);
    const jwks = createLocalJWKSet(jwksDocument(await new KmsPublicKeys(kms.client, [ACTIVE_KEY_ARN]).publicKeys()));
    await expect(jwtVerify(jwt, jwks, { algorithms: ['RS256'], currentDate: new Date(NOW_MS + 301_000) })).rejects.toMatchObject({
      code: 'ERR_JWT_EXPIRED',
      message: expect.stringMatching(/"exp" claim timestamp check failed/),
    });
  });

  it('sends KMS only the SHA-256 digest of the signing input (MessageType DIGEST), never the input itself', async () => {
    const { kms, deps } = await setup();
    const jwt = await createClientAssertion(input, deps);
    const signingInput = jwt.split('.').slice(0, 2).join('.');
    const expectedDigest = createHash('sha256').update(signingInput, 'ascii').digest();

    const sent = kms.signInputs();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ KeyId: ACTIVE_KEY_ARN, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' });
    const message = Buffer.from(sent[0]?.Message ?? new Uint8Array());
    expect(message.toString('hex')).toBe(expectedDigest.toString('hex'));
    // Every call KMS received (GetPublicKey and Sign), as text and as bytes: no header, no claims.
    const everythingSent = kms.stub.calls().map((call) => call.args[0].input);
    expect(JSON.stringify(everythingSent)).not.toContain(jwt.split('.')[1]);
    for (const sentInput of everythingSent) {
      const bytes = 'Message' in sentInput && sentInput.Message ? Buffer.from(sentInput.Message) : Buffer.alloc(0);
      expect(bytes.includes(Buffer.from(signingInput))).toBe(false);
    }
  });

  it('propagates a signer failure instead of producing an unsigned assertion', async () => {
    const signer = { sign: async () => Promise.reject(new Error('KMS down')) };
    await expect(createClientAssertion(input, { key: { keyId: 'k', kid: 'kid' }, signer, clock })).rejects.toMatchObject({
      message: expect.stringMatching(/KMS down/),
    });
  });
});

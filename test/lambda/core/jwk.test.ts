import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { jwksDocument } from '../../../lambda/core/discovery';
import { rsaPublicKeyToJwk } from '../../../lambda/core/jwk';
import { rsaKeyPair } from '../../support/rsa-keys';

/** RFC 7638 thumbprint, computed here independently: SHA-256 over the exact JSON {"e","kty","n"} in that order. */
function rfc7638Thumbprint(n: string, e: string): string {
  return createHash('sha256').update(`{"e":"${e}","kty":"RSA","n":"${n}"}`).digest('base64url');
}

describe('rsaPublicKeyToJwk', () => {
  it('publishes n and e of the key, use sig, alg RS256, and kid = its RFC 7638 thumbprint', async () => {
    const { publicKey } = rsaKeyPair('active');
    const exported = publicKey.export({ format: 'jwk' });
    const jwk = await rsaPublicKeyToJwk(publicKey);
    expect(jwk).toStrictEqual({
      kty: 'RSA',
      use: 'sig',
      alg: 'RS256',
      kid: rfc7638Thumbprint(exported.n ?? '', exported.e ?? ''),
      n: exported.n,
      e: 'AQAB',
    });
  });

  it('gives the same kid for the same key across calls and for DER (as KMS returns it) and KeyObject input', async () => {
    const pair = rsaKeyPair('active');
    const fromKeyObject = await rsaPublicKeyToJwk(pair.publicKey);
    const fromDer = await rsaPublicKeyToJwk(new Uint8Array(pair.spkiDer));
    const again = await rsaPublicKeyToJwk(pair.publicKey);
    expect(fromDer).toStrictEqual(fromKeyObject);
    expect(again.kid).toBe(fromKeyObject.kid);
  });

  it('gives different keys different kids', async () => {
    const active = await rsaPublicKeyToJwk(rsaKeyPair('active').publicKey);
    const next = await rsaPublicKeyToJwk(rsaKeyPair('next').publicKey);
    expect(next.kid).not.toBe(active.kid);
  });

  it('refuses an EC key, as KeyObject or DER, with a TypeError naming the key type', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expect(rsaPublicKeyToJwk(publicKey)).rejects.toThrow(new TypeError('expected an RSA public key, received ec'));
    await expect(rsaPublicKeyToJwk(publicKey.export({ type: 'spki', format: 'der' }))).rejects.toThrow(
      new TypeError('expected an RSA public key, received ec'),
    );
  });
});

describe('jwksDocument', () => {
  it('lists the active and the next key, active first, each with use and alg', async () => {
    const active = await rsaPublicKeyToJwk(rsaKeyPair('active').publicKey);
    const next = await rsaPublicKeyToJwk(rsaKeyPair('next').publicKey);
    const { keys } = jwksDocument([active, next]);
    expect(keys.map((k) => k.kid)).toStrictEqual([active.kid, next.kid]);
    for (const key of keys) expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
  });

  it('lists a key given twice (same kid) once', async () => {
    const active = await rsaPublicKeyToJwk(rsaKeyPair('active').publicKey);
    const next = await rsaPublicKeyToJwk(rsaKeyPair('next').publicKey);
    const { keys } = jwksDocument([active, next, { ...active }]);
    expect(keys.map((k) => k.kid)).toStrictEqual([active.kid, next.kid]);
  });
});

import { createPublicKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { PublishedJwk } from '../../contract/key-rotation-state';

/**
 * Turns an RSA public key (the DER SubjectPublicKeyInfo that KMS `GetPublicKey` returns, or a KeyObject)
 * into the JWK the broker publishes, with `kid` = RFC 7638 SHA-256 thumbprint, so the kid is stable for
 * a key and changes exactly when the key does.
 * @throws TypeError when the key is not RSA
 */
export async function rsaPublicKeyToJwk(key: Uint8Array | KeyObject): Promise<PublishedJwk> {
  const keyObject = key instanceof Uint8Array ? createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' }) : key;
  if (keyObject.asymmetricKeyType !== 'rsa') {
    throw new TypeError(`expected an RSA public key, received ${keyObject.asymmetricKeyType ?? 'unknown'}`);
  }
  const { n, e } = keyObject.export({ format: 'jwk' });
  if (!n || !e) throw new TypeError('RSA public key without modulus or exponent');
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n, e }, 'sha256');
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n, e };
}

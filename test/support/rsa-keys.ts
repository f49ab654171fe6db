/**
 * Real RSA-2048 key pairs for tests. Vitest evaluates this module once per test file, so each file
 * generates a named key at most once however many tests use it.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface RsaKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 PEM, as the local runtime's key file holds it. */
  readonly privateKeyPem: string;
  /** DER SubjectPublicKeyInfo, as KMS GetPublicKey answers it. */
  readonly spkiDer: Buffer;
}

const pairs = new Map<string, RsaKeyPair>();

/** The RSA-2048 key pair called `name` in this test file (e.g. 'active', 'next'); generated on first use. */
export function rsaKeyPair(name = 'active'): RsaKeyPair {
  let pair = pairs.get(name);
  if (!pair) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pair = {
      privateKey,
      publicKey,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    };
    pairs.set(name, pair);
  }
  return pair;
}

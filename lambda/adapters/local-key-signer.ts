/**
 * A fixed signing key (the local runtime's `signingKeyFile`) as what every other signer is: a rotation state with one
 * active key, and a `KeySigner` for it. The assertions and the JWKS then come from the same code as in a deployment
 * (lambda/core/rotating-assertions.ts).
 */
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import type { RotationState } from '../../contract/key-rotation-state';
import { InternalError } from '../core/errors';
import { rsaPublicKeyToJwk } from '../core/jwk';
import type { KeySigner, RotationStateSource } from '../core/ports';

export interface FixedSigningKey {
  /** A state whose only key is this one, active. */
  readonly state: RotationStateSource;
  readonly signer: KeySigner;
}

/** Signs with one RSA private key held in memory, known by `keyId`. */
class SingleKeySigner implements KeySigner {
  constructor(
    private readonly keyId: string,
    private readonly privateKey: KeyObject,
  ) {}

  /** @throws InternalError when asked for any other key (a bug: the state names only this one) */
  async sign(keyId: string, signingInput: Uint8Array): Promise<Uint8Array> {
    if (keyId !== this.keyId) throw new InternalError(`The local signer holds only the key ${this.keyId}, not ${keyId}.`);
    return sign('sha256', signingInput, this.privateKey);
  }
}

/**
 * The key in `privateKeyPem` as a one-key rotation state, active since `activatedAt` (unix seconds).
 * @param keyId what the state calls the key (the key file's name)
 * @throws TypeError when the PEM is not an RSA private key of at least 2048 bits
 */
export async function fixedSigningKey(privateKeyPem: string, keyId: string, activatedAt: number): Promise<FixedSigningKey> {
  const privateKey = createPrivateKey(privateKeyPem);
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (privateKey.asymmetricKeyType !== 'rsa' || bits < 2048) {
    throw new TypeError(`signing key: expected an RSA private key of 2048 bits or more, received ${privateKey.asymmetricKeyType} ${bits}`);
  }
  const state: RotationState = {
    keys: [
      {
        keyId,
        jwk: await rsaPublicKeyToJwk(createPublicKey(privateKey)),
        status: 'active',
        reason: 'initial',
        publishedAt: activatedAt,
        activatesAt: activatedAt,
        activatedAt,
      },
    ],
  };
  return { state: { current: () => Promise.resolve(state) }, signer: new SingleKeySigner(keyId, privateKey) };
}

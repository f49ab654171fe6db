import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { rsaPublicKeyToJwk } from '../core/jwk';
import type { AssertionSigner, PublicKeySource, RsaPublicJwk } from '../core/ports';

/**
 * Signs with an RSA private key held in memory (the local runtime's key file) instead of KMS; also the
 * JWKS source, publishing that key and any extra public keys (to rehearse a rotation locally).
 */
export class LocalKeySigner implements AssertionSigner, PublicKeySource {
  private readonly privateKey: KeyObject;
  private readonly jwk: Promise<RsaPublicJwk>;
  private readonly extra: Promise<RsaPublicJwk[]>;

  /** @throws TypeError when the PEM is not an RSA private key of at least 2048 bits, or an extra key is not RSA */
  constructor(privateKeyPem: string, extraPublicKeys: readonly KeyObject[] = []) {
    this.privateKey = createPrivateKey(privateKeyPem);
    const bits = this.privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (this.privateKey.asymmetricKeyType !== 'rsa' || bits < 2048) {
      throw new TypeError(
        `signing key: expected an RSA private key of 2048 bits or more, received ${this.privateKey.asymmetricKeyType} ${bits}`,
      );
    }
    // Checked here: a rejected promise nobody awaits yet would crash the process (unhandled rejection).
    for (const key of extraPublicKeys) {
      if (key.asymmetricKeyType !== 'rsa')
        throw new TypeError(`extra public key: expected an RSA public key, received ${key.asymmetricKeyType}`);
    }
    this.jwk = rsaPublicKeyToJwk(createPublicKey(this.privateKey));
    this.extra = Promise.all(extraPublicKeys.map((key) => rsaPublicKeyToJwk(key)));
  }

  async keyId(): Promise<string> {
    return (await this.jwk).kid;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', signingInput, this.privateKey);
  }

  async publicKeys(): Promise<readonly RsaPublicJwk[]> {
    return [await this.jwk, ...(await this.extra)];
  }
}

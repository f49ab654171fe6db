import { createHash } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { InternalError } from '../core/errors';
import { rsaPublicKeyToJwk } from '../core/jwk';
import type { PublishedJwk } from '../../contract/key-rotation-state';
import type { KeySigner, PublicKeySource } from '../core/ports';
import { KMS_SIGNING_ALGORITHM } from '../../contract/aws-names';
import { kmsError } from './kms-errors';

/**
 * Fetches a KMS key's public half as a JWK and checks it can make the broker's signatures.
 * @throws InternalError when the key is not an RSA signing key that supports RS256
 */
export async function fetchPublicJwk(kms: KMSClient, keyId: string): Promise<PublishedJwk> {
  let output;
  try {
    output = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  } catch (error) {
    throw kmsError(error, 'GetPublicKey');
  }
  if (!output.PublicKey || !output.KeySpec?.startsWith('RSA_') || !output.SigningAlgorithms?.includes(KMS_SIGNING_ALGORITHM)) {
    throw new InternalError(
      `A configured KMS key is not an RSA SIGN_VERIFY key supporting ${KMS_SIGNING_ALGORITHM} (KeySpec ${output.KeySpec ?? 'unknown'}); check the keys given to the TokenBroker construct.`,
    );
  }
  return rsaPublicKeyToJwk(output.PublicKey);
}

/** Memoises a promise, but forgets a failure so the next call tries again. */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= load().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/**
 * Signs with whichever KMS key the rotation state names (`KeySigner`): `Sign` (RS256) with `MessageType: DIGEST` over
 * the SHA-256 of the signing input, so the input itself never leaves the function.
 */
export class KmsKeySigner implements KeySigner {
  constructor(private readonly kms: KMSClient) {}

  /** @throws UpstreamUnavailableError (KMS throttling/unavailable) or InternalError (KMS refused) */
  async sign(keyArn: string, signingInput: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(signingInput).digest();
    try {
      const output = await this.kms.send(
        new SignCommand({ KeyId: keyArn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: KMS_SIGNING_ALGORITHM }),
      );
      if (!output.Signature) throw new InternalError('AWS KMS Sign returned no signature.');
      return output.Signature;
    } catch (error) {
      throw error instanceof InternalError ? error : kmsError(error, 'Sign');
    }
  }
}

/** A key's public half as a JWK, read once (and again after a failure). */
export function kmsPublicJwk(kms: KMSClient, keyArn: string): () => Promise<PublishedJwk> {
  return once(() => fetchPublicJwk(kms, keyArn));
}

/** The JWKS keys from KMS: the active key and any others kept for rotation, fetched once per container. */
export class KmsPublicKeys implements PublicKeySource {
  readonly publicKeys: () => Promise<readonly PublishedJwk[]>;

  constructor(kms: KMSClient, keyArns: readonly string[]) {
    this.publicKeys = once(() => Promise.all(keyArns.map((arn) => fetchPublicJwk(kms, arn))));
  }
}

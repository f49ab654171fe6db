import { randomUUID } from 'node:crypto';
import type { Clock, KeySigner } from './ports';

export interface AssertionClaimsInput {
  /** The broker's issuer URL; equals the discovery document's `issuer`. */
  readonly issuer: string;
  /** Must equal the federated credential's subject. */
  readonly subject: string;
  /** Must equal one of the federated credential's audiences. */
  readonly audience: string;
  readonly lifetimeSeconds: number;
}

/** The key an assertion is signed with: its id in the key service, and its `kid` as the JWKS publishes it. */
export interface AssertionKey {
  readonly keyId: string;
  readonly kid: string;
}

export interface AssertionDeps {
  readonly key: AssertionKey;
  readonly signer: KeySigner;
  readonly clock: Clock;
  /** @default crypto.randomUUID */
  readonly newJti?: () => string;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Builds and signs the client assertion Entra receives: header `{alg: RS256, typ: JWT, kid}`, claims
 * iss/sub/aud/iat/nbf/exp and a fresh `jti`, signed by `key`.
 * @throws whatever the signer throws (the KMS adapter throws BrokerErrors)
 */
export async function createClientAssertion(input: AssertionClaimsInput, deps: AssertionDeps): Promise<string> {
  const iat = Math.floor(deps.clock() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid: deps.key.kid };
  const claims = {
    iss: input.issuer,
    sub: input.subject,
    aud: input.audience,
    iat,
    nbf: iat,
    exp: iat + input.lifetimeSeconds,
    jti: (deps.newJti ?? randomUUID)(),
  };
  const signingInput = `${encode(header)}.${encode(claims)}`;
  const signature = await deps.signer.sign(deps.key.keyId, Buffer.from(signingInput, 'ascii'));
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

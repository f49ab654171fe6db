/**
 * The access tokens the emulator issues: real RS256 JWTs signed with a key generated at start, shaped like the
 * v1.0 app-only tokens Entra issues for Microsoft Graph, verifiable against `GET /{tenant}/discovery/v2.0/keys`.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import type { EntraAppRegistration } from './options';

/** Entra's success answer of the token endpoint. */
export interface TokenAnswer {
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly ext_expires_in: number;
  readonly access_token: string;
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly kid: string;
  readonly publicJwk: Readonly<Record<string, string>>;
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' });
  if (n === undefined || e === undefined) throw new Error('RSA public key export lacks n or e');
  // RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
  const kid = createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
  return { privateKey, kid, publicJwk: { kty: 'RSA', use: 'sig', kid, n, e } };
}

/** Entra reads only form bodies: anything else reads as no parameters (hence AADSTS900144 'grant_type'). */

export interface IssueTokenInput {
  readonly app: EntraAppRegistration;
  /** The resource (the scope without `/.default`): the token's `aud`. */
  readonly resource: string;
  /** The service principal's object id: `oid` and `sub`. */
  readonly objectId: string;
  readonly nowMs: number;
  readonly lifetimeSeconds: number;
  readonly signingKey: SigningKey;
}

/** Signs an app-only access token for `app` and wraps it in Entra's success answer. */
export function issueAccessToken(input: IssueTokenInput): TokenAnswer {
  const { app, resource, objectId, signingKey } = input;
  const issuedAt = Math.floor(input.nowMs / 1000);
  const lifetime = input.lifetimeSeconds;
  const issuer = `https://sts.windows.net/${app.tenantId}/`;
  // A v1.0 app-only token, as Entra issues for Graph and most first-party resources (aud = resource URI).
  const claims = {
    aud: resource,
    iss: issuer,
    iat: issuedAt,
    nbf: issuedAt,
    exp: issuedAt + lifetime,
    appid: app.clientId,
    appidacr: '2', // 2 = authenticated with a certificate or client assertion
    idp: issuer,
    idtyp: 'app',
    oid: objectId,
    ...(app.roles && app.roles.length > 0 ? { roles: [...app.roles] } : {}),
    sub: objectId,
    tid: app.tenantId,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  };
  const accessToken = jsonwebtoken.sign(claims, signingKey.privateKey, { algorithm: 'RS256', keyid: signingKey.kid });
  return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
}

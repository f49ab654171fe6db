/**
 * Checks a client assertion the way Entra ID checks a federated credential, in Entra's order: shape and
 * algorithm, issuer match, the issuer's OIDC discovery and JWKS (fetched for real), RS256 signature,
 * subject, audience, time range. Uses `jsonwebtoken` and `node:crypto`, never `jose`, so the emulator and
 * the broker (which signs with jose) are independent implementations that check each other.
 */

import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { EntraRefusal, refuse } from './aadsts';

/** A federated identity credential on an app registration (Graph `federatedIdentityCredential`). */
export interface FederatedCredential {
  readonly issuer: string;
  readonly subject: string;
  readonly audiences: readonly string[];
}

export interface AssertionCheck {
  readonly nowMs: number;
  /** Tolerance on nbf/exp/iat, in seconds. */
  readonly clockSkewSeconds: number;
  /** Upper bound for each discovery/JWKS fetch. */
  readonly fetchTimeoutMs: number;
  /** Aborts in-flight fetches when the emulator closes. */
  readonly signal: AbortSignal;
}

/** What the rest of the exchange needs from a verified assertion. */
export interface VerifiedAssertion {
  readonly issuer: string;
  readonly subject: string;
  readonly jti: string | undefined;
  /** Unix seconds; 0 when absent. */
  readonly expiresAt: number;
}

interface AssertionClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: readonly string[];
  readonly exp: number | undefined;
  readonly nbf: number | undefined;
  readonly iat: number | undefined;
  readonly jti: string | undefined;
}

interface DecodedAssertion {
  readonly kid: string;
  readonly claims: AssertionClaims;
}

/**
 * Verifies `assertion` against the app's federated credentials.
 * @throws EntraRefusal with Entra's code for the first check that fails
 */
export async function verifyClientAssertion(
  assertion: string,
  credentials: readonly FederatedCredential[],
  check: AssertionCheck,
): Promise<VerifiedAssertion> {
  const { kid, claims } = decodeAssertion(assertion);
  const sameIssuer = credentials.filter((credential) => credential.issuer === claims.iss);
  if (sameIssuer.length === 0) throw refuse.noIssuerMatch(claims.iss);

  const key = await fetchIssuerKey(claims.iss, kid, check);
  verifySignature(assertion, key);

  const sameSubject = sameIssuer.filter((credential) => credential.subject === claims.sub);
  if (sameSubject.length === 0) throw refuse.noSubjectMatch(claims.sub);
  if (!sameSubject.some((credential) => claims.aud.some((aud) => credential.audiences.includes(aud)))) {
    throw refuse.noAudienceMatch(claims.aud.join(', '));
  }
  checkTimeRange(claims, check);
  return { issuer: claims.iss, subject: claims.sub, jti: claims.jti, expiresAt: claims.exp ?? 0 };
}

/** @throws EntraRefusal AADSTS50027 (not a JWT, bad claim types, no kid) or AADSTS5002730 (alg other than RS256) */
function decodeAssertion(assertion: string): DecodedAssertion {
  let decoded: jsonwebtoken.Jwt | null;
  try {
    decoded = jsonwebtoken.decode(assertion, { complete: true });
  } catch {
    decoded = null;
  }
  if (!decoded || typeof decoded.payload !== 'object') {
    throw refuse.malformedAssertion('not a JWS compact serialization with a JSON claims set');
  }
  const { header, payload } = decoded;
  if (header.alg !== 'RS256') throw refuse.unsupportedSigningAlgorithm(header.alg);
  // Entra finds the issuer's key by kid; without one there is nothing to look up.
  if (typeof header.kid !== 'string' || header.kid === '') throw refuse.malformedAssertion('header has no "kid"');
  return { kid: header.kid, claims: readClaims(payload) };
}

function readClaims(payload: jsonwebtoken.JwtPayload): AssertionClaims {
  const { iss, sub, aud, exp, nbf, iat, jti } = payload;
  if (typeof iss !== 'string' || iss === '') throw refuse.malformedAssertion('claim "iss" is missing or not a string');
  if (typeof sub !== 'string' || sub === '') throw refuse.malformedAssertion('claim "sub" is missing or not a string');
  const audiences = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string')) {
    throw refuse.malformedAssertion('claim "aud" is missing or not a string (array)');
  }
  for (const [name, value] of Object.entries({ exp, nbf, iat })) {
    if (value !== undefined && typeof value !== 'number') throw refuse.malformedAssertion(`claim "${name}" is not a number`);
  }
  if (jti !== undefined && typeof jti !== 'string') throw refuse.malformedAssertion('claim "jti" is not a string');
  return { iss, sub, aud: audiences, exp, nbf, iat, jti };
}

/**
 * Discovery, then JWKS, then the key named by kid. Fetched on every request: Entra's own cache lifetime is
 * undocumented, and fetching each time lets tests rotate keys without waiting.
 * @throws EntraRefusal AADSTS90061 (unreachable, not JSON, discovery `issuer` not byte-equal to `iss`) or AADSTS7000272 (kid not published)
 */
async function fetchIssuerKey(issuer: string, kid: string, check: AssertionCheck): Promise<KeyObject> {
  const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const discovery = await fetchJsonObject(discoveryUrl, check);
  if (discovery.issuer !== issuer) {
    throw refuse.externalOidcEndpointFailed(
      `discovery document at ${discoveryUrl} names issuer ${JSON.stringify(discovery.issuer)}, the assertion names ${JSON.stringify(issuer)}`,
    );
  }
  if (typeof discovery.jwks_uri !== 'string')
    throw refuse.externalOidcEndpointFailed(`discovery document at ${discoveryUrl} has no jwks_uri`);
  const jwks = await fetchJsonObject(discovery.jwks_uri, check);
  const keys: unknown[] = Array.isArray(jwks.keys) ? jwks.keys : [];
  const jwk = keys.find((key): key is Record<string, unknown> => isRecord(key) && key.kid === kid);
  if (!jwk) throw refuse.signingKeyNotFound(kid, issuer, `${discovery.jwks_uri} publishes no key with this kid`);
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${String(key.asymmetricKeyType)} key`);
    return key;
  } catch (error) {
    throw refuse.signingKeyNotFound(kid, issuer, `the published key is not a usable RSA key (${errorText(error)})`);
  }
}

async function fetchJsonObject(url: string, check: AssertionCheck): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.any([AbortSignal.timeout(check.fetchTimeoutMs), check.signal]),
    });
  } catch (error) {
    throw refuse.externalOidcEndpointFailed(`GET ${url} failed: ${errorText(error)}`);
  }
  if (response.status !== 200) throw refuse.externalOidcEndpointFailed(`GET ${url} answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw refuse.externalOidcEndpointFailed(`GET ${url} did not answer JSON`);
  }
  if (!isRecord(body)) throw refuse.externalOidcEndpointFailed(`GET ${url} did not answer a JSON object`);
  return body;
}

/** @throws EntraRefusal AADSTS700027 when RS256 verification fails */
function verifySignature(assertion: string, key: KeyObject): void {
  try {
    // Time claims are checked afterwards, so a bad signature is reported as such whatever the clock says.
    jsonwebtoken.verify(assertion, key, { algorithms: ['RS256'], ignoreExpiration: true, ignoreNotBefore: true });
  } catch (error) {
    throw error instanceof EntraRefusal ? error : refuse.signatureInvalid(errorText(error));
  }
}

/**
 * Missing nbf/exp read as 1970, as Entra's own AADSTS700024 text shows ("assertion valid from 1970-01-01…").
 * @throws EntraRefusal AADSTS700024 when expired, not yet valid, or issued in the future (each beyond the skew)
 */
function checkTimeRange(claims: AssertionClaims, check: AssertionCheck): void {
  const nowSeconds = check.nowMs / 1000;
  const skew = check.clockSkewSeconds;
  const notBefore = claims.nbf ?? 0;
  const expiry = claims.exp ?? 0;
  const expired = nowSeconds >= expiry + skew;
  const notYetValid = nowSeconds + skew < notBefore;
  const issuedInFuture = claims.iat !== undefined && nowSeconds + skew < claims.iat;
  if (expired || notYetValid || issuedInFuture) throw refuse.outsideValidTimeRange(check.nowMs, notBefore, expiry);
}

/**
 * Remembers (issuer, jti) pairs until their assertion could no longer be accepted anyway (exp + skew), so a
 * replayed assertion is refused and the memory stays bounded.
 */
export class ReplayCache {
  private readonly forgetAt = new Map<string, number>();

  /** @returns false when this (issuer, jti) was already presented and has not expired yet */
  remember(issuer: string, jti: string, forgetAtMs: number, nowMs: number): boolean {
    this.forgetExpired(nowMs);
    const key = `${issuer}\u0000${jti}`;
    if (this.forgetAt.has(key)) return false;
    this.forgetAt.set(key, forgetAtMs);
    return true;
  }

  private forgetExpired(nowMs: number): void {
    for (const [key, at] of this.forgetAt) if (at <= nowMs) this.forgetAt.delete(key);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

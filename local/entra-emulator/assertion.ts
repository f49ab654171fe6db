/**
 * Checks a client assertion the way Entra ID checks a federated credential, in this order: shape and algorithm,
 * issuer match, the issuer's OIDC discovery and JWKS (fetched for real, ./issuer-keys.ts), RS256 signature, subject
 * (7002138 when only the case differs), audience, lifetime (`iat` required, at most 25 h), time range. Entra does not
 * document its order; this one reports the most specific mismatch first. Uses `jsonwebtoken` and `node:crypto`, never
 * `jose`, so the emulator and the broker (which signs with jose) are independent implementations that check each other.
 */

import { createHash, type KeyObject } from 'node:crypto';
import jsonwebtoken from 'jsonwebtoken';
import { EntraRefusal, refuse } from './aadsts';
import { errorText, type IssuerKeys } from './issuer-keys';

/**
 * The longest assertion lifetime (`exp - iat`) Entra accepts: "1.01:00:00", 25 hours
 * (github.com/MicrosoftDocs/azure-docs/issues/86916).
 */
export const MAX_ASSERTION_LIFETIME_SECONDS = 25 * 60 * 60;

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
  /** Where the issuer's keys come from (fetched, or cached). */
  readonly issuerKeys: IssuerKeys;
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

  const key = await check.issuerKeys.key(claims.iss, kid, check);
  verifySignature(assertion, key);

  const sameSubject = sameIssuer.filter((credential) => credential.subject === claims.sub);
  if (sameSubject.length === 0) {
    const subject = claims.sub.toLowerCase();
    // Since August 2024 Entra matches subjects case-sensitively and says so when only the case differs (Azure/login#515).
    if (sameIssuer.some((credential) => credential.subject.toLowerCase() === subject)) throw refuse.subjectCaseMismatch(claims.sub);
    throw refuse.noSubjectMatch(claims.sub);
  }
  if (!sameSubject.some((credential) => claims.aud.some((aud) => credential.audiences.includes(aud)))) {
    throw refuse.noAudienceMatch(claims.aud.join(', '));
  }
  checkLifetime(claims);
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
 * `iat` is required and `exp - iat` may not exceed 25 h: without `iat`, Entra reads it as 0 and refuses the lifetime
 * (github.com/MicrosoftDocs/azure-docs/issues/86915 and #86916). A missing `exp` reads as 0 here too, which leaves the
 * refusal to the time range check (AADSTS700024), as Entra's text for that case shows.
 * @throws EntraRefusal AADSTS70023
 */
function checkLifetime(claims: AssertionClaims): void {
  const issuedAt = claims.iat ?? 0;
  const expiresAt = claims.exp ?? 0;
  if (claims.iat === undefined || expiresAt - issuedAt > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw refuse.assertionLifetimeTooLong(issuedAt, expiresAt);
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
 * Entra accepts an assertion again until it expires: it keeps no record of `jti`s. Azure's own clients rely on it:
 * azure-identity's WorkloadIdentityCredential (Python) re-reads the projected token file at most every 600 s and sends
 * the same token with every token request meanwhile (azure/identity/_credentials/workload_identity.py, TokenFileMixin).
 * The emulator accepts a reused assertion likewise and counts it, so a test can see a client reuse one. It remembers
 * a digest of each assertion (the same string sent again, `jti` or not) until it could no longer be accepted anyway
 * (exp + skew), so memory stays bounded.
 */
export class AssertionUses {
  private readonly forgetAt = new Map<string, number>();
  private reused = 0;

  /** Assertions presented again, while still valid, since the last reset. */
  get reuses(): number {
    return this.reused;
  }

  resetCount(): void {
    this.reused = 0;
  }

  /** Records a use; counts it as a reuse when this very assertion was presented before and has not expired since. */
  record(assertion: string, forgetAtMs: number, nowMs: number): void {
    this.forgetExpired(nowMs);
    const key = createHash('sha256').update(assertion).digest('base64url');
    if (this.forgetAt.has(key)) this.reused += 1;
    else this.forgetAt.set(key, forgetAtMs);
  }

  private forgetExpired(nowMs: number): void {
    for (const [key, at] of this.forgetAt) if (at <= nowMs) this.forgetAt.delete(key);
  }
}

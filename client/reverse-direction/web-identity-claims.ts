/**
 * Reads the identifying claims of an Entra (or any JWT) access token without verifying it: only to name the
 * identity in error messages and in the default session name. Trust decisions are STS's; the token itself is
 * never logged or returned.
 */
export interface IdentityClaims {
  /** `oid`, else `sub`: the managed identity's object (principal) id. */
  readonly objectId: string | undefined;
  readonly subject: string | undefined;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** v2 tokens: the caller's client id, which IAM matches as the audience. */
  readonly authorizedParty: string | undefined;
  /** `exp`, unix seconds. */
  readonly expiresAt: number | undefined;
}

/** @returns the claims, each undefined when absent or when the token is not a JWT */
export function identityClaims(token: string): IdentityClaims {
  let payload: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) payload = parsed as Record<string, unknown>;
  } catch {
    payload = {};
  }
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const audience = Array.isArray(payload.aud) ? payload.aud.filter((a) => typeof a === 'string').join(', ') : text(payload.aud);
  return {
    objectId: text(payload.oid) ?? text(payload.sub),
    subject: text(payload.sub),
    issuer: text(payload.iss),
    audience,
    authorizedParty: text(payload.azp),
    expiresAt: typeof payload.exp === 'number' ? payload.exp : undefined,
  };
}

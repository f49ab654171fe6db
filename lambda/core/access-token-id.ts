/** Entra's identifier of an access token, read for the audit trail; the token itself is never logged. */

/** What a `uti` looks like: base64url, short. Anything else is not recorded (it could be anything a token says). */
const UTI = /^[\w-]{1,64}$/;

/**
 * The `uti` claim (Entra's "Unique token identifier", shown in the sign-in log) of an access token, read from
 * the JWT payload without verifying the signature: the broker only records it, it decides nothing on it.
 * @returns the claim, or undefined for an opaque token, a payload that is not JSON, or a missing or odd-looking `uti`. Never throws.
 */
export function accessTokenUti(accessToken: string): string | undefined {
  const start = accessToken.indexOf('.');
  const end = start === -1 ? -1 : accessToken.indexOf('.', start + 1);
  if (end === -1) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(accessToken.slice(start + 1, end), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const uti = typeof payload === 'object' && payload !== null ? (payload as { uti?: unknown }).uti : undefined;
  return typeof uti === 'string' && UTI.test(uti) ? uti : undefined;
}

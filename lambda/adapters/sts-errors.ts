import { InternalError, UpstreamUnavailableError, type BrokerError } from '../core/errors';

/** STS answers that mean "try again later" (STS API reference, "Common Errors"; SDK timeouts). */
const TRANSIENT = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
]);

/** What an operator does when the account has outbound identity federation off. */
export const ENABLE_FEDERATION_HOW =
  'run `aws iam enable-outbound-web-identity-federation` in this AWS account (the stack enabled it when it was created, so someone has disabled it since)';

/** The fix for each STS refusal of GetWebIdentityToken (STS API reference, GetWebIdentityToken, "Errors"). */
const REFUSALS: Readonly<Record<string, string>> = {
  OutboundWebIdentityFederationDisabledException: `AWS STS refused GetWebIdentityToken: outbound identity federation is disabled for this account; ${ENABLE_FEDERATION_HOW}.`,
  AccessDenied:
    "AWS STS refused GetWebIdentityToken (AccessDenied): check the token function role's sts:GetWebIdentityToken grant (its audience, RS256 and DurationSeconds conditions must match the configuration's audience and assertionLifetimeSeconds) and any SCP or permission boundary.",
  SessionDurationEscalationException:
    "AWS STS refused GetWebIdentityToken (SessionDurationEscalationException): the assertion would outlive the function's own role session; lower assertionLifetimeSeconds.",
  JWTPayloadSizeExceededException:
    'AWS STS refused GetWebIdentityToken (JWTPayloadSizeExceededException): the token would be too large; the broker sends no tags, so report this.',
};

/**
 * Maps an STS SDK error from `GetWebIdentityToken` to the contract. Only the AWS error *name* reaches the message
 * (SDK messages carry ARNs). Throttling, 5xx and network failures are upstream_unavailable; a refusal (federation
 * disabled, access denied, a duration past the session) is a deployment fault the caller cannot fix: internal,
 * with the fix in the message the log line carries.
 */
export function stsError(error: unknown): BrokerError {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null | undefined)?.$metadata?.httpStatusCode;
  if (TRANSIENT.has(name) || status === undefined || status >= 500) {
    return new UpstreamUnavailableError('sts', `AWS STS GetWebIdentityToken is unavailable or throttling (${name}). Retry later.`, {
      cause: error,
    });
  }
  const known = REFUSALS[name === 'AccessDeniedException' ? 'AccessDenied' : name];
  return new InternalError(
    known ??
      `AWS STS refused GetWebIdentityToken (${name}): check the token function role's grant and the account's outbound identity federation.`,
    { cause: error },
  );
}

/**
 * What can go wrong getting AWS credentials for an Azure workload (`entra-aws-credentials`,
 * `fromEntraWorkloadIdentity`): one error class with a stable `code`. Messages name the role, the audience and
 * what the token said about the identity (object id, issuer, audience), never the token, a secret key or a
 * session token.
 */
export type WorkloadIdentityErrorCode =
  /** A caller mistake found before any request (bad role ARN, empty audience, duration out of range). */
  | 'invalid_argument'
  /** No Azure credential worked (no managed identity here, not logged in), or Entra refused the token request. */
  | 'azure_token_unavailable'
  /** STS `AccessDenied`: the role's trust does not admit this identity (or the role does not exist). */
  | 'access_denied'
  /** STS refused the token itself: `InvalidIdentityToken`, `ExpiredTokenException`, `IDPRejectedClaim`. */
  | 'invalid_identity_token'
  /** STS could not be reached, timed out, throttled, or could not reach the identity provider. */
  | 'sts_unavailable'
  /** The credential cache folder or file is not safe to use (owned by someone else, a symbolic link). */
  | 'cache_unusable'
  /** Anything else STS answered. */
  | 'sts_error';

/** The one error type of the reverse direction's client; switch on `code`. */
export class WorkloadIdentityError extends Error {
  constructor(
    readonly code: WorkloadIdentityErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WorkloadIdentityError';
  }
}

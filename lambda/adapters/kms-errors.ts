import { InternalError, UpstreamUnavailableError, type BrokerError } from '../core/errors';

/** KMS answers that mean "try again later". */
const TRANSIENT = new Set([
  'ThrottlingException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'KeyUnavailableException',
  'TimeoutError',
  'RequestTimeout',
]);

/**
 * Maps a KMS SDK error to the contract. Only the AWS error *name* reaches the message: SDK messages can
 * carry ARNs. Throttling, 5xx and network failures are upstream_unavailable; a refusal (access denied, key
 * disabled or pending deletion, wrong key usage) is a deployment fault the caller cannot fix: internal.
 */
export function kmsError(
  error: unknown,
  action: 'Sign' | 'GetPublicKey' | 'GenerateDataKey' | 'Decrypt' | 'CreateKey' | 'ScheduleKeyDeletion' | 'GenerateMac' | 'VerifyMac',
): BrokerError {
  const name = error instanceof Error ? error.name : 'UnknownError';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | null | undefined)?.$metadata?.httpStatusCode;
  if (TRANSIENT.has(name) || status === undefined || status >= 500) {
    return new UpstreamUnavailableError('kms', `AWS KMS ${action} is unavailable or throttling (${name}). Retry later.`, { cause: error });
  }
  return new InternalError(
    `AWS KMS refused ${action} with the broker's key (${name}): check the key's state, its key policy and the function's role.`,
    { cause: error },
  );
}

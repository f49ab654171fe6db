/**
 * DynamoDB failures in the broker's terms: a short, secret-free reason (AWS error names and network codes only;
 * SDK messages can carry ARNs) and the 503 `upstream_unavailable` the caller sees.
 */
import { UpstreamUnavailableError } from '../core/errors';

/** True for DynamoDB's answer to a failed condition expression. */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * AWS error names safe (and useful) to show: they say what went wrong without any account detail.
 * Anything else is reported generically; SDK messages are never shown because they can carry ARNs.
 */
const KNOWN_AWS_ERRORS = new Set([
  'AccessDeniedException',
  'ExpiredTokenException',
  'IncompleteSignature',
  'InternalFailure',
  'InternalServerError',
  'InvalidSignatureException',
  'ItemCollectionSizeLimitExceededException',
  'LimitExceededException',
  'MissingAuthenticationToken',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ResourceInUseException',
  'ResourceNotFoundException',
  'ServiceUnavailable',
  'ThrottlingException',
  'TransactionConflictException',
  'UnrecognizedClientException',
  'ValidationException',
]);

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A short, secret-free reason for a DynamoDB/SDK/network failure, e.g. `ResourceNotFoundException`, `timed out`. */
export function dynamoDbFailureReason(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  if (typeof name === 'string' && KNOWN_AWS_ERRORS.has(name)) return name;
  if (name === 'TimeoutError' || name === 'AbortError') return 'timed out';
  if (typeof code === 'string' && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  // Node's happy-eyeballs connect reports an AggregateError whose parts carry the codes.
  const parts = (error as { errors?: unknown } | null)?.errors;
  if (Array.isArray(parts))
    for (const part of parts) {
      const reason = dynamoDbFailureReason(part);
      if (reason !== 'unexpected error') return reason;
    }
  return 'unexpected error';
}

/**
 * Wraps any DynamoDB failure for the caller: 503 `upstream_unavailable`, the SDK error kept as `cause`.
 * @param what how to name the failing thing in the message; default "The token cache table"
 */
export function dynamoDbUnavailable(error: unknown, what = 'The token cache table'): UpstreamUnavailableError {
  if (error instanceof UpstreamUnavailableError) return error;
  return new UpstreamUnavailableError('dynamodb', `${what} is unavailable: ${dynamoDbFailureReason(error)}.`, {
    cause: error,
  });
}

import { ALIAS_PATTERN } from '../../contract/broker-config';
import type { BrokerErrorCode } from '../../contract/http-api';

/**
 * The broker's error contract (`BrokerErrorBody` in contract/http-api.ts): every failure a caller can see is one of these,
 * rendered by `toJSON()` as `{"error": code, "message", ...details}`. Messages never hold a token, an
 * assertion or an SDK message; the original error is kept in `cause` for logs only.
 */

export type ErrorCode = BrokerErrorCode;
export type Upstream = 'entra' | 'kms' | 'dynamodb' | 'sts';

type Details = Readonly<Record<string, string | number | readonly number[] | undefined>>;

export abstract class BrokerError extends Error {
  abstract readonly statusCode: number;
  abstract readonly code: ErrorCode;
  readonly details: Details;

  constructor(message: string, details: Details = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = { error: this.code, message: this.message };
    for (const [key, value] of Object.entries(this.details)) if (value !== undefined) body[key] = value;
    return body;
  }
}

/**
 * 404: no scope under this alias for this caller. Never lists the configured aliases: the catch-all route answers
 * anyone with broad `execute-api:Invoke` rights, and the list would map which Azure resources the broker reaches.
 * The alias is echoed only when it looks like one (it comes from the request path).
 */
export class UnknownScopeError extends BrokerError {
  readonly statusCode = 404;
  readonly code = 'unknown_scope';
  constructor(alias: string | undefined) {
    const named = alias !== undefined && ALIAS_PATTERN.test(alias) ? alias : undefined;
    super(
      named === undefined
        ? 'No scope is configured under this alias. Check the alias against the token URLs of the deployment (its stack outputs).'
        : `No scope is configured under the alias "${named}". Check the alias against the token URLs of the deployment (its stack outputs).`,
      { alias: named },
    );
  }
}

/**
 * 403: the event did not come through this deployment's API (its `requestContext.apiId` or `stage` differ): the
 * function was invoked directly, e.g. with a hand-made event. A tripwire, not an authentication: a direct invoker
 * who copies the right API id and stage is not caught (docs/security.md, "Direct invocation").
 */
export class ForeignInvocationError extends BrokerError {
  readonly statusCode = 403;
  readonly code = 'forbidden';
  constructor() {
    super("This invocation did not come through the broker's own API Gateway stage; the token function answers nothing else.");
  }
}

/** 403: IAM let the caller in, but the deployment's allowed accounts or organizations do not include it. */
export class ForbiddenCallerError extends BrokerError {
  readonly statusCode = 403;
  readonly code = 'forbidden';
  constructor() {
    super("The caller's AWS account or organization is not among the broker's allowed callers.");
  }
}

export interface EntraRejection {
  /** Entra's OAuth `error`, e.g. `invalid_client`. */
  readonly entraError: string;
  /** The first AADSTS code, e.g. `AADSTS700213`. */
  readonly aadsts: string | undefined;
  readonly errorCodes: readonly number[];
  readonly correlationId: string | undefined;
  readonly traceId: string | undefined;
  readonly httpStatus: number;
}

/** 502: Entra answered, and the answer was no. Carries Entra's codes and ids for support, never the assertion. */
export class EntraRejectedError extends BrokerError {
  readonly statusCode = 502;
  readonly code = 'entra_rejected';
  constructor(
    message: string,
    readonly rejection: EntraRejection,
  ) {
    super(message, {
      entra_error: rejection.entraError,
      aadsts: rejection.aadsts,
      error_codes: rejection.errorCodes.length > 0 ? rejection.errorCodes : undefined,
      correlation_id: rejection.correlationId,
      trace_id: rejection.traceId,
    });
  }
}

/** 503: an upstream (Entra, KMS, STS, DynamoDB) was unreachable, throttled or failing after bounded retries. */
export class UpstreamUnavailableError extends BrokerError {
  readonly statusCode = 503;
  readonly code = 'upstream_unavailable';
  constructor(
    readonly upstream: Upstream,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, { upstream, retry_after_seconds: options?.retryAfterSeconds }, options);
  }
}

/** 500: a fault in the broker itself (misconfiguration, a bug). The message says what to check, never internals. */
export class InternalError extends BrokerError {
  readonly statusCode = 500;
  readonly code = 'internal';
  constructor(message = 'The broker failed unexpectedly; see its logs for the request id.', options?: { cause?: unknown }) {
    super(message, {}, options);
  }
}

/** Maps anything thrown to a BrokerError; unknown errors become `internal` with the original kept as `cause`. */
export function toBrokerError(error: unknown): BrokerError {
  return error instanceof BrokerError ? error : new InternalError(undefined, { cause: error });
}

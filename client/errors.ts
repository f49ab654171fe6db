/**
 * What a broker caller can see go wrong, as one error class with a stable `code` that scripts and the CLI's exit
 * codes key on. Messages name the broker URL and the alias and say what to do; they never hold an access token,
 * an Authorization header, a secret key or a session token, and never echo a 200 body (it would hold the token).
 */

export type BrokerClientErrorCode =
  /** A caller mistake found before any request: bad URL, unknown region, empty alias, not exactly one scope. */
  | 'invalid_argument'
  /** The AWS credential chain gave nothing to sign with. */
  | 'credentials_unavailable'
  /** 404: the broker has no such alias (its `unknown_scope`), or API Gateway has no such route. */
  | 'unknown_alias'
  /** 403 from API Gateway's IAM authorization: not allowed, or the signature was refused. */
  | 'forbidden'
  /** No HTTP answer: connection refused, DNS failure, TLS failure or timeout. */
  | 'broker_unreachable'
  /** 502 `entra_rejected`: Entra ID refused the broker's request; carries `aadsts` and `correlationId`. */
  | 'entra_rejected'
  /** 503: Entra, KMS or DynamoDB behind the broker is down or throttling. */
  | 'upstream_unavailable'
  /** A 200 whose body is not a token response. */
  | 'bad_response'
  /** Any other answer (500, 429, an unexpected status). */
  | 'broker_error'
  /** `BrokerCredential.getToken` was asked for a scope it has no alias for. */
  | 'unmapped_scope';

export interface BrokerClientErrorDetails {
  /** The broker base URL the request went to. */
  readonly url?: string;
  readonly alias?: string;
  /** HTTP status of the broker's answer, when there was one. */
  readonly status?: number;
  /** Entra's OAuth `error`, e.g. `invalid_client` (entra_rejected only). */
  readonly entraError?: string;
  /** First AADSTS code, e.g. `AADSTS700213` (entra_rejected only). */
  readonly aadsts?: string;
  /** Entra's correlation id, for a support case (entra_rejected only). */
  readonly correlationId?: string;
  readonly traceId?: string;
  /** Which upstream failed: `entra`, `kms` or `dynamodb` (upstream_unavailable only). */
  readonly upstream?: string;
  readonly retryAfterSeconds?: number;
  /** The broker's own `error` code from the body, when it sent one. */
  readonly brokerError?: string;
}

/** The one error type thrown by `client/`; switch on `code`, which is stable. */
export class BrokerClientError extends Error implements BrokerClientErrorDetails {
  readonly code: BrokerClientErrorCode;
  declare readonly url?: string;
  declare readonly alias?: string;
  declare readonly status?: number;
  declare readonly entraError?: string;
  declare readonly aadsts?: string;
  declare readonly correlationId?: string;
  declare readonly traceId?: string;
  declare readonly upstream?: string;
  declare readonly retryAfterSeconds?: number;
  declare readonly brokerError?: string;

  constructor(code: BrokerClientErrorCode, message: string, details: BrokerClientErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerClientError';
    this.code = code;
    // The detail fields are `declare`d (no class-field initialisers), so only the defined ones become own
    // properties and logs of the error show no `undefined` noise.
    for (const [key, value] of Object.entries(details)) {
      if (value !== undefined) (this as Record<string, unknown>)[key] = value;
    }
  }
}

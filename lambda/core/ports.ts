import type { MetricEvent } from '../../contract/aws-names';

/**
 * What core code needs from the outside world. Adapters (KMS, DynamoDB, local key file, memory) implement
 * these; core receives them as arguments, so tests pass real implementations or small fakes.
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** The subset of WHATWG fetch the broker uses. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** An RSA public key as published in the JWKS. */
export interface RsaPublicJwk {
  readonly kty: 'RSA';
  readonly use: 'sig';
  readonly alg: 'RS256';
  /** RFC 7638 thumbprint of {e, kty, n}. */
  readonly kid: string;
  readonly n: string;
  readonly e: string;
}

/** Signs client assertions with the active key (RS256, RSASSA-PKCS1-v1_5 over SHA-256). */
export interface AssertionSigner {
  /** The `kid` of the active key, as published in the JWKS. */
  keyId(): Promise<string>;
  /** Signs the JWS signing input (`base64url(header).base64url(claims)`); returns the raw signature. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

/** Every key the JWKS publishes: the active one and any next/previous one kept for rotation. */
export interface PublicKeySource {
  publicKeys(): Promise<readonly RsaPublicJwk[]>;
}

/** An Entra access token as the broker caches and serves it. */
export interface CachedToken {
  readonly accessToken: string;
  /** Unix seconds. */
  readonly expiresOn: number;
  /** The Entra scope it was issued for. */
  readonly scope: string;
}

/** Second-tier (shared) token cache with a refresh lease, e.g. DynamoDB. */
export interface TokenStore {
  /** The cached token for this key, or undefined; an unreadable item reads as undefined. */
  get(key: string): Promise<CachedToken | undefined>;
  /** Stores the token; the item expires (TTL) with the token. */
  put(key: string, token: CachedToken): Promise<void>;
  /**
   * Takes the refresh lease for this key unless another holder has it and it has not expired.
   * @returns true when `holder` now holds the lease until `expiresAtMs`
   */
  tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean>;
  /** Gives the lease up early, only if `holder` still holds it. */
  releaseLease(key: string, holder: string): Promise<void>;
}

/** Structured logger. Callers pass no secrets; the Lambda logger also redacts known secret fields. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Counts the events worth a metric or an alarm (names in contract/aws-names.ts). Hits are not counted: they
 * are the common case and must stay free.
 */
export interface BrokerMetrics {
  count(event: MetricEvent): void;
}

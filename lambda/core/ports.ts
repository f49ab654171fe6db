import type { MetricEvent } from '../../contract/aws-names';
import type { PublishedJwk, RotationState, RotationStateRejectedError } from '../../contract/key-rotation-state';

/**
 * What core code needs from the outside world. Adapters (KMS, DynamoDB, local key file, memory) implement
 * these; core receives them as arguments, so tests pass real implementations or small fakes.
 */

/** Milliseconds since the epoch. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** The subset of WHATWG fetch the broker uses. */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Makes the client assertions Entra receives, one per exchange: built and signed by the broker itself (the active key
 * of its rotation state: KMS keys, or the local runtime's key files), or obtained from AWS STS outbound identity
 * federation.
 */
export interface ClientAssertionSource {
  /** The assertions' `iss`, as Entra's federated credential must name it (a refusal's hint quotes it). */
  readonly issuer: string;
  /** The assertions' `sub`, likewise. */
  readonly subject: string;
  /**
   * A fresh assertion: new `jti`, `iat` now.
   * @throws BrokerError: upstream_unavailable when the signer is unavailable, internal when it refuses
   */
  create(): Promise<string>;
}

/** Every key the JWKS publishes: the active one and any next/previous one kept for rotation. */
export interface PublicKeySource {
  publicKeys(): Promise<readonly PublishedJwk[]>;
}

/** An Entra access token as the broker caches and serves it. */
export interface CachedToken {
  readonly accessToken: string;
  /** Unix seconds. */
  readonly expiresOn: number;
  /**
   * Unix seconds when the broker received the token from Entra: with `expiresOn`, its lifetime, which decides how
   * long it stays fresh (token-freshness.ts). Stored with the token, so every container applies the same windows.
   */
  readonly issuedOn: number;
  /** The Entra scope it was issued for. */
  readonly scope: string;
  /**
   * The token's `uti` claim: Entra's unique token identifier, shown as "Unique token identifier" in the sign-in
   * log. Absent for an opaque token.
   */
  readonly uti?: string;
  /**
   * The `client-request-id` the broker sent with the exchange that obtained the token: Entra's "Correlation ID"
   * of that sign-in.
   */
  readonly correlationId?: string;
}

/** Where a served token came from: memory, the shared store, a fresh exchange, another caller's exchange, or a previous token still valid. */
export type CacheOutcome = 'l1' | 'l2' | 'exchange' | 'shared' | 'stale';

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

/**
 * The shared store as it really is: opaque sealed bytes per key (see SealingTokenStore, which seals and opens them),
 * and the refresh lease. DynamoDB in a deployment and locally; nothing in it is readable without the cache key.
 */
export interface SealedTokenStore {
  /** The sealed item for this key, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores (overwrites) the sealed item; it expires (TTL) at `expiresOn` (unix seconds). */
  put(key: string, sealed: Uint8Array, expiresOn: number): Promise<void>;
  /** As `TokenStore.tryAcquireLease`. */
  tryAcquireLease(key: string, holder: string, expiresAtMs: number): Promise<boolean>;
  /** As `TokenStore.releaseLease`. */
  releaseLease(key: string, holder: string): Promise<void>;
}

/** A 256-bit data key, in the clear and wrapped by the key that protects it (KMS `GenerateDataKey`). */
export interface DataKey {
  readonly plaintext: Uint8Array;
  readonly wrapped: Uint8Array;
}

/**
 * Where the data keys that seal cached tokens come from: KMS (a symmetric customer-managed key) in a deployment,
 * a key file locally. Each implementation binds its data keys to one encryption context (purpose and deployment).
 */
export interface DataKeyProvider {
  /** A fresh data key. @throws what the key service throws (unavailable, refused) */
  generateDataKey(): Promise<DataKey>;
  /**
   * The plaintext of a wrapped data key.
   * @throws DataKeyRejectedError when it does not open: tampered, another key's, or another encryption context's
   * @throws what the key service throws otherwise (unavailable, refused)
   */
  decryptDataKey(wrapped: Uint8Array): Promise<Uint8Array>;
}

/** Structured logger. Callers pass no secrets; the Lambda logger also redacts known secret fields. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One token served: who obtained which token, through which request. Holds the token, which no audit line may show. */
export interface TokenServed {
  readonly alias: string;
  readonly cache: CacheOutcome;
  /** The audit reads `uti` and `correlationId` from it; never `accessToken`. */
  readonly token: CachedToken;
  /** The caller's IAM ARN, as API Gateway's IAM authorizer verified it; '' when none. */
  readonly callerArn: string;
  /** The caller's AWS account; '' when none. */
  readonly callerAccount: string;
  /** API Gateway's request id (`$context.requestId`), to join with the API access log. */
  readonly apiRequestId: string;
  /** Time spent obtaining the token, when it was not a memory hit. @default - not written */
  readonly durationMs?: number;
}

/**
 * The audit trail: told of every token served; writes who obtained which token, a line per request
 * (docs/operations-audit.md), at every log level, never the token itself.
 */
export interface TokenAudit {
  tokenServed(served: TokenServed): void;
}

/**
 * Counts the events worth a metric or an alarm (names in contract/aws-names.ts); published once per invocation (the
 * functions' `logMetrics` middleware). Hits are not counted: they are the common case.
 */
export interface BrokerMetrics {
  count(event: MetricEvent): void;
}

/**
 * The key service the rotation creates signing keys in: KMS (RSA_2048 SIGN_VERIFY, tagged with the deployment) in a
 * deployment, PEM files in `signingKeyDir` locally.
 */
export interface SigningKeyService {
  /** A new RSA signing key; returns its id (KMS key ARN, or file name). @throws what the key service throws */
  createKey(): Promise<string>;
  /** The key's public half as the JWKS publishes it. @throws what the key service throws */
  publicKey(keyId: string): Promise<PublishedJwk>;
  /**
   * Schedules the key's deletion (KMS: its pending window). Idempotent: a key already pending deletion, or gone, is
   * not an error. @throws what the key service throws otherwise
   */
  scheduleDeletion(keyId: string): Promise<void>;
}

/**
 * Signs with a given key (RS256: RSASSA-PKCS1-v1_5 over SHA-256) — the one the rotation state names active. The one
 * signer port: KMS keys in a deployment, PEM files locally (a fixed key file is a rotation state with one key).
 */
export interface KeySigner {
  /**
   * Signs the JWS signing input (`base64url(header).base64url(claims)`); returns the raw signature.
   * @throws BrokerError: upstream_unavailable when the key service is unavailable, internal when it refuses
   */
  sign(keyId: string, signingInput: Uint8Array): Promise<Uint8Array>;
}

/** The rotation state the signers and the JWKS follow: read from the store (RotationStateReader), or fixed. */
export interface RotationStateSource {
  /** @throws what reading the state throws when no state can be given */
  current(): Promise<RotationState>;
}

/** The rotation state, verified, with the version every write is conditional on. */
export interface VersionedRotationState {
  readonly state: RotationState;
  /** 0 when nothing is stored yet. */
  readonly version: number;
}

/** The rotation state item as a store holds it: what its MAC covers, and the MAC. */
export interface StoredRotationItem {
  /** NaN when the stored version is not a number. */
  readonly version: number;
  /** The state JSON exactly as stored (the MAC covers these bytes); undefined when the item has none. */
  readonly stateJson: string | undefined;
  /** Undefined when the item has none. */
  readonly mac: Uint8Array | undefined;
}

/** Where the rotation state item lives: one item with optimistic concurrency (DynamoDB, or memory locally). */
export interface RotationItemStore {
  /** A strongly consistent read; undefined when there is no item. @throws UpstreamUnavailableError */
  read(): Promise<StoredRotationItem | undefined>;
  /**
   * Stores `item`, only if the stored version is still `expectedVersion` (0: only if there is no item).
   * @returns false when another writer got there first (nothing written)
   * @throws UpstreamUnavailableError
   */
  write(
    item: { readonly version: number; readonly stateJson: string; readonly mac: Uint8Array },
    expectedVersion: number,
  ): Promise<boolean>;
}

/**
 * Authenticates the rotation state item: a MAC over `rotationStateMacMessage` (contract/key-rotation-state.ts). KMS
 * HMAC_256 in a deployment (only the rotator's role may make MACs), a local key file in the local runtime.
 */
export interface StateAuthenticator {
  /** @throws BrokerError when the key service is unavailable or refuses */
  mac(message: Uint8Array): Promise<Uint8Array>;
  /**
   * @returns true when `mac` is this key's MAC of `message`, false when it is not
   * @throws BrokerError when the key service is unavailable or refuses (that is not "not verified")
   */
  verify(message: Uint8Array, mac: Uint8Array): Promise<boolean>;
}

/** The rotation state as the rotation and the readers use it: verified on every read, MACed on every write. */
export interface KeyRotationStore {
  /**
   * @throws RotationStateRejectedError (logged and counted) for an item that does not verify
   * @throws UpstreamUnavailableError; RotationStateError for a verified item this version cannot parse
   */
  read(): Promise<VersionedRotationState>;
  /**
   * Stores `state` as version `expectedVersion + 1`, only if the stored version is still `expectedVersion`.
   * @returns false when another writer got there first (nothing written)
   * @throws UpstreamUnavailableError, or what the authenticator throws
   */
  write(state: RotationState, expectedVersion: number): Promise<boolean>;
  /**
   * Replaces a refused item with `state`, trusting nothing in it (an emergency recovery), if the item is still the one
   * refused.
   * @returns the version written; undefined when the item changed since it was refused
   * @throws Error when the refused item holds no usable version to replace it on (delete it first)
   */
  replaceRefused(state: RotationState, refused: RotationStateRejectedError): Promise<number | undefined>;
  /**
   * Gives a MAC to a state item written before the state had one (an upgrade), once `check` has accepted its state.
   * @returns the state as now stored; undefined when there is no item, or it has a MAC already (read() decides then)
   * @throws what `check` throws, leaving the item as it is; RotationStateRejectedError for an unusable item
   */
  adoptUnauthenticated(check: (state: RotationState) => Promise<void>): Promise<VersionedRotationState | undefined>;
}

/** What the key rotator tells the alarms (lib/broker-monitoring.ts). */
export interface RotatorMetrics extends BrokerMetrics {
  /** Seconds since the active key started signing, after the run. */
  activeKeyAge(seconds: number): void;
}

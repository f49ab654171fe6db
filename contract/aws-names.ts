/**
 * Names the infrastructure (lib/) and the functions must agree on: change one here and both sides follow.
 */

/** The only algorithm the broker signs with (RS256): the KMS signer uses it, the key policy and the grant pin it. */
export const KMS_SIGNING_ALGORITHM = 'RSASSA_PKCS1_V1_5_SHA_256';
/**
 * The `SigningAlgorithm` the token function asks STS `GetWebIdentityToken` for (the `aws-sts` signer), and the value
 * its grant pins with `sts:SigningAlgorithm`: RS256, the one algorithm Entra accepts on client assertions.
 */
export const STS_SIGNING_ALGORITHM = 'RS256';

/**
 * The keys of the KMS encryption context of every data key that seals a cached token: a data key opens only with
 * the same purpose and deployment name, and the token role's grant and the cache key's policy require the purpose.
 */
export const SEALING_CONTEXT_KEYS = { purpose: 'purpose', deployment: 'deployment' } as const;
/** The `purpose` value of the sealing data keys' encryption context. */
export const SEALING_PURPOSE = 'aws-azure-token-broker/token-cache';

/** The token cache table's partition key (String). */
export const TOKEN_TABLE_PARTITION_KEY = 'pk';
/** The token cache table's TTL attribute (unix seconds): written by the store, enabled on the table. */
export const TOKEN_TABLE_TTL_ATTRIBUTE = 'ttl';

/** Powertools' service name (`POWERTOOLS_SERVICE_NAME`): the `service` of every log line. */
export const SERVICE_NAME = 'aws-azure-token-broker';

/** CloudWatch namespace of the broker's own metrics. */
export const METRICS_NAMESPACE = 'AwsAzureTokenBroker';
/**
 * The dimension on every broker metric that tells deployments apart, so two stacks in one account (or region)
 * have their own alarms. Its value is the deployment name the construct passes to the functions.
 */
export const METRICS_DEPLOYMENT_DIMENSION = 'Deployment';

/** The broker's metrics (unit Count), by the event each counts. */
export const METRIC_NAMES = {
  /** Access tokens obtained from Entra: the load the broker puts on Entra. */
  exchanges: 'EntraExchanges',
  /** Entra refused an exchange (502 `entra_rejected`). */
  entraRejections: 'EntraRejections',
  /** An upstream (Entra, KMS, DynamoDB) was unreachable or throttling after retries (503). */
  upstreamUnavailable: 'UpstreamUnavailable',
  /** The previous, still valid token was served because a refresh was under way or failed. */
  staleServed: 'StaleTokensServed',
  /** A container waited for another container's refresh lease. */
  leaseWaits: 'RefreshLeaseWaits',
  /** A cache-store operation failed and the cache carried on without it. */
  storeFailures: 'CacheStoreFailures',
  /**
   * A cached item did not open (edited, moved between keys, sealed under another key) or its opened claims failed
   * the checks (a lifetime longer than Entra issues, another scope): it was treated as a miss, never served.
   */
  cacheItemsRejected: 'CacheItemsRejected',
  /** An invocation whose API Gateway id or stage is not this deployment's was refused: someone invoked the function directly. */
  foreignInvocations: 'ForeignInvocationsRefused',
  /** A run of the key rotator failed (a step's KMS or DynamoDB call, or an unreadable state): the rotator function. */
  keyRotationFailures: 'KeyRotationFailures',
  /**
   * A key rotation state item whose MAC did not verify (forged or edited), or whose version is older than one this
   * container already verified (replayed), was refused: token, JWKS and rotator functions. Never expected.
   */
  rotationStateRejected: 'RotationStateRejected',
  // Proactive refresh (docs/reliability.md, "Proactive refresh"):
  /** The refresher replaced a token before any caller needed it (token function, refresh event). */
  refreshesAhead: 'RefreshesAhead',
  /** The refresher's exchange for one token failed; callers keep the previous token while it is servable. */
  refreshFailures: 'RefreshFailures',
  /** A token request waited on an exchange (its own or another's): goal 0 while the refresher keeps up. */
  callerWaits: 'CallerWaits',
} as const;

/**
 * Seconds since the active signing key started signing, written by every rotator run (unit Seconds). Alarmed when it
 * exceeds `intervalSeconds + KEY_AGE_SLACK_SECONDS`, or when the rotator stops writing it.
 */
export const ACTIVE_KEY_AGE_METRIC = 'ActiveSigningKeyAge';
/** How late a scheduled activation may be before the age alarm fires: rotator runs missed, or a step failing. */
export const KEY_AGE_SLACK_SECONDS = 3_600;

export type MetricEvent = keyof typeof METRIC_NAMES;

/**
 * The signing-key rotation's state: one item in the token cache table, beside the token and lease items. lib/ (the
 * table's resource policy), the functions and the `broker-keys` CLI all read it by these names.
 */
export const KEY_ROTATION_ITEM = {
  /** Its partition key value (attribute `pk`). */
  partitionKey: 'key-rotation#state',
  /** N: bumped by every write, each write conditional on the version it read (optimistic concurrency). */
  versionAttribute: 'version',
  /** S: the state as JSON (contract/key-rotation-state.ts). */
  stateAttribute: 'rotation',
  /**
   * B: HMAC-SHA-256 (KMS GenerateMac with the rotation state key, `ROTATION_STATE_MAC_ALGORITHM`) over the version and
   * the state JSON exactly as stored: a state whose MAC does not verify is never served or signed with.
   */
  macAttribute: 'mac',
} as const;

/** The KMS MAC algorithm of the rotation state key (key spec HMAC_256). */
export const ROTATION_STATE_MAC_ALGORITHM = 'HMAC_SHA_256';

/** The tag every KMS key the rotator creates carries; its value is the deployment name. Sign and deletion rights are limited to it. */
export const ROTATED_KEY_TAG = 'aws-azure-token-broker:deployment';

/** The broker stack's outputs the `broker-keys` CLI reads (CloudFormation DescribeStacks) to find the rotation. */
export const KEY_ROTATION_OUTPUTS = {
  /** The table holding the rotation state item. */
  table: 'KeyRotationTable',
  /** The rotator function's name, which `broker-keys rotate` invokes. */
  rotator: 'KeyRotatorFunction',
} as const;

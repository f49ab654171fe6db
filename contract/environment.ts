/**
 * The environment variables the TokenBroker construct sets and the Lambda entrypoints read. One list, so a
 * rename cannot leave one side behind.
 */
export const BROKER_ENV = {
  /**
   * The issuer URL (no trailing slash): discovery and token functions. With the `aws-sts` signer, the account's
   * outbound identity federation issuer (read by the stack), which the token function quotes in Entra refusal hints.
   */
  issuer: 'BROKER_ISSUER',
  /** The runtime configuration as JSON (`runtimeConfigJson`): token function. */
  runtimeConfig: 'BROKER_CONFIG',
  /**
   * The `sub` of the assertions STS issues with the `aws-sts` signer: the token function's role ARN, which the
   * function cannot read from its own environment otherwise: token function.
   */
  assertionSubject: 'BROKER_ASSERTION_SUBJECT',
  /**
   * ARN of the stack's signing key: the first key of the rotation (the rotator adopts it), and the one the token and
   * JWKS functions use until the rotation state exists.
   */
  signingKeyArn: 'BROKER_SIGNING_KEY_ARN',
  /** Comma-separated ARNs of every key in the JWKS, the active one first: JWKS function (before key rotation; unused since). */
  publishedKeyArns: 'BROKER_PUBLISHED_KEY_ARNS',
  /** `KeyRotationSettings` as JSON: rotator, token and JWKS functions (how long they keep the state, the JWKS's Cache-Control). */
  keyRotation: 'BROKER_KEY_ROTATION',
  /** The key policy (JSON) of every signing key the rotator creates, built where the stack's own key's is: rotator. */
  signingKeyPolicy: 'BROKER_SIGNING_KEY_POLICY',
  /**
   * ARN of the HMAC_256 KMS key that authenticates the key rotation state item (`KEY_ROTATION_ITEM.macAttribute`):
   * only the rotator's role may GenerateMac with it (key policy); the token and JWKS functions VerifyMac every state
   * they read and refuse one that does not verify. Rotator, token and JWKS functions.
   */
  rotationStateKeyArn: 'BROKER_ROTATION_STATE_KEY_ARN',
  /** The token cache table, which also holds the key rotation state: token, JWKS and rotator functions. */
  tableName: 'BROKER_TABLE_NAME',
  /** ARN of the symmetric KMS key whose data keys seal the cached tokens: token function. */
  tokenCacheKeyArn: 'BROKER_TOKEN_CACHE_KEY_ARN',
  /** The id of the HTTP API whose routes invoke the token function; any other event is refused: token function. */
  apiId: 'BROKER_API_ID',
  /** The stage of that API (`$default`): token function. */
  apiStage: 'BROKER_API_STAGE',
  /** `AllowedCallers` as JSON, when the deployment restricts callers: token function. */
  allowedCallers: 'BROKER_ALLOWED_CALLERS',
  /** The deployment's name, the value of the `Deployment` metric dimension: every function that publishes metrics (token, JWKS, rotator). */
  deployment: 'BROKER_DEPLOYMENT',
  /** Log level (one of LOG_LEVELS), read by Powertools Logger: every function. */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** Powertools' service name, on every log line and metric: every function. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
} as const;

/** The log levels a deployment may set (`POWERTOOLS_LOG_LEVEL`), most verbose first. */
export const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export type BrokerEnvName = (typeof BROKER_ENV)[keyof typeof BROKER_ENV];

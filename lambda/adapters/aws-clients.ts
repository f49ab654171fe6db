import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * SDK clients with bounded time: every call gives up within about a second or two, so the token
 * function's budget (KMS + DynamoDB + Entra) stays under its timeout. `throwOnRequestTimeout` is needed:
 * without it this SDK only logs a warning when `requestTimeout` passes. The SDK's own retries (standard
 * mode: exponential backoff with jitter, for throttling and 5xx) stay on, with fewer attempts.
 */
export function createKmsClient(options: { region?: string } = {}): KMSClient {
  return new KMSClient({
    ...options,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true }),
  });
}

/**
 * STS for `GetWebIdentityToken` (the `aws-sts` signer), with the KMS client's bounds and retries. Always the regional
 * endpoint (`useGlobalEndpoint: false`): the global one does not serve `GetWebIdentityToken` (STS API reference).
 * `endpoint` (or the SDK's `AWS_ENDPOINT_URL_STS`) points it at a local stand-in.
 */
export function createStsClient(
  options: {
    region?: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  } = {},
): STSClient {
  return new STSClient({
    ...options,
    useGlobalEndpoint: false,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true }),
  });
}

/** DynamoDB is a cache here: fail fast (two short attempts) and let the cache degrade to memory. */
export function createDynamoDbClient(
  options: { region?: string; endpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    ...options,
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 500, requestTimeout: 1000, throwOnRequestTimeout: true }),
  });
}

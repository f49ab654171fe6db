/**
 * API Gateway HTTP API (payload 2.0) events and a Lambda context, to invoke the middy handlers directly
 * as Lambda would.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

export interface IamCallerFields {
  readonly accountId: string;
  readonly principalOrgId?: string;
  readonly userArn?: string;
}

export const CALLER_ACCOUNT = '111122223333';

export interface HttpEventOptions {
  /** e.g. `GET /token/graph` (one route per alias) or `GET /token/{alias}` (catch-all). */
  readonly routeKey: string;
  /** @default derived from routeKey and pathParameters */
  readonly rawPath?: string;
  readonly pathParameters?: Record<string, string>;
  /** The IAM caller API Gateway verified; `null` for a public route (no authorizer). @default an app role in CALLER_ACCOUNT */
  readonly caller?: IamCallerFields | null;
}

/** A payload 2.0 event as API Gateway sends it for `GET`. */
export function httpEvent(options: HttpEventOptions): APIGatewayProxyEventV2WithIAMAuthorizer {
  const path =
    options.rawPath ??
    options.routeKey.replace(/^GET /, '').replace(/\{(\w+)\+?\}/g, (_m, name: string) => options.pathParameters?.[name] ?? '');
  const caller = options.caller === undefined ? { accountId: CALLER_ACCOUNT } : options.caller;
  const timeEpoch = Date.UTC(2025, 5, 1, 12, 0, 0);
  const requestContext = {
    accountId: '999988887777',
    apiId: 'abc123',
    domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
    domainPrefix: 'abc123',
    http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'aws-sdk-js/3 broker-token' },
    requestId: 'JKJaXmPLvHcESHA=',
    routeKey: options.routeKey,
    stage: '$default',
    time: '01/Jun/2025:12:00:00 +0000',
    timeEpoch,
    authorizer: caller
      ? {
          iam: {
            accessKey: 'ASIAEXAMPLEACCESSKEY',
            accountId: caller.accountId,
            callerId: 'AROAEXAMPLEROLEID:fn',
            cognitoIdentity: null,
            principalOrgId: caller.principalOrgId ?? 'o-abc123',
            userArn: caller.userArn ?? `arn:aws:sts::${caller.accountId}:assumed-role/app-role/fn`,
            userId: 'AROAEXAMPLEROLEID:fn',
          },
        }
      : undefined,
  };
  return {
    version: '2.0',
    routeKey: options.routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'aws-sdk-js/3 broker-token',
      ...(caller ? { authorization: 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEACCESSKEY/20250601/eu-west-1/execute-api/aws4_request' } : {}),
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    isBase64Encoded: false,
    // Public routes carry no authorizer; the type only models the IAM case.
    requestContext: requestContext as APIGatewayProxyEventV2WithIAMAuthorizer['requestContext'],
  };
}

/** A Lambda context with time left, so middy's early-timeout path runs as it does in Lambda. */
export function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'broker-token',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:999988887777:function:broker-token',
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/broker-token',
    logStreamName: '2025/06/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The response body, parsed. */
export function jsonBody(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(response.body ?? 'null') as Record<string, unknown>;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** The IAM caller the local runtime vouches for after checking a SigV4 signature. */
export interface LocalCaller {
  readonly accessKey: string;
  readonly accountId: string;
  readonly userArn: string;
}

/**
 * Builds the API Gateway HTTP API (payload 2.0) event that a deployed function would receive for this
 * request, so the local runtime runs the deployment's own handlers unchanged.
 */
export function toApiGatewayEvent(
  request: IncomingMessage,
  route: { routeKey: string; pathParameters?: Record<string, string> },
  rawPath: string,
  rawQueryString: string,
  caller: LocalCaller | undefined,
  now: number,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryStringParameters = rawQueryString ? Object.fromEntries(new URLSearchParams(rawQueryString)) : undefined;
  const requestId = randomUUID();
  return {
    version: '2.0',
    routeKey: route.routeKey,
    rawPath,
    rawQueryString,
    headers,
    queryStringParameters,
    pathParameters: route.pathParameters,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
      authorizer: {
        iam: {
          accessKey: caller?.accessKey ?? '',
          accountId: caller?.accountId ?? '',
          callerId: caller?.accessKey ?? '',
          cognitoIdentity: null,
          principalOrgId: '',
          userArn: caller?.userArn ?? '',
          userId: caller?.accessKey ?? '',
        },
      },
    },
  };
}

/** A minimal Lambda context for local invocations. */
export function localContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Writes a handler's payload 2.0 result as the HTTP response, as API Gateway does. */
export function sendResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  response.writeHead(result.statusCode ?? 200, {
    ...(result.headers as Record<string, string> | undefined),
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** API Gateway's own bare answers (unmatched route, failed IAM authorization). */
export function sendGatewayMessage(response: ServerResponse, statusCode: number, message: string): void {
  sendResult(response, { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
}

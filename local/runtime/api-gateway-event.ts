/**
 * The one builder of API Gateway HTTP API (payload 2.0) events and Lambda contexts, so the local runtime, the
 * tests and the benchmark all hand the deployment's handlers what a deployed function would receive.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';

/** The API id and stage of the local runtime's events: what its token handler accepts (the direct-invocation tripwire). */
export const LOCAL_API = { apiId: 'local', stage: '$default' } as const;

/** What API Gateway's IAM authorizer says about a caller it verified (`requestContext.authorizer.iam`). */
export interface VerifiedIamCaller {
  readonly accessKey: string;
  readonly accountId: string;
  readonly userArn: string;
  /** @default '' (not in an organization) */
  readonly principalOrgId?: string;
  /** @default the access key */
  readonly userId?: string;
}

export interface ApiGatewayEventInput {
  /** e.g. `GET /token/graph` (one route per alias) or `GET /token/{alias}` (the catch-all). */
  readonly routeKey: string;
  readonly rawPath: string;
  /** @default '' */
  readonly rawQueryString?: string;
  /** @default 'GET' */
  readonly method?: string;
  /** Lower-case header names; several values joined with commas, as API Gateway does. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  readonly pathParameters?: Readonly<Record<string, string>>;
  /** The verified caller of an IAM-authorized route; absent for a public route (no authorizer). */
  readonly caller?: VerifiedIamCaller;
  /** @default 'local' */
  readonly apiId?: string;
  /** @default '$default' */
  readonly stage?: string;
  /** The account that owns the API. @default '000000000000' */
  readonly accountId?: string;
  /** @default '127.0.0.1' */
  readonly sourceIp?: string;
  /** @default 'HTTP/1.1' */
  readonly protocol?: string;
  /** API Gateway's request id. @default a random UUID */
  readonly requestId?: string;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/** A payload 2.0 event as API Gateway sends it to an integration. */
export function apiGatewayEvent(input: ApiGatewayEventInput): APIGatewayProxyEventV2WithIAMAuthorizer {
  const headers = { ...input.headers };
  const rawQueryString = input.rawQueryString ?? '';
  const apiId = input.apiId ?? LOCAL_API.apiId;
  const caller = input.caller;
  const requestContext = {
    accountId: input.accountId ?? '000000000000',
    apiId,
    domainName: headers.host ?? '127.0.0.1',
    domainPrefix: apiId,
    http: {
      method: input.method ?? 'GET',
      path: input.rawPath,
      protocol: input.protocol ?? 'HTTP/1.1',
      sourceIp: input.sourceIp ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: input.requestId ?? randomUUID(),
    routeKey: input.routeKey,
    stage: input.stage ?? LOCAL_API.stage,
    time: new Date(input.now).toUTCString(),
    timeEpoch: input.now,
    ...(caller
      ? {
          authorizer: {
            iam: {
              accessKey: caller.accessKey,
              accountId: caller.accountId,
              callerId: caller.userId ?? caller.accessKey,
              cognitoIdentity: null,
              principalOrgId: caller.principalOrgId ?? '',
              userArn: caller.userArn,
              userId: caller.userId ?? caller.accessKey,
            },
          },
        }
      : {}),
  };
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
    ...(input.pathParameters ? { pathParameters: { ...input.pathParameters } } : {}),
    isBase64Encoded: false,
    // Public routes carry no authorizer; the type only models the IAM case.
    requestContext: requestContext as APIGatewayProxyEventV2WithIAMAuthorizer['requestContext'],
  };
}

export interface LambdaContextInput {
  readonly functionName: string;
  /** The function's timeout: `getRemainingTimeInMillis` counts down from it. */
  readonly timeoutMs: number;
  /** @default a random UUID */
  readonly awsRequestId?: string;
  /** @default 'local' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** @default '256' */
  readonly memoryLimitInMB?: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** A Lambda context whose remaining time counts down from `timeoutMs`, so deadline logic runs as in Lambda. */
export function lambdaContext(input: LambdaContextInput): Context {
  const clock = input.clock ?? Date.now;
  const deadline = clock() + input.timeoutMs;
  const { functionName } = input;
  // Context still declares the callback-era done/fail/succeed; handlers here are async and never call them.
  const context: Omit<Context, 'done' | 'fail' | 'succeed'> = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${input.region ?? 'local'}:${input.accountId ?? '000000000000'}:function:${functionName}`,
    memoryLimitInMB: input.memoryLimitInMB ?? '256',
    awsRequestId: input.awsRequestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - clock()),
  };
  return context as Context;
}

/**
 * The one builder of API Gateway events — HTTP API (payload 2.0) and, for the private endpoint, REST API (payload
 * 1.0) — and Lambda contexts, so the local runtime, the tests and the benchmark all hand the deployment's handlers
 * what a deployed function would receive.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { PRIVATE_STAGE_NAME } from '../../contract/http-api';

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

/** What API Gateway knows of a request, whichever API's event it builds. */
export interface GatewayRequestInput {
  /** @default 'GET' */
  readonly method?: string;
  readonly pathParameters?: Readonly<Record<string, string>>;
  /** @default 'local' */
  readonly apiId?: string;
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

export interface ApiGatewayEventInput extends GatewayRequestInput {
  /** e.g. `GET /token/graph` (one route per alias) or `GET /token/{alias}` (the catch-all). */
  readonly routeKey: string;
  readonly rawPath: string;
  /** @default '' */
  readonly rawQueryString?: string;
  /** Lower-case header names; several values joined with commas, as API Gateway does. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** The verified caller of an IAM-authorized route; absent for a public route (no authorizer). */
  readonly caller?: VerifiedIamCaller;
  /** @default '$default' */
  readonly stage?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const twoDigits = (n: number): string => (n < 10 ? `0${String(n)}` : String(n));
/** The last second formatted: under load most requests share it. */
let lastClf = { second: Number.NaN, text: '' };

/**
 * `04/Mar/2020:19:15:17 +0000`: the CLF time of an HTTP API event's `requestContext.time` and a REST event's
 * `requestContext.requestTime` (API Gateway Developer Guide, "Lambda proxy integrations for HTTP APIs" and "Input format
 * of a Lambda function for proxy integration").
 */
export function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (lastClf.second !== second) {
    const d = new Date(second * 1000);
    const text =
      `${twoDigits(d.getUTCDate())}/${MONTHS[d.getUTCMonth()] ?? ''}/${String(d.getUTCFullYear())}:` +
      `${twoDigits(d.getUTCHours())}:${twoDigits(d.getUTCMinutes())}:${twoDigits(d.getUTCSeconds())} +0000`;
    lastClf = { second, text };
  }
  return lastClf.text;
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
    time: clfTime(input.now),
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

export interface RestApiEventInput extends GatewayRequestInput {
  /** The matched resource: `/token/graph` (one per alias) or `/token/{alias}` (the catch-all). */
  readonly resource: string;
  /** The path as requested, below the stage: `/token/graph`. */
  readonly path: string;
  /** Header names as received; several values joined with commas. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** The caller IAM authorization verified; absent, every identity field is null (an unauthenticated method). */
  readonly caller?: VerifiedIamCaller;
  /** @default 'broker' */
  readonly stage?: string;
  /** The VPC endpoint the request came through (`requestContext.identity.vpceId`). @default none */
  readonly vpceId?: string;
}

/** The stage name of the private REST API, in the deployment and in the local runtime's private mode. */
export const LOCAL_REST_STAGE = PRIVATE_STAGE_NAME;

/** A header's value whatever the case of its name: a REST event keeps the names as received. */
function headerNamed(headers: Readonly<Record<string, string>>, lowerCaseName: string): string | undefined {
  return Object.entries(headers).find(([name]) => name.toLowerCase() === lowerCaseName)?.[1];
}

/**
 * A REST API Lambda proxy integration (payload 1.0) event as API Gateway sends it (API Gateway Developer Guide, "Input
 * format of a Lambda function for proxy integration"): the caller in `requestContext.identity`, the matched resource in
 * `resource` and `requestContext.resourcePath`, and the stage in `requestContext.path` too.
 */
export function restApiEvent(input: RestApiEventInput): APIGatewayProxyEvent {
  const headers = { ...input.headers };
  const apiId = input.apiId ?? LOCAL_API.apiId;
  const stage = input.stage ?? LOCAL_REST_STAGE;
  const method = input.method ?? 'GET';
  const caller = input.caller;
  return {
    resource: input.resource,
    path: input.path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: input.pathParameters ? { ...input.pathParameters } : null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      accountId: input.accountId ?? '000000000000',
      apiId,
      authorizer: null,
      domainName: headerNamed(headers, 'host') ?? '127.0.0.1',
      domainPrefix: apiId,
      extendedRequestId: input.requestId ?? randomUUID(),
      httpMethod: method,
      identity: {
        accessKey: caller?.accessKey ?? null,
        accountId: caller?.accountId ?? null,
        apiKey: null,
        apiKeyId: null,
        caller: caller ? (caller.userId ?? caller.accessKey) : null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: caller ? (caller.principalOrgId ?? null) : null,
        sourceIp: input.sourceIp ?? '127.0.0.1',
        user: caller ? (caller.userId ?? caller.accessKey) : null,
        userAgent: headerNamed(headers, 'user-agent') ?? null,
        userArn: caller?.userArn ?? null,
        ...(input.vpceId === undefined ? {} : { vpceId: input.vpceId }),
      },
      path: `/${stage}${input.path}`,
      protocol: input.protocol ?? 'HTTP/1.1',
      requestId: input.requestId ?? randomUUID(),
      requestTime: clfTime(input.now),
      requestTimeEpoch: input.now,
      resourceId: 'local',
      resourcePath: input.resource,
      stage,
    },
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
    getRemainingTimeInMillis() {
      return Math.max(0, deadline - clock());
    },
  };
  return context as Context;
}

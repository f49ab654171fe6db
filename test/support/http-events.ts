/**
 * API Gateway HTTP API (payload 2.0) events and a Lambda context with the test suite's defaults, built by the
 * project's one event builder (local/runtime/api-gateway-event.ts), to invoke the middy handlers as Lambda would.
 */
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  apiGatewayEvent,
  lambdaContext as buildContext,
  restApiEvent,
  type VerifiedIamCaller,
} from '../../local/runtime/api-gateway-event';

export interface IamCallerFields {
  readonly accountId: string;
  readonly principalOrgId?: string;
  readonly userArn?: string;
}

export const CALLER_ACCOUNT = '111122223333';
/** The API id and stage on every event built here: what the token handler under test expects. */
export const TEST_API = { apiId: 'abc123', stage: '$default' } as const;
/** API Gateway's request id on every event built here, unless `requestId` says otherwise. */
export const API_REQUEST_ID = 'JKJaXmPLvHcESHA=';

/** What API Gateway's IAM authorization says of the caller: an app role's session in `accountId`. */
function verifiedCaller(caller: IamCallerFields): VerifiedIamCaller {
  return {
    accessKey: 'ASIAEXAMPLEACCESSKEY',
    accountId: caller.accountId,
    userId: 'AROAEXAMPLEROLEID:fn',
    principalOrgId: caller.principalOrgId ?? 'o-abc123',
    userArn: caller.userArn ?? `arn:aws:sts::${caller.accountId}:assumed-role/app-role/fn`,
  };
}

export interface HttpEventOptions {
  /** e.g. `GET /token/graph` (one route per alias) or `GET /token/{alias}` (catch-all). */
  readonly routeKey: string;
  /** @default derived from routeKey and pathParameters */
  readonly rawPath?: string;
  readonly pathParameters?: Record<string, string>;
  /** The IAM caller API Gateway verified; `null` for a public route (no authorizer). @default an app role in CALLER_ACCOUNT */
  readonly caller?: IamCallerFields | null;
  /** API Gateway's request id. @default API_REQUEST_ID */
  readonly requestId?: string;
}

/** A payload 2.0 event as API Gateway sends it for `GET`. */
export function httpEvent(options: HttpEventOptions): APIGatewayProxyEventV2WithIAMAuthorizer {
  const path =
    options.rawPath ??
    options.routeKey.replace(/^GET /, '').replace(/\{(\w+)\+?\}/g, (_m, name: string) => options.pathParameters?.[name] ?? '');
  const caller = options.caller === undefined ? { accountId: CALLER_ACCOUNT } : options.caller;
  return apiGatewayEvent({
    routeKey: options.routeKey,
    rawPath: path,
    headers: {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'aws-sdk-js/3 broker-token',
      ...(caller ? { authorization: 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEACCESSKEY/20250601/eu-west-1/execute-api/aws4_request' } : {}),
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    apiId: TEST_API.apiId,
    stage: TEST_API.stage,
    accountId: '999988887777',
    sourceIp: '203.0.113.7',
    requestId: options.requestId ?? API_REQUEST_ID,
    now: Date.UTC(2025, 5, 1, 12, 0, 0),
    ...(caller ? { caller: verifiedCaller(caller) } : {}),
  });
}

/** The private REST API and stage of the REST events built here. */
export const TEST_REST_API = { apiId: 'pr1v4te9zz', stage: 'broker' } as const;
export const TEST_VPCE = 'vpce-0123456789abcdef0';

export interface RestEventOptions {
  /** The matched resource: `/token/graph` or the catch-all `/token/{alias}`. */
  readonly resource: string;
  /** @default derived from resource and pathParameters */
  readonly path?: string;
  /** @default 'GET' */
  readonly method?: string;
  readonly pathParameters?: Record<string, string>;
  /** The IAM caller API Gateway verified. @default an app role in CALLER_ACCOUNT */
  readonly caller?: IamCallerFields;
  /** @default TEST_REST_API */
  readonly api?: { readonly apiId: string; readonly stage: string };
  /** @default API_REQUEST_ID */
  readonly requestId?: string;
}

/** A REST API (payload 1.0) event as the private token API sends it for `GET`, through TEST_VPCE. */
export function restEvent(options: RestEventOptions): APIGatewayProxyEvent {
  const path = options.path ?? options.resource.replace(/\{(\w+)\}/g, (_m, name: string) => options.pathParameters?.[name] ?? '');
  const caller = options.caller ?? { accountId: CALLER_ACCOUNT };
  const api = options.api ?? TEST_REST_API;
  return restApiEvent({
    resource: options.resource,
    path,
    ...(options.method ? { method: options.method } : {}),
    headers: {
      Host: `${api.apiId}.execute-api.eu-west-1.amazonaws.com`,
      'User-Agent': 'aws-sdk-js/3 broker-token',
      Authorization: 'AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEACCESSKEY/20250601/eu-west-1/execute-api/aws4_request',
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    apiId: api.apiId,
    stage: api.stage,
    vpceId: TEST_VPCE,
    accountId: '999988887777',
    sourceIp: '10.0.1.17',
    requestId: options.requestId ?? API_REQUEST_ID,
    now: Date.UTC(2025, 5, 1, 12, 0, 0),
    caller: verifiedCaller(caller),
  });
}

export const LAMBDA_REQUEST_ID = 'c6af9ac6-7b61-11e6-9a41-93e812345678';

/** A Lambda context with time left, so middy's early-timeout path runs as it does in Lambda. */
export function lambdaContext(awsRequestId = LAMBDA_REQUEST_ID): Context {
  return buildContext({
    functionName: 'broker-token',
    timeoutMs: 10_000,
    awsRequestId,
    region: 'eu-west-1',
    accountId: '999988887777',
  });
}

/** The response body, parsed. */
export function jsonBody(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(response.body ?? 'null') as Record<string, unknown>;
}

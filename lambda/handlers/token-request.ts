/**
 * What the token handler reads from an API Gateway event, whichever API sent it: the public HTTP API (payload 2.0:
 * `routeKey`, `requestContext.authorizer.iam`) or the private REST API (payload 1.0, the REST proxy integration:
 * `requestContext.resourcePath`, `requestContext.identity`). The two shapes are documented in the API Gateway
 * Developer Guide ("Create AWS Lambda proxy integrations for HTTP APIs", payload format versions; "Input format of a
 * Lambda function for proxy integration" for REST APIs). Every field is read defensively: an event handed to the
 * function directly may have any shape.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import type { IamCaller } from '../core/caller-restriction';
import { HTTP_METHOD, TOKEN_PATH_PREFIX } from '../../contract/http-api';

/** An event of either API, as the token function receives it. */
export type TokenEvent = APIGatewayProxyEventV2WithIAMAuthorizer | APIGatewayProxyEvent;

/** A token request, read from either payload. */
export interface TokenRequest {
  /** `requestContext.apiId` and `stage`, for the direct-invocation tripwire. */
  readonly apiId: unknown;
  readonly stage: unknown;
  /** The route as API Gateway matched it (`GET /token/graph`), for the tripwire's log line. */
  readonly route: unknown;
  /**
   * The alias of the route's own resource (`/token/graph`); undefined for the catch-all `/token/{alias}` or any other
   * route. Never the catch-all's path parameter: that would serve an alias through a route no `grantToken` names.
   */
  readonly alias: string | undefined;
  /** The catch-all's path parameter, only to name it in the 404. */
  readonly requestedAlias: string | undefined;
  /** The caller API Gateway's IAM authorization verified; undefined when the event carries none. */
  readonly caller: IamCaller | undefined;
  /** API Gateway's request id. */
  readonly apiRequestId: string;
}

/** The alias of a resource path `/token/<alias>`; undefined for the catch-all's `{alias}` or anything else. */
function aliasOfPath(path: string): string | undefined {
  if (!path.startsWith(TOKEN_PATH_PREFIX)) return undefined;
  const alias = path.slice(TOKEN_PATH_PREFIX.length);
  return alias.length === 0 || alias.includes('/') || alias.includes('{') ? undefined : alias;
}

/**
 * The alias of a token request, from its route key alone (`GET /token/graph`: one route per alias, each with its
 * own IAM resource); undefined for the catch-all `GET /token/{alias}` or any other route key.
 */
export function aliasOfRouteKey(routeKey: unknown): string | undefined {
  const method = `${HTTP_METHOD} `;
  if (typeof routeKey !== 'string' || !routeKey.startsWith(method)) return undefined;
  return aliasOfPath(routeKey.slice(method.length));
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const record = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;

/** True for a REST API (payload 1.0) event: it has `httpMethod` and `resource`, and no `version` "2.0". */
function isRestEvent(event: Record<string, unknown>): boolean {
  return event.version !== '2.0' && typeof event.httpMethod === 'string' && typeof event.resource === 'string';
}

/** A caller's three fields, or undefined when the event has no caller at all. */
function callerOf(fields: Record<string, unknown> | undefined): IamCaller | undefined {
  if (fields === undefined) return undefined;
  return {
    userArn: text(fields.userArn) ?? null,
    accountId: text(fields.accountId) ?? null,
    principalOrgId: text(fields.principalOrgId) ?? null,
  };
}

/** Reads a token request from an HTTP API (2.0) or REST API (1.0) event. */
export function readTokenRequest(event: TokenEvent): TokenRequest {
  const raw = record(event) ?? {};
  const requestContext = record(raw.requestContext);
  const apiRequestId = text(requestContext?.requestId) ?? '';
  if (isRestEvent(raw)) {
    // The resource path is the method's own resource: `/token/graph`, or `/token/{alias}` for the catch-all. A GET
    // only: the API has no other method, so another one here was not sent by it.
    const resourcePath = text(requestContext?.resourcePath) ?? text(raw.resource) ?? '';
    const method = text(raw.httpMethod);
    return {
      apiId: requestContext?.apiId,
      stage: requestContext?.stage,
      route: `${method ?? ''} ${resourcePath}`,
      alias: method === HTTP_METHOD ? aliasOfPath(resourcePath) : undefined,
      requestedAlias: text(record(raw.pathParameters)?.alias),
      caller: callerOf(record(requestContext?.identity)),
      apiRequestId,
    };
  }
  return {
    apiId: requestContext?.apiId,
    stage: requestContext?.stage,
    route: raw.routeKey,
    alias: aliasOfRouteKey(raw.routeKey),
    requestedAlias: text(record(raw.pathParameters)?.alias),
    caller: callerOf(record(record(requestContext?.authorizer)?.iam)),
    apiRequestId,
  };
}

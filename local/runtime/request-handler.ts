/**
 * The local runtime's part of API Gateway: an HTTP request becomes the route's event (payload 2.0; for the token routes
 * with a private endpoint, the REST API's payload 1.0) and Lambda context,
 * in an invocation scope of its own, and the handler's result becomes the HTTP response. Refused before any handler
 * runs: a Host that is not loopback (or the configured issuer's), an unmatched route, a body over 64 KB, and a token
 * request the IAM stand-in does not authorize.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Clock, Logger } from '../../lambda/core/ports';
import { apiGatewayEvent, lambdaContext, restApiEvent, type VerifiedIamCaller } from './api-gateway-event';
import { isAllowedHost } from './host-check';
import { flattenHeaders, readBody, sendGatewayMessage, sendResult } from './http-bridge';
import type { InvocationScope } from './invocation-scope';
import { matchRoute, type TokenRouteLayout } from './routes';

/** How many Host headers' verdicts a runtime keeps. */
const MAX_REMEMBERED_HOSTS = 64;

/** The same as the token function's timeout in the stack. */
export const HANDLER_TIMEOUT_MS = 15_000;

export type RouteHandler = (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
/** The token route's handler takes the HTTP API's events and the private REST API's alike. */
export type TokenRouteHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer | APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** What IAM authorization looks at: the request as signed. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export interface RequestHandlerDeps {
  /** The deployment's handlers by route; a route without one answers 404 (signer "aws-sts" has no public routes). */
  readonly handlers: { readonly discovery?: RouteHandler; readonly jwks?: RouteHandler; readonly token?: TokenRouteHandler };
  /**
   * With a private endpoint, the private REST API's id and stage: the token routes are under `/{stage}` and their events
   * are REST API (payload 1.0) events. @default - the token routes are on the HTTP API
   */
  readonly privateApi?: { readonly apiId: string; readonly stage: string };
  /** The configured aliases: each has a route of its own, as in the stack. */
  readonly aliases: ReadonlySet<string>;
  /** The configured issuer, whose host is served besides the loopback names. @default - loopback names only */
  readonly issuer: string | undefined;
  /**
   * API Gateway's IAM authorization of a token request: the caller it presents to the handler, or undefined to refuse
   * it (403 `{"message":"Forbidden"}`); it logs why.
   */
  readonly authorize: (request: SignedRequest) => VerifiedIamCaller | undefined;
  /**
   * Whether `authorize` may log (it checks signatures): the runtime's logger is then told the request's context
   * before it runs. @default true
   */
  readonly authorizeLogs?: boolean;
  /** The runtime's own lines (a refused Host or signature), with the request's id. */
  readonly logger: Logger;
  /** The Powertools logger behind `logger`, told each request's context. */
  readonly powertools: PowertoolsLogger;
  /** Runs each request in its own invocation scope (./invocation-scope.ts). */
  readonly inScope: InvocationScope;
  readonly clock: Clock;
}

/** The `request` listener of the local runtime's HTTP server. */
export function createRequestHandler(deps: RequestHandlerDeps): (request: IncomingMessage, response: ServerResponse) => void {
  // Built once: per-request closures cost more than the little they hold (tsx names each one it creates).
  const layout: TokenRouteLayout = { stagePath: deps.privateApi ? `/${deps.privateApi.stage}` : '' };
  /**
   * The runtime's own lines about a request (a refused Host or signature) carry its id too; told only when the runtime
   * may write one, as most requests go straight to a handler, which is told by its own middleware.
   */
  const beforeOwnLine = (awsRequestId: string) =>
    deps.powertools.addContext(
      lambdaContext({ functionName: 'broker-local-runtime', timeoutMs: HANDLER_TIMEOUT_MS, awsRequestId, clock: deps.clock }),
    );

  const serve = async (request: IncomingMessage, response: ServerResponse, awsRequestId: string): Promise<void> => {
    // API Gateway's request id, in the event and, as HTTP APIs answer it, in the `apigw-requestid` header: 16 base64
    // characters from 11 random bytes, taken from a UUID (Node batches their entropy) rather than a read of its own.
    const apiRequestId = Buffer.from(randomUUID().replaceAll('-', '').slice(0, 22), 'hex').toString('base64');
    response.setHeader('apigw-requestid', apiRequestId);
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQueryString = queryAt === -1 ? '' : target.slice(queryAt + 1);
    if (!allowedHost(request.headers.host)) {
      beforeOwnLine(awsRequestId);
      deps.logger.warn('request refused: Host is not a loopback name or address (DNS rebinding?)', {
        host: (request.headers.host ?? '').slice(0, 128),
        path: rawPath.slice(0, 256),
      });
      sendGatewayMessage(
        response,
        403,
        'Forbidden: the local runtime answers only requests addressed to 127.0.0.1, localhost or [::1] (or to the configured issuer)',
      );
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      sendGatewayMessage(response, 413, 'Request Entity Too Large');
      return;
    }
    const route = matchRoute(request.method ?? '', rawPath, deps.aliases, layout);
    const handler = route === undefined ? undefined : deps.handlers[route.handler];
    if (!route || !handler) {
      sendGatewayMessage(response, 404, 'Not Found');
      return;
    }

    let caller: VerifiedIamCaller | undefined;
    if (route.handler === 'token') {
      if (deps.authorizeLogs ?? true) beforeOwnLine(awsRequestId);
      caller = deps.authorize({ method: request.method ?? 'GET', path: rawPath, query: rawQueryString, headers: request.headers, body });
      if (!caller) {
        sendGatewayMessage(response, 403, 'Forbidden');
        return;
      }
    }
    const context = lambdaContext({
      functionName: `broker-${route.handler}`,
      timeoutMs: HANDLER_TIMEOUT_MS,
      awsRequestId,
      clock: deps.clock,
    });
    if (route.rest && deps.privateApi && deps.handlers.token) {
      const restEvent = restApiEvent({
        resource: route.rest.resource,
        path: route.rest.path,
        method: request.method ?? 'GET',
        headers: flattenHeaders(request),
        ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
        ...(caller ? { caller } : {}),
        apiId: deps.privateApi.apiId,
        stage: deps.privateApi.stage,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        protocol: `HTTP/${request.httpVersion}`,
        requestId: apiRequestId,
        now: deps.clock(),
      });
      sendResult(response, await deps.handlers.token(restEvent, context));
      return;
    }
    const event = apiGatewayEvent({
      routeKey: route.routeKey,
      rawPath,
      rawQueryString,
      method: request.method ?? 'GET',
      headers: flattenHeaders(request),
      ...(route.pathParameters ? { pathParameters: route.pathParameters } : {}),
      ...(caller ? { caller } : {}),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${request.httpVersion}`,
      requestId: apiRequestId,
      now: deps.clock(),
    });
    sendResult(response, await handler(event, context));
  };

  // The Host check parses the header; the few hosts a runtime sees are remembered (bounded: any header can be sent).
  const hostVerdicts = new Map<string | undefined, boolean>();
  const allowedHost = (host: string | undefined): boolean => {
    let verdict = hostVerdicts.get(host);
    if (verdict === undefined) {
      verdict = isAllowedHost(host, deps.issuer);
      if (hostVerdicts.size >= MAX_REMEMBERED_HOSTS) hostVerdicts.clear();
      hostVerdicts.set(host, verdict);
    }
    return verdict;
  };

  return (request, response) => {
    // One id per request, as Lambda gives one per invocation, and its own scope for what Powertools keeps.
    const awsRequestId = randomUUID();
    void deps.inScope(awsRequestId, () =>
      serve(request, response, awsRequestId).catch((error: unknown) => {
        // The handlers answer every error themselves; reaching here is a bug in this adapter.
        deps.logger.error('local runtime failed to serve a request', { error: error instanceof Error ? error.name : 'unknown' });
        if (!response.headersSent) sendGatewayMessage(response, 500, 'Internal Server Error');
        else response.destroy();
      }),
    );
  };
}

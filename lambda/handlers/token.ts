import middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AllowedCallers } from '../../contract/allowed-callers';
import { isRefreshEvent, type RefreshEvent } from '../../contract/refresh-event';
import { isCallerAllowed } from '../core/caller-restriction';
import {
  EntraRejectedError,
  ForbiddenCallerError,
  ForeignInvocationError,
  UnknownScopeError,
  UpstreamUnavailableError,
} from '../core/errors';
import type { BrokerMetrics, Clock, Logger, TokenAudit, TokenServed } from '../core/ports';
import type { TokenAnswer, TokenResponseBody, TokenService } from '../core/token-service';
import { errorResponder } from './error-responder';
import { handleRefreshEvent } from './refresh';
import { readTokenRequest, type TokenEvent, type TokenRequest } from './token-request';

/** Time kept back from the function's timeout to answer with the broker's own 503 rather than time out. */
export const RESPONSE_RESERVE_MS = 1000;

/** The API Gateway stage whose routes invoke the token function (`BROKER_API_ID`, `BROKER_API_STAGE`). */
export interface ExpectedApi {
  readonly apiId: string;
  readonly stage: string;
}

export interface TokenHandlerDeps {
  readonly service: TokenService;
  /** Events from any other API or stage are refused (403), logged and counted: the direct-invocation tripwire. */
  readonly api: ExpectedApi;
  readonly logger: Logger;
  /** Receives every token served (the audit trail). */
  readonly audit: TokenAudit;
  /** Counts Entra's refusals (502) and unavailable upstreams (503); published by the function's middleware. */
  readonly metrics: BrokerMetrics;
  readonly clock: Clock;
  /** @default - every caller IAM allowed */
  readonly allowedCallers?: AllowedCallers;
  /**
   * Run the refresher on a refresh event (`proactiveRefresh` is on); otherwise the tripwire refuses it like any event
   * that did not come through the API. @default false
   */
  readonly acceptRefreshEvents?: boolean;
}

/** At most this much of a value from a refused event goes into the log line. */
const LOGGED_VALUE_CHARS = 128;
const loggable = (value: unknown): string => (typeof value === 'string' ? value.slice(0, LOGGED_VALUE_CHARS) : typeof value);

/**
 * The tripwire: API Gateway sets `requestContext.apiId` and `stage`; an event with others was made by hand and handed
 * to the function directly (`lambda:InvokeFunction`), around the routes' IAM authorization.
 */
function isFromExpectedApi(request: TokenRequest, api: ExpectedApi): boolean {
  return request.apiId === api.apiId && request.stage === api.stage;
}

function refuseForeignInvocation(deps: TokenHandlerDeps, request: TokenRequest): never {
  deps.logger.warn("refused an invocation that did not come through this deployment's API (a direct lambda:InvokeFunction?)", {
    apiId: loggable(request.apiId),
    stage: loggable(request.stage),
    routeKey: loggable(request.route),
    expectedApiId: deps.api.apiId,
    expectedStage: deps.api.stage,
  });
  deps.metrics.count('foreignInvocations');
  throw new ForeignInvocationError();
}

function tokenResponse(answer: TokenAnswer): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(answer.body satisfies TokenResponseBody),
  };
}

/** The audit record of a token served. */
function served(request: TokenRequest, alias: string, answer: TokenAnswer, durationMs?: number): TokenServed {
  return {
    alias,
    cache: answer.outcome,
    token: answer.token,
    callerArn: request.caller?.userArn ?? '',
    callerAccount: request.caller?.accountId ?? '',
    apiRequestId: request.apiRequestId,
    ...(durationMs === undefined ? {} : { durationMs }),
  };
}

/** Counts the failures worth an alarm: Entra said no (502), or an upstream was unavailable (503). */
function countFailure(metrics: BrokerMetrics, error: unknown): void {
  if (error instanceof EntraRejectedError) metrics.count('entraRejections');
  else if (error instanceof UpstreamUnavailableError) metrics.count('upstreamUnavailable');
}

/**
 * `GET /token/{alias}`: IAM-authorized; answers an Entra access token, never cached by intermediaries. Takes the
 * public HTTP API's events (payload 2.0) and the private REST API's (payload 1.0) alike (./token-request.ts); both
 * APIs read the same result (`statusCode`, `headers`, `body`).
 * Every token served, memory hits included, goes to the audit trail: who (the caller IAM verified), which
 * request (API Gateway's and Lambda's ids), which token (Entra's `uti` and correlation id), from which tier.
 * What it counts is published by the function's `logMetrics` middleware, failures included.
 */
export function createTokenHandler(deps: TokenHandlerDeps) {
  return middy<TokenEvent | RefreshEvent, APIGatewayProxyStructuredResultV2>(
    async (received: TokenEvent | RefreshEvent, context: Context) => {
      if (deps.acceptRefreshEvents === true && isRefreshEvent(received)) {
        return handleRefreshEvent(deps, deps.clock() + context.getRemainingTimeInMillis() - RESPONSE_RESERVE_MS);
      }
      const request = readTokenRequest(received as TokenEvent);
      if (!isFromExpectedApi(request, deps.api)) refuseForeignInvocation(deps, request);
      if (!isCallerAllowed(request.caller, deps.allowedCallers)) throw new ForbiddenCallerError();
      const { alias } = request;
      if (alias === undefined) throw new UnknownScopeError(request.requestedAlias);
      const hit = deps.service.cached(alias);
      if (hit) {
        deps.audit.tokenServed(served(request, alias, hit));
        return tokenResponse(hit);
      }

      const started = deps.clock();
      let answer: TokenAnswer;
      try {
        // KMS, DynamoDB and a lease wait may use part of the time: Entra's retries get what is left.
        answer = await deps.service.getToken(alias, started + context.getRemainingTimeInMillis() - RESPONSE_RESERVE_MS);
      } catch (error) {
        countFailure(deps.metrics, error);
        throw error;
      }
      // Served from the store or stale is no wait; an exchange, this request's or one it shared, is.
      if (answer.outcome === 'exchange' || answer.outcome === 'shared') deps.metrics.count('callerWaits');
      deps.audit.tokenServed(served(request, alias, answer, deps.clock() - started));
      return tokenResponse(answer);
    },
  ).use(errorResponder(deps.logger));
}

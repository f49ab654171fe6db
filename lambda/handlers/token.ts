import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { AllowedCallers } from '../../contract/allowed-callers';
import { isCallerAllowed } from '../core/caller-restriction';
import { EntraRejectedError, ForbiddenCallerError, UpstreamUnavailableError } from '../core/errors';
import type { BrokerMetrics, Clock, Logger, TokenAudit, TokenServed } from '../core/ports';
import type { TokenAnswer, TokenResponseBody, TokenService } from '../core/token-service';
import { errorResponder } from './error-responder';

/** Time kept back from the function's timeout to answer with the broker's own 503 rather than time out. */
export const RESPONSE_RESERVE_MS = 1000;

export interface TokenHandlerDeps {
  readonly service: TokenService;
  readonly logger: Logger;
  /** Receives every token served (the audit trail). */
  readonly audit: TokenAudit;
  /** Counts Entra's refusals (502) and unavailable upstreams (503). */
  readonly metrics: BrokerMetrics;
  readonly clock: Clock;
  /** @default - every caller IAM allowed */
  readonly allowedCallers?: AllowedCallers;
  /**
   * Told of each invocation first, so that any line written during it carries its ids; must cost next to
   * nothing (the logger adds the context only when a line is written). @default - nothing to tell
   */
  readonly beginInvocation?: (context: Context) => void;
}

/**
 * The alias of a token request: the `{alias}` path parameter of the catch-all route, or the last
 * segment of a per-alias route key such as `GET /token/graph`.
 */
export function aliasOf(event: Pick<APIGatewayProxyEventV2WithIAMAuthorizer, 'pathParameters' | 'routeKey'>): string {
  return event.pathParameters?.alias ?? event.routeKey.slice(event.routeKey.lastIndexOf('/') + 1);
}

/**
 * Serializing a 1–2 KB token answer costs more than the rest of a cache hit. The answer changes only when the
 * token or its `expires_in` second does (TokenService then returns a new answer object), so under load most hits
 * reuse the whole result.
 */
function responses() {
  const last = new Map<string, { answer: TokenAnswer; result: APIGatewayProxyStructuredResultV2 }>();
  return (alias: string, answer: TokenAnswer): APIGatewayProxyStructuredResultV2 => {
    const seen = last.get(alias);
    if (seen?.answer === answer) return seen.result;
    const result = {
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: JSON.stringify(answer.body satisfies TokenResponseBody),
    };
    last.set(alias, { answer, result });
    return result;
  };
}

type IamCaller = APIGatewayProxyEventV2WithIAMAuthorizer['requestContext']['authorizer']['iam'];

/**
 * The audit record of a token served. A plain function rather than a closure in the handler: a closure there
 * makes every invocation allocate it and its captured scope, which shows in the memory-hit cost.
 */
function served(
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
  caller: IamCaller | undefined,
  alias: string,
  answer: TokenAnswer,
  durationMs?: number,
): TokenServed {
  return {
    alias,
    cache: answer.outcome,
    token: answer.token,
    callerArn: caller?.userArn ?? '',
    callerAccount: caller?.accountId ?? '',
    apiRequestId: event.requestContext.requestId,
    invocation: context,
    durationMs,
  };
}

/** Counts the failures worth an alarm: Entra said no (502), or an upstream was unavailable (503). */
function countFailure(metrics: BrokerMetrics, error: unknown): void {
  if (error instanceof EntraRejectedError) metrics.count('entraRejections');
  else if (error instanceof UpstreamUnavailableError) metrics.count('upstreamUnavailable');
}

/**
 * `GET /token/{alias}`: IAM-authorized; answers an Entra access token, never cached by intermediaries.
 * Every token served, memory hits included, goes to the audit trail: who (the caller IAM verified), which
 * request (API Gateway's and Lambda's ids), which token (Entra's `uti` and correlation id), from which tier.
 */
export function createTokenHandler(deps: TokenHandlerDeps) {
  const respond = responses();
  return middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2>(
    async (event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context) => {
      deps.beginInvocation?.(context);
      const alias = aliasOf(event);
      // Typed as always present, but an event that did not come through the IAM authorizer has none.
      const caller = (event.requestContext as Partial<typeof event.requestContext>).authorizer?.iam;
      if (!isCallerAllowed(caller, deps.allowedCallers)) throw new ForbiddenCallerError();
      const hit = deps.service.cached(alias);
      if (hit) {
        deps.audit.tokenServed(served(event, context, caller, alias, hit));
        return respond(alias, hit);
      }

      const started = deps.clock();
      let answer: TokenAnswer;
      try {
        // KMS, DynamoDB and a lease wait may use part of the time: Entra's retries get what is left.
        answer = await deps.service.getToken(alias, started + context.getRemainingTimeInMillis() - RESPONSE_RESERVE_MS);
      } catch (error) {
        countFailure(deps.metrics, error);
        deps.metrics.flush?.();
        throw error;
      }
      deps.audit.tokenServed(served(event, context, caller, alias, answer, deps.clock() - started));
      // Only a miss counts anything (an exchange, a stale serve, a lease wait, a store failure).
      deps.metrics.flush?.();
      return respond(alias, answer);
    },
  ).use(errorResponder(deps.logger));
}

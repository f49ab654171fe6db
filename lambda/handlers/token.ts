import middy from '@middy/core';
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { isCallerAllowed, type AllowedCallers } from '../core/caller-restriction';
import { ForbiddenCallerError } from '../core/errors';
import type { Clock, Logger } from '../core/ports';
import type { TokenService } from '../core/token-service';
import { errorResponder } from './error-responder';
import { jsonResponse } from './http-response';

export interface TokenHandlerDeps {
  readonly service: TokenService;
  readonly logger: Logger;
  readonly clock: Clock;
  /** @default - every caller IAM allowed */
  readonly allowedCallers?: AllowedCallers;
}

/**
 * The alias of a token request: the `{alias}` path parameter of the catch-all route, or the last
 * segment of a per-alias route key such as `GET /token/graph`.
 */
export function aliasOf(event: Pick<APIGatewayProxyEventV2WithIAMAuthorizer, 'pathParameters' | 'routeKey'>): string {
  return event.pathParameters?.alias ?? event.routeKey.slice(event.routeKey.lastIndexOf('/') + 1);
}

/** `GET /token/{alias}`: IAM-authorized; answers an Entra access token, never cached by intermediaries. */
export function createTokenHandler(deps: TokenHandlerDeps) {
  return middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyStructuredResultV2>(async (event: APIGatewayProxyEventV2WithIAMAuthorizer) => {
    const started = deps.clock();
    const alias = aliasOf(event);
    const caller = event.requestContext.authorizer?.iam;
    if (!isCallerAllowed(caller, deps.allowedCallers)) throw new ForbiddenCallerError();
    const { body, outcome } = await deps.service.getToken(alias);
    deps.logger.info('token served', {
      alias,
      cache: outcome,
      expiresIn: body.expires_in,
      caller: caller?.userArn ?? undefined,
      durationMs: deps.clock() - started,
    });
    return jsonResponse(200, body, 'no-store');
  }).use(errorResponder(deps.logger));
}

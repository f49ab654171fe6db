import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DISCOVERY_CACHE_CONTROL, jwksDocument } from '../core/discovery';
import type { Logger, PublicKeySource } from '../core/ports';
import { errorResponder } from './error-responder';
import { jsonResponse } from './http-response';

export interface JwksHandlerDeps {
  readonly keys: PublicKeySource;
  readonly logger: Logger;
}

/** `GET /jwks`: every published key (active, and next/previous during a rotation). */
export function createJwksHandler(deps: JwksHandlerDeps) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(async () =>
    jsonResponse(200, jwksDocument(await deps.keys.publicKeys()), DISCOVERY_CACHE_CONTROL),
  ).use(errorResponder(deps.logger));
}

import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DISCOVERY_CACHE_CONTROL, jwksDocument } from '../core/discovery';
import type { Logger, PublicKeySource } from '../core/ports';
import { errorResponder } from './error-responder';
import { jsonResponse } from './http-response';

export interface JwksHandlerDeps {
  readonly keys: PublicKeySource;
  readonly logger: Logger;
  /** Shorter than the rotation's publish lead (lambda/core/rotation-state-reader.ts). @default DISCOVERY_CACHE_CONTROL */
  readonly cacheControl?: string;
}

/** `GET /jwks`: every published key (active, and next/previous during a rotation). */
export function createJwksHandler(deps: JwksHandlerDeps) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(async () =>
    jsonResponse(200, jwksDocument(await deps.keys.publicKeys()), deps.cacheControl ?? DISCOVERY_CACHE_CONTROL),
  ).use(errorResponder(deps.logger));
}

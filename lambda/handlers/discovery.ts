import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DISCOVERY_CACHE_CONTROL, discoveryDocument } from '../core/discovery';
import type { Logger } from '../core/ports';
import { errorResponder } from './error-responder';
import { jsonResponse } from './http-response';

export interface DiscoveryHandlerDeps {
  /** No trailing slash; equal to the assertions' `iss`. */
  readonly issuer: string;
  readonly logger: Logger;
}

/** `GET /.well-known/openid-configuration`: public, static for a deployment. */
export function createDiscoveryHandler(deps: DiscoveryHandlerDeps) {
  const body = discoveryDocument(deps.issuer);
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(async () => jsonResponse(200, body, DISCOVERY_CACHE_CONTROL)).use(
    errorResponder(deps.logger),
  );
}

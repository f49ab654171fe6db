import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { toBrokerError } from '../core/errors';
import type { Logger } from '../core/ports';
import { jsonResponse } from './http-response';

/**
 * The one place errors become HTTP: any error is rendered through the contract (`{"error", "message", …}`)
 * with its status and `Cache-Control: no-store`. The log line carries the code, the answer's details (for a
 * 502, Entra's AADSTS code, correlation and trace ids, so a failed sign-in can be found from the log alone) and the
 * cause's name and message for operators; the body carries neither stack nor SDK text.
 */
export function errorResponder(logger: Logger): MiddlewareObj<unknown, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const error = toBrokerError(request.error);
      const cause = error.cause instanceof Error ? error.cause : undefined;
      const fields = {
        ...error.details,
        status: error.statusCode,
        error: error.code,
        reason: error.message,
        cause: cause ? `${cause.name}: ${cause.message}` : undefined,
      };
      if (error.statusCode >= 500) logger.error('request failed', fields);
      else logger.info('request refused', fields);
      request.response = jsonResponse(error.statusCode, error.toJSON(), 'no-store');
    },
  };
}

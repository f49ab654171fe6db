import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A JSON response in API Gateway payload 2.0 form. */
export function jsonResponse(statusCode: number, body: unknown, cacheControl: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': cacheControl },
    body: JSON.stringify(body),
  };
}

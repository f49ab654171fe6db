/** Between Node's HTTP server and the handlers: bounded request bodies, and results written as API Gateway does. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** API Gateway's payload limit is 10 MB; a token GET has no body, so far less will do. */
export const MAX_BODY_BYTES = 64 * 1024;

const NO_BODY = Buffer.alloc(0);

/**
 * Whether the request has a body to read: without Content-Length or Transfer-Encoding an HTTP/1.1 request has none
 * (RFC 9112, section 6.3), so a token GET needs no stream iteration. Node discards anything unread when the response
 * ends.
 */
function hasBody(request: IncomingMessage): boolean {
  return request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined;
}

/** @returns the body, or undefined when it exceeds MAX_BODY_BYTES */
export async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  if (!hasBody(request)) return NO_BODY;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Request headers as API Gateway passes them: lower-case names, repeated values joined with commas. */
export function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** Writes a handler's payload 2.0 result as the HTTP response, as API Gateway does. */
export function sendResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  response.writeHead(result.statusCode ?? 200, {
    ...(result.headers as Record<string, string> | undefined),
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** API Gateway's own bare answers (unmatched route, failed IAM authorization). */
export function sendGatewayMessage(response: ServerResponse, statusCode: number, message: string): void {
  sendResult(response, { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message }) });
}

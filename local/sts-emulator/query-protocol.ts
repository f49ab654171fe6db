/**
 * The AWS Query protocol as STS speaks it, for local stand-ins of Query services (STS here; reusable for any
 * Query action, e.g. `GetWebIdentityToken`): form-encoded parameters in, XML out.
 *
 * Requests: `POST /` with `Content-Type: application/x-www-form-urlencoded` and `Action=...&Version=...&...` in
 * the body (what the AWS SDKs send), or the same parameters in the query string of a GET (what the STS API
 * reference's examples show). Answers (STS API reference, "AssumeRoleWithWebIdentity" examples):
 *
 *   <{Action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
 *     <{Action}Result>…</{Action}Result>
 *     <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
 *   </{Action}Response>
 *
 * and errors (as STS answers them, e.g. github.com/aws/aws-sdk-js/issues/198):
 *
 *   <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
 *     <Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>
 *     <RequestId>…</RequestId>
 *   </ErrorResponse>
 *
 * with `Content-Type: text/xml` and the request id also in `x-amzn-RequestId`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const STS_XML_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const MAX_BODY_BYTES = 128 * 1024;

/** An XML element's content: text, or child elements in order (an array repeats `member` entries). */
export type XmlValue = string | number | XmlFields | readonly XmlFields[];
export interface XmlFields {
  readonly [name: string]: XmlValue | undefined;
}

/** A Query-protocol refusal: rendered as `<ErrorResponse>` with its HTTP status. */
export class QueryError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
    readonly type: 'Sender' | 'Receiver' = httpStatus >= 500 ? 'Receiver' : 'Sender',
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

/** One parsed request: its parameters (body and query string), `Action`, and what a signature check needs. */
export interface QueryRequest {
  readonly action: string;
  readonly params: URLSearchParams;
  readonly method: string;
  /** Path as received (percent-encoded), without the query. */
  readonly path: string;
  readonly rawQuery: string;
  readonly rawBody: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * Reads a Query request. Parameters come from the query string and, for a form body, the body (the body wins).
 * @throws QueryError 400 `MissingAction` without `Action`, 413 `RequestEntityTooLarge` past 128 KiB
 */
export async function readQueryRequest(req: IncomingMessage): Promise<QueryRequest> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new QueryError(413, 'RequestEntityTooLarge', 'Request body is larger than the service accepts.');
    chunks.push(chunk);
  }
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://localhost');
  const params = new URLSearchParams(url.search);
  const mediaType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (mediaType === 'application/x-www-form-urlencoded') {
    for (const [name, value] of new URLSearchParams(rawBody)) params.set(name, value);
  }
  const action = params.get('Action');
  // AWS answers a request without Action with MissingAction (aws-sdk error codes list, "Common Errors").
  if (!action) throw new QueryError(400, 'MissingAction', 'The request must contain the parameter Action.');
  return {
    action,
    params,
    method: req.method ?? 'GET',
    path: url.pathname,
    rawQuery: url.search.replace(/^\?/, ''),
    rawBody,
    headers: req.headers,
  };
}

/** XML text escaping for element content. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function renderValue(value: XmlValue): string {
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return (value as readonly XmlFields[]).map((member) => `<member>${renderFields(member)}</member>`).join('');
  return renderFields(value as XmlFields);
}

function renderFields(fields: XmlFields): string {
  return Object.entries(fields)
    .filter((entry): entry is [string, XmlValue] => entry[1] !== undefined)
    .map(([name, value]) => `<${name}>${renderValue(value)}</${name}>`)
    .join('');
}

/** `<{action}Response>` with its `<{action}Result>` and request id. */
export function renderQueryResult(action: string, result: XmlFields, requestId: string, namespace = STS_XML_NAMESPACE): string {
  return (
    `<${action}Response xmlns="${namespace}">` +
    `<${action}Result>${renderFields(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    `</${action}Response>\n`
  );
}

/** `<ErrorResponse>` for a refusal. */
export function renderQueryError(error: QueryError, requestId: string, namespace = STS_XML_NAMESPACE): string {
  return (
    `<ErrorResponse xmlns="${namespace}">` +
    `<Error><Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId>` +
    `</ErrorResponse>\n`
  );
}

export function newRequestId(): string {
  return randomUUID();
}

/** Sends an XML answer the way AWS does (`text/xml`, `x-amzn-RequestId`). */
export function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(xml) }).end(xml);
}

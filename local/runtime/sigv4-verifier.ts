/**
 * SigV4 (`AWS4-HMAC-SHA256`, Authorization header) verification for the local runtime, standing in for API
 * Gateway's IAM authorization when `localCredentials` is set. It recomputes the signature independently with
 * node:crypto, following the canonicalisation of `@smithy/signature-v4` (what the AWS SDK and `client/` sign
 * with) for non-S3 services: normalised, double-encoded path; sorted, encoded query; lowercased, trimmed,
 * sorted headers.
 *
 * Deliberately not supported: presigned URLs (query-string auth), `UNSIGNED-PAYLOAD`, the `date` header in place
 * of `x-amz-date`, and session-token validation (a signed `x-amz-security-token` is accepted as part of the
 * signature; there is no STS here to check it against).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Request {
  readonly method: string;
  /** The path as received on the wire (still percent-encoded), without the query. */
  readonly path: string;
  /** The raw query string, without `?`; empty when there is none. */
  readonly query: string;
  /** As Node gives them (`IncomingMessage.headers`); names are matched case-insensitively. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly body: Uint8Array | string;
}

export interface SigV4VerifyOptions {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** `execute-api` for the broker. */
  readonly service: string;
  /** Milliseconds since the epoch. Default `Date.now`. */
  readonly now?: () => number;
  /** Allowed distance between `x-amz-date` and now, either way. Default 300000 (5 minutes, as AWS). */
  readonly maxSkewMs?: number;
}

/** `reason` is for the server log: it names what failed, never a secret or the signature. */
export type SigV4Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNED_HEADERS = /^[a-z0-9!#$%&'*+.^_`|~-]+(?:;[a-z0-9!#$%&'*+.^_`|~-]+)*$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

const fail = (reason: string): SigV4Verdict => ({ ok: false, reason });

/** RFC 3986 escaping as AWS wants it: everything but `A-Za-z0-9-_.~` (encodeURIComponent leaves `!'()*` too). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** Header names lowercased; repeated values joined with `,` (SigV4's rule for repeated headers). */
function lowercaseHeaders(headers: SigV4Request['headers']): Map<string, string> {
  const result = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const joined = typeof value === 'string' ? value : value.join(',');
    const key = name.toLowerCase();
    const previous = result.get(key);
    result.set(key, previous === undefined ? joined : `${previous},${joined}`);
  }
  return result;
}

/** Same as the SDK signer: CR/LF become spaces, runs of spaces/tabs collapse, ends are trimmed. */
function canonicalHeaderValue(value: string): string {
  return value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

/**
 * The SDK signer drops empty segments, then encodes the already-encoded wire path once more (so `%20` becomes
 * `%2520`) and keeps `/`. Dot segments are refused rather than resolved: a URL-based client never sends them
 * (WHATWG URL removes them), and resolving them here would let the verified path differ from the routed one.
 */
function canonicalPath(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const segments = path.split('/').filter((segment) => segment.length > 0);
  if (segments.some((segment) => segment === '.' || segment === '..')) return undefined;
  const normalized = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

/**
 * Decodes each `name=value` pair and re-encodes it the AWS way, then sorts by name and, for a repeated name, by
 * value. A pair without `=` has an empty value. `+` is taken literally (not as a space), as the SDK sends spaces
 * as `%20`.
 */
function canonicalQuery(query: string): string | undefined {
  const byKey = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair.length === 0) continue;
    const at = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(at === -1 ? pair : pair.slice(0, at));
      value = decodeURIComponent(at === -1 ? '' : pair.slice(at + 1));
    } catch {
      return undefined;
    }
    const key = escapeUri(name);
    const list = byKey.get(key) ?? [];
    list.push(`${key}=${escapeUri(value)}`);
    byKey.set(key, list);
  }
  return [...byKey.keys()]
    .sort()
    .flatMap((key) => (byKey.get(key) ?? []).sort())
    .join('&');
}

interface AuthorizationParts {
  readonly credential: string;
  readonly signedHeaders: string;
  readonly signature: string;
}

function parseAuthorization(value: string): AuthorizationParts | string {
  if (!value.startsWith(`${ALGORITHM} `)) return 'Authorization is not AWS4-HMAC-SHA256';
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const at = part.indexOf('=');
    if (at === -1) return 'malformed Authorization header';
    const name = part.slice(0, at).trim();
    if (fields.has(name)) return `Authorization repeats ${name}`;
    fields.set(name, part.slice(at + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined || fields.size !== 3) {
    return 'Authorization needs exactly Credential, SignedHeaders and Signature';
  }
  return { credential, signedHeaders, signature };
}

function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls over (month 13, second 61 …); a real date survives the round trip.
  const back = new Date(time);
  return back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second
    ? time
    : undefined;
}

/**
 * Checks a SigV4-signed request against one access key. Never throws.
 * @returns `{ ok: true }`, or `{ ok: false, reason }` naming the first check that failed
 */
export function verifySigV4Request(request: SigV4Request, options: SigV4VerifyOptions): SigV4Verdict {
  const { now = Date.now, maxSkewMs = 300_000 } = options;
  const headers = lowercaseHeaders(request.headers);

  const authorization = headers.get('authorization');
  if (authorization === undefined) return fail('missing Authorization header');
  const auth = parseAuthorization(authorization);
  if (typeof auth === 'string') return fail(auth);

  const scope = auth.credential.split('/');
  if (scope.length !== 5) return fail('malformed Credential in Authorization');
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = scope as [string, string, string, string, string];
  if (accessKeyId !== options.accessKeyId) return fail('unknown access key id');
  if (scopeRegion !== options.region) return fail(`credential scope region is "${scopeRegion}", expected "${options.region}"`);
  if (scopeService !== options.service) return fail(`credential scope service is "${scopeService}", expected "${options.service}"`);
  if (terminator !== 'aws4_request') return fail('credential scope does not end in aws4_request');

  if (!SIGNED_HEADERS.test(auth.signedHeaders)) return fail('SignedHeaders is malformed (lowercase names separated by ";")');
  const signedHeaders = auth.signedHeaders.split(';');
  for (let i = 1; i < signedHeaders.length; i++) {
    if ((signedHeaders[i - 1] as string) >= (signedHeaders[i] as string)) return fail('SignedHeaders is not sorted and unique');
  }
  if (!signedHeaders.includes('host')) return fail('host header is not signed');
  if (!signedHeaders.includes('x-amz-date')) return fail('x-amz-date header is not signed');
  if (!SIGNATURE.test(auth.signature)) return fail('Signature is not 64 lowercase hex digits');

  const amzDate = headers.get('x-amz-date');
  if (amzDate === undefined) return fail('missing x-amz-date header');
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return fail('x-amz-date is not YYYYMMDDTHHMMSSZ');
  const skew = signedAt - now();
  if (Math.abs(skew) > maxSkewMs)
    return fail(
      `x-amz-date is ${Math.round(Math.abs(skew) / 1000)} s ${skew < 0 ? 'old' : 'in the future'} (allowed ${maxSkewMs / 1000} s)`,
    );
  if (scopeDate !== amzDate.slice(0, 8)) return fail('credential scope date does not match x-amz-date');

  const headerLines: string[] = [];
  for (const name of signedHeaders) {
    const value = headers.get(name);
    if (value === undefined) return fail(`signed header ${name} is not in the request`);
    headerLines.push(`${name}:${canonicalHeaderValue(value)}`);
  }

  const payloadHash = sha256Hex(request.body);
  const claimedHash = headers.get('x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash) return fail('x-amz-content-sha256 does not match the body');

  let path: string | undefined;
  let query: string | undefined;
  try {
    path = canonicalPath(request.path);
    query = canonicalQuery(request.query);
  } catch {
    // encodeURIComponent throws on lone surrogates, which no wire path holds but a caller's string might.
    return fail('path or query cannot be URI-encoded');
  }
  if (path === undefined) return fail('path does not start with "/" or has dot segments');
  if (query === undefined) return fail('query string has malformed percent-encoding');

  const canonicalRequest = [request.method, path, query, ...headerLines, '', auth.signedHeaders, payloadHash].join('\n');
  const credentialScope = `${scopeDate}/${scopeRegion}/${scopeService}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');

  let key: Buffer = hmac(`AWS4${options.secretAccessKey}`, scopeDate);
  for (const part of [scopeRegion, scopeService, 'aws4_request']) key = hmac(key, part);
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(auth.signature, 'hex');
  // Both are 32 bytes (the Signature format was checked), as timingSafeEqual requires.
  return timingSafeEqual(expected, given) ? { ok: true } : fail('signature does not match');
}

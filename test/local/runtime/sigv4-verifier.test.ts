import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import type { SigV4Request, SigV4VerifyOptions } from '../../../local/runtime/sigv4-verifier';
import { verifySigV4Request } from '../../../local/runtime/sigv4-verifier';

const NOW = Date.UTC(2025, 10, 23, 12, 0, 0);
const CREDS = { accessKeyId: 'AKIDVERIFIERTEST0001', secretAccessKey: 'verifier/secret+key0123456789ABCDEFGHIJK' };
const OPTIONS: SigV4VerifyOptions = { ...CREDS, region: 'us-east-1', service: 'execute-api', now: () => NOW };
const HOST = 'abc123.execute-api.us-east-1.amazonaws.com';

/** How a client puts a query on the wire (RFC 3986 escaping, insertion order: the verifier must sort). */
function wireQuery(query: Record<string, string | string[]>): string {
  const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${escape(k)}=${escape(x)}`))
    .join('&');
}

interface SignInput {
  method?: string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  signedAt?: number;
  region?: string;
  service?: string;
  unsignableHeaders?: Set<string>;
}

/** Signs with the real client signer (@smithy/signature-v4) and returns what the server would see. */
async function signed(input: SignInput = {}): Promise<SigV4Request & { headers: Record<string, string> }> {
  const { method = 'GET', path = '/token/graph', query = {}, headers = {}, body } = input;
  const signer = new SignatureV4({
    service: input.service ?? 'execute-api',
    region: input.region ?? 'us-east-1',
    credentials: input.credentials ?? CREDS,
    sha256: Sha256,
  });
  const request = await signer.sign(
    {
      method,
      protocol: 'https:',
      hostname: HOST,
      path,
      query,
      headers: { host: HOST, ...headers },
      ...(body !== undefined ? { body } : {}),
    },
    { signingDate: new Date(input.signedAt ?? NOW), ...(input.unsignableHeaders ? { unsignableHeaders: input.unsignableHeaders } : {}) },
  );
  return { method, path, query: wireQuery(query), headers: request.headers, body: body ?? '' };
}

function signatureOf(request: { headers: Record<string, string> }): string {
  return /Signature=([0-9a-f]+)/.exec(request.headers.authorization ?? '')?.[1] ?? 'none';
}

function expectRefused(request: SigV4Request & { headers: Record<string, string> }, options: SigV4VerifyOptions, reason: RegExp) {
  const verdict = verifySigV4Request(request, options);
  expect(verdict.ok).toBe(false);
  if (verdict.ok) return;
  expect(verdict.reason).toMatch(reason);
  // The reason goes to a log: never the signature or a secret.
  expect(verdict.reason).not.toContain(signatureOf(request));
  expect(verdict.reason).not.toContain(CREDS.secretAccessKey);
  expect(verdict.reason).not.toContain(options.secretAccessKey);
}

describe('verifySigV4Request against the AWS SigV4 test suite', () => {
  // aws-sig-v4-test-suite vectors "get-vanilla" and "get-vanilla-query-order-key-case": an oracle independent of
  // both the SDK signer and this verifier.
  const suite: SigV4VerifyOptions = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
    service: 'service',
    now: () => Date.UTC(2015, 7, 30, 12, 36, 0),
  };
  const vector = (query: string, signature: string): SigV4Request => ({
    method: 'GET',
    path: '/',
    query,
    body: '',
    headers: {
      host: 'example.amazonaws.com',
      'x-amz-date': '20150830T123600Z',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`,
    },
  });

  it('accepts get-vanilla', () => {
    expect(verifySigV4Request(vector('', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'), suite)).toEqual({ ok: true });
  });

  it('accepts get-vanilla-query-order-key-case (query sorted by name)', () => {
    expect(
      verifySigV4Request(vector('Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'), suite),
    ).toEqual({ ok: true });
  });
});

describe('verifySigV4Request against @smithy/signature-v4', () => {
  it('accepts a request signed by the SDK signer', async () => {
    expect(verifySigV4Request(await signed(), OPTIONS)).toEqual({ ok: true });
  });

  it('accepts a base path and characters the signer double-encodes', async () => {
    // `%20` on the wire is `%2520` in the canonical path; `!` and `'` are escaped by the signer, not by encodeURIComponent.
    for (const path of ['/v1/token/graph', '/prod/token/my%20alias', "/token/a!b'c", '/token/caf%C3%A9', '/token/graph/']) {
      expect(verifySigV4Request(await signed({ path }), OPTIONS), path).toEqual({ ok: true });
    }
  });

  it('accepts a query with repeated keys and characters to escape, in any wire order', async () => {
    const request = await signed({ query: { zeta: 'last', alpha: ['b 2', 'a/1'], 'k*': "v'!" } });
    expect(verifySigV4Request(request, OPTIONS)).toEqual({ ok: true });
  });

  it('accepts a signed session token (x-amz-security-token in SignedHeaders)', async () => {
    const request = await signed({ credentials: { ...CREDS, sessionToken: 'FwoGZXIvYXdzEFAKE//session+token==' } });
    expect(request.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    expect(verifySigV4Request(request, OPTIONS)).toEqual({ ok: true });
  });

  it('accepts a POST body whose hash matches, and refuses a swapped body', async () => {
    const request = await signed({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(verifySigV4Request(request, OPTIONS)).toEqual({ ok: true });
    expectRefused({ ...request, body: '{"a":2}' }, OPTIONS, /^x-amz-content-sha256 does not match the body$/);
  });

  it('hashes the body itself when x-amz-content-sha256 is absent', async () => {
    // applyChecksum: false is how the signer omits the header; the payload hash is still part of the signature.
    const plain = new SignatureV4({
      service: 'execute-api',
      region: 'us-east-1',
      credentials: CREDS,
      sha256: Sha256,
      applyChecksum: false,
    });
    const signedPost = await plain.sign(
      { method: 'POST', protocol: 'https:', hostname: HOST, path: '/token/graph', query: {}, headers: { host: HOST }, body: 'hello' },
      { signingDate: new Date(NOW) },
    );
    const request = { method: 'POST', path: '/token/graph', query: '', headers: signedPost.headers, body: 'hello' };
    expect(request.headers['x-amz-content-sha256']).toBeUndefined();
    expect(verifySigV4Request(request, OPTIONS)).toEqual({ ok: true });
    expectRefused({ ...request, body: 'hellO' }, OPTIONS, /^signature does not match$/);
  });

  it('matches header names case-insensitively and takes array values', async () => {
    const request = await signed();
    const upper: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) upper[name.toUpperCase()] = name === 'host' ? [value] : value;
    expect(verifySigV4Request({ ...request, headers: upper }, OPTIONS)).toEqual({ ok: true });
  });

  it('refuses a wrong secret', async () => {
    expectRefused(await signed({ credentials: { ...CREDS, secretAccessKey: 'not-the-secret' } }), OPTIONS, /^signature does not match$/);
  });

  it('refuses a signature replayed on another path', async () => {
    const request = await signed({ path: '/token/graph' });
    expectRefused({ ...request, path: '/token/storage' }, OPTIONS, /^signature does not match$/);
  });

  it('refuses a tampered query string', async () => {
    const request = await signed({ query: { a: 'b' } });
    expectRefused({ ...request, query: 'a=c' }, OPTIONS, /^signature does not match$/);
    expectRefused({ ...request, query: 'a=b&x=1' }, OPTIONS, /^signature does not match$/);
    expectRefused({ ...request, query: 'a=%ZZ' }, OPTIONS, /^query string has malformed percent-encoding$/);
  });

  it('refuses a date 6 minutes old or 6 minutes ahead, accepts 4 minutes', async () => {
    expectRefused(await signed({ signedAt: NOW - 6 * 60_000 }), OPTIONS, /^x-amz-date is 360 s old \(allowed 300 s\)$/);
    expectRefused(await signed({ signedAt: NOW + 6 * 60_000 }), OPTIONS, /^x-amz-date is 360 s in the future \(allowed 300 s\)$/);
    expect(verifySigV4Request(await signed({ signedAt: NOW - 4 * 60_000 }), OPTIONS)).toEqual({ ok: true });
    expect(verifySigV4Request(await signed({ signedAt: NOW + 4 * 60_000 }), OPTIONS)).toEqual({ ok: true });
  });

  it('refuses a request whose host is not signed', async () => {
    const request = await signed({ unsignableHeaders: new Set(['host']) });
    expect(request.headers.authorization).not.toMatch(/SignedHeaders=[^,]*host/);
    expectRefused(request, OPTIONS, /^host header is not signed$/);
  });

  it('refuses a request without Authorization', async () => {
    const { authorization: _gone, ...headers } = (await signed()).headers;
    expect(_gone).toBeDefined();
    expectRefused({ method: 'GET', path: '/token/graph', query: '', headers, body: '' }, OPTIONS, /^missing Authorization header$/);
  });

  it('refuses another access key, region or service', async () => {
    expectRefused(
      await signed({ credentials: { accessKeyId: 'AKIDSOMEONEELSE00000', secretAccessKey: CREDS.secretAccessKey } }),
      OPTIONS,
      /^unknown access key id$/,
    );
    expectRefused(await signed({ region: 'eu-west-1' }), OPTIONS, /^credential scope region is "eu-west-1", expected "us-east-1"$/);
    expectRefused(await signed({ service: 'lambda' }), OPTIONS, /^credential scope service is "lambda", expected "execute-api"$/);
  });

  it('refuses an x-amz-date that differs from the credential scope date or is malformed', async () => {
    const request = await signed();
    // Same instant window, other day in the scope: within skew of a clock set just before midnight.
    const nearMidnight = Date.UTC(2025, 10, 23, 23, 59, 0);
    const late = await signed({ signedAt: nearMidnight });
    const nextDay = { ...late, headers: { ...late.headers, 'x-amz-date': '20251124T000100Z' } };
    expectRefused(nextDay, { ...OPTIONS, now: () => nearMidnight }, /^credential scope date does not match x-amz-date$/);
    expectRefused(
      { ...request, headers: { ...request.headers, 'x-amz-date': '20251323T120000Z' } },
      OPTIONS,
      /^x-amz-date is not YYYYMMDDTHHMMSSZ$/,
    );
    const { 'x-amz-date': _date, ...noDate } = request.headers;
    expect(_date).toBeDefined();
    expectRefused({ ...request, headers: noDate }, OPTIONS, /^missing x-amz-date header$/);
  });

  it('refuses a changed signed header and a missing signed header', async () => {
    const request = await signed({ headers: { 'x-custom': 'one' } });
    expectRefused({ ...request, headers: { ...request.headers, 'x-custom': 'two' } }, OPTIONS, /^signature does not match$/);
    const { 'x-custom': _custom, ...without } = request.headers;
    expect(_custom).toBe('one');
    expectRefused({ ...request, headers: without }, OPTIONS, /^signed header x-custom is not in the request$/);
  });

  it('refuses malformed Authorization headers and dot segments', async () => {
    const request = await signed();
    const auth = request.headers.authorization as string;
    const withAuth = (authorization: string) => ({ ...request, headers: { ...request.headers, authorization } });
    expectRefused(withAuth(auth.replace('AWS4-HMAC-SHA256', 'AWS4-ECDSA-P256-SHA256')), OPTIONS, /^Authorization is not AWS4-HMAC-SHA256$/);
    expectRefused(
      withAuth(auth.replace(/, Signature=.*/, '')),
      OPTIONS,
      /^Authorization needs exactly Credential, SignedHeaders and Signature$/,
    );
    expectRefused(withAuth(auth.replace(/Signature=[0-9a-f]+/, 'Signature=ABC')), OPTIONS, /^Signature is not 64 lowercase hex digits$/);
    expectRefused(
      withAuth(auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=x-amz-date;host')),
      OPTIONS,
      /^SignedHeaders is not sorted and unique$/,
    );
    expectRefused(withAuth(auth.replace('/aws4_request', '/aws4_other')), OPTIONS, /^credential scope does not end in aws4_request$/);
    expectRefused({ ...request, path: '/x/../token/graph' }, OPTIONS, /^path does not start with "\/" or has dot segments$/);
  });
});

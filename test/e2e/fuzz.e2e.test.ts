/**
 * Property-based fuzz of the local runtime over real HTTP on 127.0.0.1: raw sockets send what `fetch` would
 * refuse (bad percent-encodings, odd methods, invalid header names, oversized heads and bodies, garbage SigV4),
 * and every answer is checked against the HTTP API contract (contract/http-api.ts, the README's "Answers and errors"). Two runtimes run in this process,
 * one open and one behind `localCredentials`, both trusted by the Entra emulator.
 * Runs are reproducible: fast-check prints the seed and the shrunk request of a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { METHODS } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { parseLocalConfig } from '../../local/runtime/local-config';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/local-runtime';
import { rsaKeyPair } from '../support/rsa-keys';
import { captureLogsForFile } from '../support/log-capture';

const runtimeLogs = captureLogsForFile();

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const GRAPH = 'https://graph.microsoft.com/.default';
const DISCOVERY = '/.well-known/openid-configuration';
const ACCESS_KEY_ID = 'AKIDFUZZLOCAL0000001';
/** Fresh for every run, and checked to never reach a log line. */
const SECRET_ACCESS_KEY = randomBytes(30).toString('base64url');
const ANSWER_TIMEOUT_MS = 5000;
/** Node's default `--max-http-header-size`; it counts the request target and header names and values. */
const MAX_HEADER_BYTES = 16_384;
/** The runtime's body limit (local/local-runtime.ts). */
const MAX_BODY_BYTES = 64 * 1024;
const CONTRACT_CODES: Readonly<Record<string, number>> = {
  unknown_scope: 404,
  forbidden: 403,
  entra_rejected: 502,
  upstream_unavailable: 503,
  internal: 500,
};
const GATEWAY_MESSAGES: Readonly<Record<number, string>> = { 403: 'Forbidden', 404: 'Not Found', 413: 'Request Entity Too Large' };
const JWT = /eyJ[\w-]+\.[\w-]+\./;
const STACK = /\n\s+at |\.ts:/;

// ---------------------------------------------------------------------------------------------------------------
// Raw HTTP/1.1 client

interface Answer {
  readonly status: number | undefined;
  readonly head: string;
  readonly body: string;
  /** Socket error code seen while talking, if any (e.g. ECONNRESET). */
  readonly socketError: string | undefined;
}

function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Writes `request` as is, reads until the server closes, and parses the status line. Rejects after 5 s. */
function send(port: number, request: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let socketError: string | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${ANSWER_TIMEOUT_MS} ms (received ${Buffer.concat(chunks).length} bytes)`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      socketError = error.code ?? error.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = (headEnd === -1 ? raw : raw.subarray(0, headEnd)).toString('latin1');
      const rawBody = headEnd === -1 ? Buffer.alloc(0) : raw.subarray(headEnd + 4);
      const chunked = /^transfer-encoding:\s*chunked\s*$/im.test(head);
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(head)?.[1];
      resolve({
        status: status === undefined ? undefined : Number(status),
        head,
        body: (chunked ? dechunk(rawBody) : rawBody).toString('utf8'),
        socketError,
      });
    });
    socket.end(request);
  });
}

function headerOf(answer: Answer, name: string): string | undefined {
  return new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(answer.head)?.[1]?.trim();
}

// ---------------------------------------------------------------------------------------------------------------
// What a fuzzed request is

interface RequestSpec {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  /** Why this is not valid HTTP/1.1 (Node itself may then answer 400), or undefined for a valid request. */
  readonly malformed: string | undefined;
}

/** All strings are Latin-1 (UTF-8 bytes spelled as Latin-1 characters where a test wants raw non-ASCII). */
function serialize(spec: RequestSpec): Buffer {
  let text = `${spec.method} ${spec.target} ${spec.version}\r\n`;
  for (const [name, value] of spec.headers) text += `${name}: ${value}\r\n`;
  if (spec.body.length > 0) text += `Content-Length: ${spec.body.length}\r\n`;
  text += 'Connection: close\r\n\r\n';
  return Buffer.from(text + spec.body, 'latin1');
}

/** What Node counts against its header limit: the target and every header name and value. */
function countedHeadBytes(spec: RequestSpec): number {
  return spec.target.length + spec.headers.reduce((sum, [name, value]) => sum + name.length + value.length, 0) + 64;
}

function decodeAlias(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries

const SAFE_CHARS = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@"];
const safeText = (maxLength: number) => fc.string({ unit: fc.constantFrom(...SAFE_CHARS), minLength: 1, maxLength });
const percentByte = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.boolean())
  .map(([byte, upper]) => `%${byte.toString(16).padStart(2, '0')[upper ? 'toUpperCase' : 'toLowerCase']()}`);
const encodedText = fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }).map((text) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80'; // a lone surrogate, as UTF-8 would spell it: not decodable
  }
});
const badPercent = fc.constantFrom('%ZZ', '%', '%4', '%G1', '%%', '%ED%A0%80', '%C0%AF', '%E2%82', '%FF');
const notableAlias = fc.constantFrom(
  '..',
  '.',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  '__defineGetter__',
  'GRAPH',
  'Graph',
  'graph',
  'graph-',
  '-graph',
  'graph-again',
  '%67raph',
  'gr%61ph',
  '%2e%2e',
  '%2F',
  '%00',
  '%2Fgraph',
  'a'.repeat(63),
  'a'.repeat(64),
  'b'.repeat(200),
  'a-b-c',
  '%5F%5Fproto%5F%5F',
  'x%20y',
);
const longRun = fc.tuple(fc.constantFrom(...SAFE_CHARS), fc.integer({ min: 64, max: 8000 })).map(([char, n]) => char.repeat(n));
const shortPiece = fc.oneof(
  { weight: 4, arbitrary: safeText(12) },
  { weight: 2, arbitrary: percentByte },
  { weight: 2, arbitrary: encodedText },
  { weight: 2, arbitrary: badPercent },
  { weight: 3, arbitrary: notableAlias },
);
const piece = fc.oneof({ weight: 12, arbitrary: shortPiece }, { weight: 1, arbitrary: longRun });
/** One path segment, at most 8 KB. */
const segment = fc.array(piece, { minLength: 1, maxLength: 4 }).map((pieces) => pieces.join('').slice(0, 8192));

const path = fc.oneof(
  { weight: 6, arbitrary: segment.map((alias) => `/token/${alias}`) },
  { weight: 2, arbitrary: fc.constantFrom(DISCOVERY, '/jwks', '/token/graph') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      DISCOVERY,
      '/jwks',
      '/token/graph',
      '/',
      '*',
      '/token',
      '/token/',
      '/token//graph',
      '//token/graph',
      '/token/graph/',
      '/TOKEN/graph',
      '/Token/graph',
      '/jwks/',
      '//jwks',
      `${DISCOVERY}/`,
      '/.well-known/../jwks',
      '/token/graph/..',
      '/token/../jwks',
      '/%2e%2e/jwks',
      '/token%2Fgraph',
      '/jwks%00',
      '/JWKS',
      '/.well-known/openid-configuration%20',
    ),
  },
  { weight: 2, arbitrary: fc.array(segment, { maxLength: 3 }).map((segments) => `/${segments.join('/')}`) },
);

const queryText = fc.array(shortPiece, { maxLength: 3 }).map((pieces) => pieces.join(''));
const queryPair = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(queryText, queryText).map(([key, value]) => `${key}=${value}`) },
  { weight: 1, arbitrary: queryText },
  { weight: 1, arbitrary: fc.constantFrom('=', '', '&', '==', 'a=b=c') },
);
const query = fc
  .tuple(fc.array(queryPair, { maxLength: 6 }), fc.boolean())
  .map(([pairs, repeat]) => (repeat ? [...pairs, ...pairs] : pairs).join('&'));
const target = fc
  .tuple(path, fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: query }))
  .map(([p, q]) => (q === null ? p : `${p}?${q}`));

const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-connection',
  'http2-settings',
  'authorization',
]);
const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/).filter((name) => !RESERVED_HEADERS.has(name.toLowerCase()));
const printable = (minLength: number, maxLength: number) =>
  fc
    .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength, maxLength })
    .map((value) => value.trim());
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const base64url = (minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), minLength, maxLength });
const amzNow = () => new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');

const sigV4Authorization = fc
  .record({
    accessKeyId: fc.oneof(fc.constant(ACCESS_KEY_ID), fc.stringMatching(/^AKIA[A-Z0-9]{16}$/), safeText(24)),
    date: fc.oneof(fc.constant('today'), fc.stringMatching(/^\d{8}$/), safeText(10)),
    region: fc.oneof(fc.constantFrom('us-east-1', 'eu-west-1'), safeText(12)),
    service: fc.oneof(fc.constantFrom('execute-api', 's3'), safeText(12)),
    terminator: fc.oneof(fc.constant('aws4_request'), safeText(12)),
    signedHeaders: fc.oneof(
      fc.constantFrom(
        'host;x-amz-date',
        'host',
        'x-amz-date;host',
        'host;host;x-amz-date',
        'host;x-amz-content-sha256;x-amz-date',
        'HOST;X-AMZ-DATE',
      ),
      safeText(30),
    ),
    signature: fc.oneof(
      hex64,
      hex64.map((hex) => hex.toUpperCase()),
      safeText(64),
    ),
    layout: fc.constantFrom('standard', 'no-space', 'extra-field', 'repeated', 'missing-signature'),
  })
  .map((f) => {
    const date = f.date === 'today' ? amzNow().slice(0, 8) : f.date;
    const credential = `Credential=${f.accessKeyId}/${date}/${f.region}/${f.service}/${f.terminator}`;
    const signed = `SignedHeaders=${f.signedHeaders}`;
    const signature = `Signature=${f.signature}`;
    switch (f.layout) {
      case 'no-space':
        return `AWS4-HMAC-SHA256 ${credential},${signed},${signature}`;
      case 'extra-field':
        return `AWS4-HMAC-SHA256 ${credential}, ${signed}, ${signature}, Foo=bar`;
      case 'repeated':
        return `AWS4-HMAC-SHA256 ${credential}, ${credential}, ${signed}, ${signature}`;
      case 'missing-signature':
        return `AWS4-HMAC-SHA256 ${credential}, ${signed}`;
      default:
        return `AWS4-HMAC-SHA256 ${credential}, ${signed}, ${signature}`;
    }
  });
const bearerJwt = fc
  .tuple(base64url(16, 40), base64url(16, 200), base64url(43, 86))
  .map(([header, payload, signature]) => `Bearer eyJ${header}.eyJ${payload}.${signature}`);
const authorizationValue = fc.oneof(
  sigV4Authorization,
  bearerJwt,
  printable(24, 120).filter((value) => value.length >= 16),
);

const extraHeader = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(headerName, printable(0, 60)) },
  { weight: 3, arbitrary: authorizationValue.map((value) => ['Authorization', value] as const) },
  { weight: 1, arbitrary: authorizationValue.map((value) => ['authorization', value] as const) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constant('now'),
        fc.stringMatching(/^\d{8}T\d{6}Z$/),
        fc.constantFrom('20241399T256199Z', '19700101T000000Z', '', 'yesterday'),
        safeText(20),
      )
      .map((value) => ['X-Amz-Date', value === 'now' ? amzNow() : value] as const),
  },
  { weight: 1, arbitrary: fc.oneof(hex64, safeText(20)).map((value) => ['x-amz-content-sha256', value] as const) },
  { weight: 1, arbitrary: fc.oneof(printable(1, 40), base64url(20, 200)).map((value) => ['X-Amz-Security-Token', value] as const) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 6000 }).map((n) => ['X-Pad', 'p'.repeat(n)] as const) },
);

const bodyFor = (method: string) =>
  fc.oneof(
    { weight: method === 'GET' || method === 'HEAD' ? 20 : 4, arbitrary: fc.constant('') },
    { weight: 4, arbitrary: printable(1, 200) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES + 8000 }).map((n) => 'b'.repeat(n)) },
  );

const method = fc.oneof(
  { weight: 14, arbitrary: fc.constant('GET') },
  { weight: 4, arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'QUERY', 'PROPFIND') },
  // CONNECT is left out: with no 'connect' listener Node drops the socket by design.
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z]{1,10}$/).filter((m) => m !== 'CONNECT') },
  { weight: 1, arbitrary: fc.constantFrom('get', 'Get', 'G-ET', 'PRI') },
);

/** At most one way of breaking HTTP itself; most requests are valid. */
const malformation = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('byte in target' as const),
      byte: fc.constantFrom(' x', '\x7f', '\x01', '\xc3\xa9', '\t', '\x00'),
      at: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('header name' as const),
      name: fc.constantFrom('Bad Header', 'a@b', '(x)', '"q"', 'x/y', '[h]', '{h}', '\xc3\xa9', 'h=1'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('control in header value' as const), value: fc.constantFrom('a\x01b', 'a\x00b', '\x1b[31m') }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('no Host' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('version' as const), version: fc.constantFrom('HTTP/9.9', 'HTTX/1.1', 'HTTP/1', 'http/1.1') }),
  },
);
type Malformation = typeof malformation extends fc.Arbitrary<infer M> ? M : never;

const requestSpec = (port: number): fc.Arbitrary<RequestSpec> =>
  method.chain((m) =>
    fc
      .record({
        target: target,
        version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
        headers: fc.array(extraHeader, { maxLength: 5 }),
        huge: fc.oneof(
          { weight: 24, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.integer({ min: MAX_HEADER_BYTES + 1024, max: MAX_HEADER_BYTES + 8000 }) },
        ),
        body: bodyFor(m),
        broken: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: malformation }),
      })
      .map(({ target: t, version, headers, huge, body, broken }) => buildSpec(port, m, t, version, headers, huge, body, broken)),
  );

function buildSpec(
  port: number,
  m: string,
  t: string,
  version: string,
  extra: readonly (readonly [string, string])[],
  huge: number | null,
  body: string,
  broken: Malformation | null,
): RequestSpec {
  let headers: (readonly [string, string])[] = [['Host', `127.0.0.1:${port}`], ...extra];
  if (huge !== null) headers.push(['X-Huge', 'h'.repeat(huge)]);
  let malformed = METHODS.includes(m) ? undefined : `method ${JSON.stringify(m)}`;
  let requestTarget = t;
  let requestVersion = version;
  if (broken) {
    malformed = broken.kind;
    switch (broken.kind) {
      case 'byte in target': {
        const at = 1 + (broken.at % Math.max(1, t.length));
        requestTarget = `${t.slice(0, at)}${broken.byte}${t.slice(at)}`;
        break;
      }
      case 'header name':
        headers.push([broken.name, 'v']);
        break;
      case 'control in header value':
        headers.push(['X-Control', broken.value]);
        break;
      case 'no Host':
        headers = headers.filter(([name]) => name !== 'Host');
        requestVersion = 'HTTP/1.1';
        break;
      case 'version':
        requestVersion = broken.version;
        break;
    }
  }
  const spec: RequestSpec = { method: m, target: requestTarget, version: requestVersion, headers, body, malformed };
  // fast-check prints a failing request through this: long runs shortened, so the report stays readable.
  return Object.assign(spec, {
    [fc.toStringMethod]: () => JSON.stringify(spec).replace(/(.)\1{31,}/g, (run, char: string) => `${char}{x${run.length}}`),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The runtimes under test

interface RuntimeUnderTest {
  readonly name: 'open' | 'signed';
  readonly runtime: LocalRuntime;
  readonly port: number;
  readonly issuer: string;
  readonly logLines: string[];
  readonly requiresSigV4: boolean;
}

let entra: EntraEmulator;
let open: RuntimeUnderTest;
let signed: RuntimeUnderTest;
let keyDir: string;
/** Every Authorization value the fuzz sent, for the log check. */
const sentAuthorizations = new Set<string>();
/** `${runtime} ${status}` → how many fuzzed requests got it: shows that the fuzz reaches every kind of answer. */
const seen = new Map<string, number>();

async function startRuntime(name: RuntimeUnderTest['name'], port: number, signingKeyFile: string): Promise<RuntimeUnderTest> {
  // Both runtimes write to this process's streams: their lines are collected together.
  const logLines = runtimeLogs.lines;
  const runtime = await startLocalRuntime({
    config: parseLocalConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { graph: GRAPH },
      authorityHost: entra.url,
      signingKeyFile,
      ...(name === 'signed' ? { localCredentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY } } : {}),
    }),
    port,
    logLevel: 'DEBUG',
  });
  return { name, runtime, port, issuer: runtime.issuer, logLines, requiresSigV4: name === 'signed' };
}

beforeAll(async () => {
  keyDir = mkdtempSync(join(tmpdir(), 'broker-fuzz-'));
  const signingKeyFile = join(keyDir, 'signing-key.pem');
  writeFileSync(signingKeyFile, rsaKeyPair().privateKeyPem, { mode: 0o600 });
  const [openPort, signedPort] = [await freePort(), await freePort()];
  const credential = (port: number) => ({
    issuer: `http://127.0.0.1:${port}`,
    subject: 'aws-token-broker',
    audiences: ['api://AzureADTokenExchange'],
  });
  entra = await startEntraEmulator({
    apps: [{ tenantId: TENANT, clientId: CLIENT, federatedCredentials: [credential(openPort), credential(signedPort)] }],
  });
  open = await startRuntime('open', openPort, signingKeyFile);
  signed = await startRuntime('signed', signedPort, signingKeyFile);
  // Prime the open runtime: later token answers come from its cache, without an exchange each.
  const primed = await fetch(`${open.runtime.url}/token/graph`);
  expect(primed.status, await primed.clone().text()).toBe(200);
});

afterAll(async () => {
  await open?.runtime.close();
  await signed?.runtime.close();
  await entra?.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// The oracle

function parseJson(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not a JSON object: ${text.slice(0, 200)}`);
  return value as Record<string, unknown>;
}

/** (b) and (e): a JSON body that is API Gateway's own `{"message"}` or the broker's contract, never a stack. */
function expectErrorBody(answer: Answer, status: number): Record<string, unknown> {
  expect(headerOf(answer, 'content-type')).toBe('application/json');
  const body = parseJson(answer.body);
  if ('error' in body) {
    expect(Object.keys(CONTRACT_CODES)).toContain(body.error);
    expect(CONTRACT_CODES[body.error as string]).toBe(status);
    expect(body.message).toEqual(expect.any(String));
    // The unknown alias is echoed on purpose; anything else that looks like a stack frame is a leak.
    const echoed = typeof body.alias === 'string' ? body.alias : undefined;
    const rest = JSON.stringify({
      ...body,
      alias: undefined,
      message: echoed ? (body.message as string).split(echoed).join('') : body.message,
    });
    expect(rest).not.toMatch(STACK);
    expect(rest.replace(/\\n/g, '\n')).not.toMatch(STACK);
  } else {
    expect(body).toEqual({ message: GATEWAY_MESSAGES[status] });
  }
  return body;
}

async function check(rt: RuntimeUnderTest, spec: RequestSpec): Promise<void> {
  for (const [name, value] of spec.headers) if (name.toLowerCase() === 'authorization') sentAuthorizations.add(value);
  const answer = await send(rt.port, serialize(spec));
  const status = answer.status;
  if (status === undefined) throw new Error(`no HTTP answer (connection closed${answer.socketError ? `: ${answer.socketError}` : ''})`);
  seen.set(`${rt.name} ${status}`, (seen.get(`${rt.name} ${status}`) ?? 0) + 1);

  // (a) never a 5xx, and only statuses the contract or Node's parser can give
  expect(status).toBeLessThan(500);
  expect([200, 400, 403, 404, 413, 431]).toContain(status);
  if (status !== 200 && status !== 400 && status !== 431 && spec.method !== 'HEAD') expectErrorBody(answer, status);
  if (status === 200 || status === 400 || status === 431) expect(answer.body).not.toMatch(STACK);

  const counted = countedHeadBytes(spec);
  const mustOverflow = counted > MAX_HEADER_BYTES + 512;
  const mayOverflow = counted > MAX_HEADER_BYTES - 512;
  if (status === 431) expect(mayOverflow, `431 for a ${counted}-byte head`).toBe(true);
  if (status === 400) expect(spec.malformed, '400 for a valid request').toBeDefined();
  if (status === 413) expect(spec.body.length).toBeGreaterThan(MAX_BODY_BYTES);

  const rawPath = spec.target.split('?')[0] ?? '';
  const tokenRoute = /^\/token\/([^/]+)$/.exec(rawPath);
  if (status === 200) {
    expect(spec.method).toBe('GET');
    if (!spec.malformed)
      expect(
        rawPath === DISCOVERY || rawPath === '/jwks' || (!rt.requiresSigV4 && tokenRoute),
        `200 for ${rawPath.slice(0, 80)}`,
      ).toBeTruthy();
  }
  if (status === 403) {
    expect(rt.requiresSigV4, '403 from the open runtime').toBe(true);
    if (!spec.malformed) expect(tokenRoute && spec.method === 'GET', '403 outside GET /token/*').toBeTruthy();
  }
  if (spec.malformed) return;

  // A valid request: the answer is fully determined by the contract.
  if (mustOverflow) return void expect(status).toBe(431);
  if (mayOverflow && status === 431) return;
  if (spec.body.length > MAX_BODY_BYTES) return void expect(status).toBe(413);
  if (spec.method !== 'GET') return void expect(status).toBe(404);
  if (rawPath === DISCOVERY) {
    expect(status).toBe(200);
    expect(parseJson(answer.body)).toMatchObject({ issuer: rt.issuer, jwks_uri: `${rt.issuer}/jwks` });
    return;
  }
  if (rawPath === '/jwks') {
    expect(status).toBe(200);
    expect(parseJson(answer.body).keys).toEqual([expect.objectContaining({ kty: 'RSA', alg: 'RS256' })]);
    return;
  }
  if (!tokenRoute?.[1]) {
    expect(status).toBe(404);
    expect(parseJson(answer.body)).toEqual({ message: 'Not Found' });
    return;
  }
  // GET /token/{alias}: IAM first, as API Gateway does, then the broker.
  if (rt.requiresSigV4) {
    expect(status).toBe(403);
    expect(parseJson(answer.body)).toEqual({ message: 'Forbidden' });
    return;
  }
  const alias = decodeAlias(tokenRoute[1]);
  if (tokenRoute[1] === 'graph' || (alias === 'graph' && status === 200)) {
    expect(status).toBe(200);
    expect(headerOf(answer, 'cache-control')).toBe('no-store');
    expect(parseJson(answer.body)).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', scope: GRAPH });
    return;
  }
  expect(status).toBe(404);
  const body = parseJson(answer.body);
  // Never a list of the configured aliases; the alias echoed only when it looks like one.
  expect(body).toMatchObject({
    error: 'unknown_scope',
    message: expect.stringMatching(/^No scope is configured under (the alias "[a-z0-9-]+"|this alias)\. /),
  });
  expect(answer.body).not.toContain(GRAPH);
  if (body.alias !== undefined) expect([alias, tokenRoute[1]]).toContain(body.alias);
  else expect(/^[a-z0-9][a-z0-9-]{0,62}$/.test(alias)).toBe(false);
}

// ---------------------------------------------------------------------------------------------------------------
// Properties

const FUZZ_TIMEOUT_MS = 90_000;

describe('local runtime under fuzzed HTTP', () => {
  it(
    'answers every request to the open runtime within 5 s, by the contract, and never with a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestSpec(open.port), (spec) => check(open, spec)),
        { numRuns: 250, seed: 20_251_123 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'answers every unsigned request to the SigV4-protected runtime within 5 s: 403 on /token/*, never a token or a 5xx',
    async () => {
      await fc.assert(
        fc.asyncProperty(requestSpec(signed.port), (spec) => check(signed, spec)),
        { numRuns: 200, seed: 4_242_001 },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it("reached every kind of answer: tokens, contract 404s, 403s and Node's own 400/413/431", () => {
    const expected = [
      'open 200',
      'open 400',
      'open 404',
      'open 413',
      'open 431',
      'signed 200',
      'signed 400',
      'signed 403',
      'signed 404',
      'signed 413',
      'signed 431',
    ];
    expect([...seen.keys()].sort()).toEqual(expected);
  });

  it('is still serving both runtimes after the fuzz', async () => {
    for (const rt of [open, signed]) {
      const answer = await send(rt.port, Buffer.from(`GET ${DISCOVERY} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
      expect(answer.status).toBe(200);
      expect(parseJson(answer.body).issuer).toBe(rt.issuer);
    }
    const token = await send(open.port, Buffer.from('GET /token/graph HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    expect(token.status).toBe(200);
  });

  it('never logs a JWT, an Authorization value it was sent, or the local secret key', () => {
    const lines = [...open.logLines, ...signed.logLines];
    expect(lines.length).toBeGreaterThan(0);
    expect(sentAuthorizations.size).toBeGreaterThan(50);
    const text = lines.join('\n');
    for (const line of lines) expect(line).not.toMatch(JWT);
    for (const value of sentAuthorizations) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(JSON.stringify(value).slice(1, -1));
    }
    expect(text).not.toContain(SECRET_ACCESS_KEY);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Notable cases, one by one

function get(rt: RuntimeUnderTest, target: string, headers: readonly (readonly [string, string])[] = []): Promise<Answer> {
  return send(
    rt.port,
    serialize({ method: 'GET', target, version: 'HTTP/1.1', headers: [['Host', '127.0.0.1'], ...headers], body: '', malformed: undefined }),
  );
}

describe('local runtime: notable requests', () => {
  it.each(['%ZZ', '%E2%82', '%ED%A0%80', '%'])('answers 404 unknown_scope (not 500) for the undecodable alias %s', async (alias) => {
    const answer = await get(open, `/token/${alias}`);
    expect(answer.status).toBe(404);
    expect(parseJson(answer.body)).toEqual({ error: 'unknown_scope', message: expect.stringContaining('under this alias.') });
  });

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', '%5F%5Fproto%5F%5F'])(
    'treats the Object.prototype name %s as an unknown alias, not a configured one',
    async (alias) => {
      const answer = await get(open, `/token/${alias}`);
      expect(answer.status).toBe(404);
      const body = parseJson(answer.body);
      expect(body).toMatchObject({ error: 'unknown_scope' });
      // Echoed only when it looks like an alias (`constructor` does; `__proto__` does not).
      expect(body.alias).toBe(/^[a-z0-9][a-z0-9-]*$/.test(decodeURIComponent(alias)) ? decodeURIComponent(alias) : undefined);
      expect((await get(signed, `/token/${alias}`)).status).toBe(403);
    },
  );

  it.each([
    ['%00', '\u0000'],
    ['%2F', '/'],
    ['..', '..'],
    ['a'.repeat(64), 'a'.repeat(64)],
  ])('answers 404 unknown_scope for the alias %s', async (raw, alias) => {
    const answer = await get(open, `/token/${raw}`);
    expect(answer.status).toBe(404);
    const body = parseJson(answer.body);
    expect(body).toMatchObject({ error: 'unknown_scope' });
    expect(body.alias).toBe(/^[a-z0-9][a-z0-9-]{0,62}$/.test(alias) ? alias : undefined);
  });

  it('answers 400 to a request Node cannot parse, instead of dropping the connection', async () => {
    for (const request of [
      'GET /token/\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      'FOO /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
      'GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\nConnection: close\r\n\r\n',
      'GET /jwks HTTP/9.9\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    ]) {
      expect((await send(open.port, Buffer.from(request, 'latin1'))).status, JSON.stringify(request.slice(0, 40))).toBe(400);
    }
  });

  it('answers 431 to a head over 16 KB', async () => {
    const answer = await get(signed, '/token/graph', [['X-Huge', 'h'.repeat(MAX_HEADER_BYTES + 100)]]);
    expect(answer.status).toBe(431);
  });

  it('answers 413 with a JSON message to a body over 64 KB', async () => {
    const body = 'b'.repeat(MAX_BODY_BYTES + 1);
    const answer = await send(
      open.port,
      serialize({ method: 'POST', target: '/jwks', version: 'HTTP/1.1', headers: [['Host', '127.0.0.1']], body, malformed: undefined }),
    );
    expect(answer.status).toBe(413);
    expect(parseJson(answer.body)).toEqual({ message: 'Request Entity Too Large' });
  });

  it('refuses a garbage SigV4 signature or a bearer JWT with 403 and keeps both out of the log', async () => {
    const garbage = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY_ID}/${amzNow().slice(0, 8)}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;
    const jwt = `Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJmdXp6In0.${'s'.repeat(43)}`;
    for (const authorization of [garbage, jwt]) {
      const answer = await get(signed, '/token/graph', [
        ['Authorization', authorization],
        ['X-Amz-Date', amzNow()],
      ]);
      expect(answer.status).toBe(403);
      expect(parseJson(answer.body)).toEqual({ message: 'Forbidden' });
    }
    const text = signed.logLines.join('\n');
    expect(text).toContain('signature does not match');
    expect(text).not.toContain(garbage);
    expect(text).not.toContain('0'.repeat(64));
    expect(text).not.toMatch(JWT);
  });
});

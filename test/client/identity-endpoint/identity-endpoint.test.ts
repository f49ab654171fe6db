/**
 * The identity endpoint over real HTTP on 127.0.0.1, against the fake broker (real SigV4 checks): the App Service
 * protocol, its refusals, the broker's errors as SDKs see them, sharing of broker requests, and close().
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdentityEndpointError } from '../../../client/identity-endpoint/identity-endpoint-error';
import {
  randomIdentityHeader,
  startIdentityEndpoint,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
} from '../../../client/identity-endpoint/identity-endpoint';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, closedPort, startFakeBroker, type FakeBroker } from '../fake-broker';

const HEADER = 'test-identity-header-0123456789';
const RESOURCES = {
  'https://storage.azure.com': 'storage',
  'https://vault.azure.net/': 'vault',
  'https://missing.example': 'missing',
  'https://rejected.example': 'rejected',
  'https://down.example': 'down',
  'https://crash.example': 'crash',
};

let broker: FakeBroker;
const open: IdentityEndpoint[] = [];
const logged: { level: string; fields: Record<string, unknown> }[] = [];

beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((endpoint) => endpoint.close()));
  logged.length = 0;
});

async function start(overrides: Partial<IdentityEndpointOptions> = {}): Promise<IdentityEndpoint> {
  const record =
    (level: string) =>
    (_message: string, fields: Record<string, unknown> = {}) =>
      void logged.push({ level, fields });
  const endpoint = await startIdentityEndpoint({
    brokerUrl: broker.url,
    resources: RESOURCES,
    identityHeader: HEADER,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    identify: false,
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    ...overrides,
  });
  open.push(endpoint);
  return endpoint;
}

/** What an SDK sends: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=… with X-IDENTITY-HEADER. */
async function ask(
  endpoint: IdentityEndpoint,
  resource: string | undefined,
  init: { header?: string | null; apiVersion?: string | null; method?: string; extra?: Record<string, string> } = {},
) {
  const url = new URL(endpoint.url);
  if (init.apiVersion !== null) url.searchParams.set('api-version', init.apiVersion ?? '2019-08-01');
  if (resource !== undefined) url.searchParams.set('resource', resource);
  for (const [name, value] of Object.entries(init.extra ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = init.header === null ? {} : { 'X-IDENTITY-HEADER': init.header ?? HEADER };
  const response = await fetch(url, { method: init.method ?? 'GET', headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Record<string, unknown> };
}

function expectRefusal(answer: Awaited<ReturnType<typeof ask>>, status: number, code: string, message: RegExp) {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({
    statusCode: status,
    message: expect.stringMatching(new RegExp(`^${code}: `)),
    correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    error: code,
    error_description: answer.body.message,
  });
  expect(answer.body.message).toMatch(message);
  // No answer but a success ever holds a token.
  expect(answer.text).not.toContain(TOKEN_PREFIX);
}

describe('startIdentityEndpoint', () => {
  it('answers the App Service protocol with the broker token: expires_on as a string of unix seconds, the resource as asked', async () => {
    const endpoint = await start();
    expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}/msi/token`);
    const before = broker.tokenRequests('storage');
    const answer = await ask(endpoint, 'https://storage.azure.com');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.body).toEqual({
      access_token: expect.stringMatching(new RegExp(`^${TOKEN_PREFIX}-storage-\\d+$`)),
      expires_on: expect.stringMatching(/^\d{10}$/),
      resource: 'https://storage.azure.com',
      token_type: 'Bearer',
    });
    const expiresOn = Number(answer.body.expires_on);
    expect(Math.abs(expiresOn - (Date.now() / 1000 + 3600))).toBeLessThan(60);
    expect(broker.tokenRequests('storage')).toBe(before + 1);
    expect(logged).toEqual([{ level: 'info', fields: expect.objectContaining({ status: 200, code: 'ok', alias: 'storage' }) }]);
    expect(JSON.stringify(logged)).not.toContain(TOKEN_PREFIX);
  });

  it('matches a resource with or without its trailing slash, and ignores the user-assigned identity parameters', async () => {
    const endpoint = await start();
    const slash = await ask(endpoint, 'https://storage.azure.com/');
    expect(slash.body).toMatchObject({ resource: 'https://storage.azure.com/', access_token: expect.stringContaining('-storage-') });
    const bare = await ask(endpoint, 'https://vault.azure.net', { extra: { client_id: '33333333-3333-3333-3333-333333333333' } });
    expect(bare.body).toMatchObject({ resource: 'https://vault.azure.net', access_token: expect.stringContaining('-vault-') });
  });

  it('answers an unmapped resource 400 naming it and the mapped ones, without asking the broker', async () => {
    const endpoint = await start();
    const before = broker.requests.length;
    const answer = await ask(endpoint, 'https://graph.microsoft.com');
    expectRefusal(
      answer,
      400,
      'unmapped_resource',
      /no alias is mapped for the resource https:\/\/graph\.microsoft\.com\. Mapped resources: https:\/\/storage\.azure\.com \(alias storage\), https:\/\/vault\.azure\.net\/ \(alias vault\), .*Add --resource https:\/\/graph\.microsoft\.com=<alias>/,
    );
    expect(broker.requests.length).toBe(before);
  });

  it('refuses a missing or wrong X-IDENTITY-HEADER with 401 before anything else', async () => {
    const endpoint = await start();
    const before = broker.requests.length;
    expectRefusal(
      await ask(endpoint, 'https://storage.azure.com', { header: null }),
      401,
      'missing_identity_header',
      /Set IDENTITY_HEADER/,
    );
    expectRefusal(
      await ask(endpoint, 'https://storage.azure.com', { header: `${HEADER}x` }),
      401,
      'invalid_identity_header',
      /does not match/,
    );
    expectRefusal(await ask(endpoint, 'https://storage.azure.com', { header: 'short' }), 401, 'invalid_identity_header', /does not match/);
    // Before the parameters are even read: an unmapped resource with a wrong header is still a 401.
    expectRefusal(
      await ask(endpoint, 'https://graph.microsoft.com', { header: 'wrong', apiVersion: null }),
      401,
      'invalid_identity_header',
      /./,
    );
    expect(broker.requests.length).toBe(before);
    expect(logged.map((line) => line.fields.status)).toEqual([401, 401, 401, 401]);
  });

  it('refuses a request whose Host is not loopback (DNS rebinding), even with the right header', async () => {
    const endpoint = await start();
    const url = `${endpoint.url}?api-version=2019-08-01&resource=https://storage.azure.com`;
    // With Host set by hand, as a browser sends it after rebinding attacker.example to 127.0.0.1.
    const withHost = (host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request(url, { headers: { host, 'x-identity-header': HEADER } }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        })
          .on('error', reject)
          .end();
      });
    for (const host of [`attacker.example:${endpoint.port}`, 'attacker.example', `10.0.0.1:${endpoint.port}`]) {
      const rebound = await withHost(host);
      expect(rebound.status, host).toBe(403);
      expect(JSON.parse(rebound.body)).toMatchObject({ error: 'non_loopback_host' });
      expect(rebound.body).not.toContain(TOKEN_PREFIX);
    }
    for (const host of [`localhost:${endpoint.port}`, `127.0.0.1:${endpoint.port}`, 'localhost']) {
      expect((await withHost(host)).status, host).toBe(200);
    }
  });

  it('answers 404 for another path, 405 for another method, 400 for another api-version or no resource', async () => {
    const endpoint = await start();
    const other = await fetch(`http://127.0.0.1:${endpoint.port}/metadata/identity/oauth2/token?resource=x`, {
      headers: { 'X-IDENTITY-HEADER': HEADER },
    });
    expect(other.status).toBe(404);
    const post = await ask(endpoint, 'https://storage.azure.com', { method: 'POST' });
    expectRefusal(post, 405, 'method_not_allowed', /POST is not allowed/);
    expect(post.headers.get('allow')).toBe('GET');
    expectRefusal(
      await ask(endpoint, 'https://storage.azure.com', { apiVersion: '2017-09-01' }),
      400,
      'unsupported_api_version',
      /"2017-09-01" is not supported; .*2019-08-01/,
    );
    expectRefusal(await ask(endpoint, undefined), 400, 'missing_resource', /names no resource/);
  });

  it("passes the broker's errors through with its code, statuses the SDKs retry only when waiting helps, and no token", async () => {
    const endpoint = await start();
    expectRefusal(await ask(endpoint, 'https://missing.example'), 400, 'unknown_alias', /Unknown alias "missing" .*No scope is configured/);
    expectRefusal(
      await ask(endpoint, 'https://rejected.example'),
      400,
      'entra_rejected',
      /Entra ID rejected .*\(AADSTS700213, correlation id 0b1c2d3e-0000-4000-8000-000000000001.*\(resource https:\/\/rejected\.example, alias rejected\)/,
    );
    const down = await ask(endpoint, 'https://down.example');
    expectRefusal(down, 503, 'upstream_unavailable', /\(kms unavailable\).*Retry later \(after 5 s\)/);
    expect(down.headers.get('retry-after')).toBe('5');
    expectRefusal(await ask(endpoint, 'https://crash.example'), 502, 'broker_error', /answered 500 for alias "crash" \(internal\)/);
    expect(logged.map((line) => [line.level, line.fields.code])).toEqual([
      ['warn', 'unknown_alias'],
      ['warn', 'entra_rejected'],
      ['warn', 'upstream_unavailable'],
      ['warn', 'broker_error'],
    ]);
  });

  it('answers 403 forbidden when IAM refuses the signature, and 503 when the broker is unreachable', async () => {
    const refused = await start({ credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'wrong-secret' } });
    expectRefusal(
      await ask(refused, 'https://storage.azure.com'),
      403,
      'forbidden',
      /AWS IAM refused GET .*\/token\/storage .*execute-api:Invoke .*broker\.grantToken\(grantee, "storage"\)/,
    );
    const unreachable = await start({ brokerUrl: `http://127.0.0.1:${await closedPort()}` });
    expectRefusal(await ask(unreachable, 'https://storage.azure.com'), 503, 'broker_unreachable', /ECONNREFUSED/);
  });

  it('makes one broker request per alias for many concurrent callers, then serves them from its cache', async () => {
    const endpoint = await start();
    const before = broker.tokenRequests('vault');
    const held = broker.hold();
    const answers = Array.from({ length: 20 }, () => ask(endpoint, 'https://vault.azure.net'));
    await held.arrived;
    held.release();
    const bodies = (await Promise.all(answers)).map((answer) => answer.body.access_token);
    expect(new Set(bodies).size).toBe(1);
    expect((await ask(endpoint, 'https://vault.azure.net/')).body.access_token).toBe(bodies[0]);
    expect(broker.tokenRequests('vault')).toBe(before + 1);
  });

  it('keeps endpoints independent: each its own header, cache and broker requests', async () => {
    const first = await start({ identityHeader: undefined });
    const second = await start({ identityHeader: undefined });
    expect(first.identityHeader).not.toBe(second.identityHeader);
    expect(first.port).not.toBe(second.port);
    const before = broker.tokenRequests('storage');
    await ask(first, 'https://storage.azure.com', { header: first.identityHeader });
    await ask(second, 'https://storage.azure.com', { header: second.identityHeader });
    expect(broker.tokenRequests('storage')).toBe(before + 2);
    expect((await ask(second, 'https://storage.azure.com', { header: first.identityHeader })).status).toBe(401);
  });

  it('generates a URL-safe header of 256 bits when none is given', () => {
    const header = randomIdentityHeader();
    expect(header).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomIdentityHeader()).not.toBe(header);
  });

  it('listens on 127.0.0.1 only: another loopback address of the same port finds nothing', async () => {
    const endpoint = await start();
    const connects = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host, port: endpoint.port }, () => {
          socket.destroy();
          resolve(true);
        }).on('error', () => resolve(false));
      });
    expect(await connects('127.0.0.1')).toBe(true);
    // A server bound to 0.0.0.0 (every interface) would accept here too.
    expect(await connects('127.0.0.2')).toBe(false);
  });

  it('stops listening on close()', async () => {
    const endpoint = await start();
    await ask(endpoint, 'https://storage.azure.com');
    await endpoint.close();
    await expect(fetch(endpoint.url)).rejects.toThrow();
  });

  it('refuses bad options with errors that name them', async () => {
    const attempt = (overrides: Partial<IdentityEndpointOptions>) => start(overrides);
    await expect(attempt({ identityHeader: 'too-short' })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/identity header must be 16 to 512 characters .*got 9 characters\)/),
    });
    await expect(attempt({ identityHeader: 'has spaces in it, sixteen+' })).rejects.toThrow(/some of them not allowed/);
    await expect(attempt({ resources: {} })).rejects.toThrow(/no resource is mapped/);
    await expect(attempt({ resources: { 'https://storage.azure.com': 'Not An Alias' } })).rejects.toThrow(
      /the alias for https:\/\/storage\.azure\.com must be a broker alias .*got "Not An Alias"/,
    );
    await expect(attempt({ brokerUrl: 'http://broker.example.com' })).rejects.toThrow(IdentityEndpointError);
    await expect(attempt({ port: 70_000 })).rejects.toThrow(/port must be an integer from 0 to 65535, got 70000/);
    const taken = await start();
    await expect(attempt({ port: taken.port })).rejects.toMatchObject({
      code: 'listen_failed',
      message: `cannot listen on 127.0.0.1:${taken.port} (EADDRINUSE): the port is in use, choose another one or 0 for any`,
    });
  });
});

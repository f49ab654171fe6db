/**
 * The Entra emulator against a third, independent JWT implementation: a fake OIDC issuer built here on
 * node:http, with assertions signed and access tokens verified by plain node:crypto (no jose, no jsonwebtoken).
 */

import {
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign as cryptoSign,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../../local/entra-emulator/emulator';
import { plainTextThrottle } from '../../../local/entra-emulator/faults';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const OTHER_TENANT = 'b2c4e6f8-1a3c-4e5a-8c7e-9f0a1b2c3d4e';
const OTHER_CLIENT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';
/** An app in TENANT with no federated credential at all. */
const BARE_CLIENT = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';
const SUBJECT = 'aws-token-broker';
const AUDIENCE = 'api://AzureADTokenExchange';
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const START_MS = 1_900_000_000_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------- a fake OIDC issuer: node:http + node:crypto only ----------

interface RsaKey {
  readonly privateKey: KeyObject;
  readonly jwk: JsonWebKey & { kid: string };
}

function rsaKey(): RsaKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' });
  const kid = createHash('sha256')
    .update(JSON.stringify({ e, kty: 'RSA', n }))
    .digest('base64url');
  return { privateKey, jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n, e } };
}

interface FakeIssuer {
  readonly url: string;
  /** What the issuer publishes and answers; tests change it and beforeEach resets it. */
  state: { keys: JsonWebKey[]; discoveryIssuer: string | undefined; discoveryStatus: number; jwksStatus: number; hits: number };
  close(): Promise<void>;
}

async function startFakeIssuer(key: RsaKey): Promise<FakeIssuer> {
  const issuer: FakeIssuer = {
    url: '',
    state: { keys: [key.jwk], discoveryIssuer: undefined, discoveryStatus: 200, jwksStatus: 200, hits: 0 },
    close: () => closeServer(server),
  };
  const server = createServer((req, res) => {
    issuer.state.hits += 1;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      json(issuer.state.discoveryStatus, {
        issuer: issuer.state.discoveryIssuer ?? issuer.url,
        jwks_uri: `${issuer.url}/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (req.url === '/jwks') {
      json(issuer.state.jwksStatus, { keys: issuer.state.keys });
    } else {
      res.writeHead(404).end();
    }
  });
  const port = await listenOnLoopback(server);
  (issuer as { url: string }).url = `http://127.0.0.1:${port}`;
  return issuer;
}

function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const fromB64url = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;

function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(cryptoSign('sha256', Buffer.from(input), privateKey))}`;
}

// ---------- the suite ----------

let issuerKey: RsaKey;
let issuer: FakeIssuer;
let deadIssuerUrl: string;
let emulator: EntraEmulator;
const clock = { ms: START_MS };
const nowSeconds = () => Math.floor(clock.ms / 1000);
/** Every assertion sent and every answer body received, to prove no answer ever echoes an assertion. */
const sentAssertions: string[] = [];
const answerBodies: string[] = [];

beforeAll(async () => {
  issuerKey = rsaKey();
  issuer = await startFakeIssuer(issuerKey);
  // A loopback port nobody listens on: an issuer Entra cannot reach.
  const dead = createServer();
  deadIssuerUrl = `http://127.0.0.1:${await listenOnLoopback(dead)}`;
  await closeServer(dead);

  emulator = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: CLIENT,
        federatedCredentials: [
          { issuer: issuer.url, subject: SUBJECT, audiences: [AUDIENCE] },
          { issuer: deadIssuerUrl, subject: SUBJECT, audiences: [AUDIENCE] },
        ],
        allowedResources: ['https://graph.microsoft.com', 'https://storage.azure.com'],
        roles: ['User.Read.All'],
      },
      {
        tenantId: OTHER_TENANT,
        clientId: OTHER_CLIENT,
        federatedCredentials: [{ issuer: issuer.url, subject: SUBJECT, audiences: [AUDIENCE] }],
      },
      { tenantId: TENANT, clientId: BARE_CLIENT, federatedCredentials: [] },
    ],
    now: () => clock.ms,
  });
});

afterAll(async () => {
  await emulator?.close();
  await issuer?.close();
});

beforeEach(() => {
  clock.ms = START_MS;
  emulator.clearFaults();
  emulator.resetCounters();
  emulator.setTokenLifetime(3599);
  issuer.state = { keys: [issuerKey.jwk], discoveryIssuer: undefined, discoveryStatus: 200, jwksStatus: 200, hits: 0 };
});

interface AssertionOptions {
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  readonly key?: KeyObject;
}

/** A valid client assertion as the broker builds it; `claims` entries set to undefined are left out. */
function assertion(options: AssertionOptions = {}): string {
  const now = nowSeconds();
  const claims = { iss: issuer.url, sub: SUBJECT, aud: AUDIENCE, iat: now, nbf: now, exp: now + 300, jti: randomUUID(), ...options.claims };
  const header = { alg: 'RS256', typ: 'JWT', kid: issuerKey.jwk.kid, ...options.header };
  return signRs256(header, claims, options.key ?? issuerKey.privateKey);
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly elapsedMs: number;
}

async function post(
  form: Record<string, string>,
  init: { tenant?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Answer> {
  const started = Date.now();
  const response = await fetch(emulator.tokenEndpoint(init.tenant ?? TENANT), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...init.headers },
    body: new URLSearchParams(form).toString(),
    signal: init.signal,
  });
  const text = await response.text();
  if (form.client_assertion) {
    sentAssertions.push(form.client_assertion);
    const signature = form.client_assertion.split('.')[2] ?? '';
    expect(text).not.toContain(form.client_assertion);
    if (signature.length > 0) expect(text).not.toContain(signature);
  }
  answerBodies.push(text);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Malformed-JSON faults: the text is what the test looks at.
  }
  return { status: response.status, headers: response.headers, text, json, elapsedMs: Date.now() - started };
}

function tokenForm(clientAssertion: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const form: Record<string, string | undefined> = {
    grant_type: 'client_credentials',
    client_id: CLIENT,
    scope: GRAPH_SCOPE,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(form).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const exchange = (clientAssertion = assertion(), overrides: Record<string, string | undefined> = {}, tenant = TENANT) =>
  post(tokenForm(clientAssertion, overrides), { tenant });

/** Checks the exact Entra error shape and returns the description. */
function expectEntraError(answer: Answer, expected: { status: number; error: string; code: number }): string {
  expect({ status: answer.status, error: answer.json.error, error_codes: answer.json.error_codes }).toEqual({
    status: expected.status,
    error: expected.error,
    error_codes: [expected.code],
  });
  expect(Object.keys(answer.json).sort()).toEqual(
    ['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id'].sort(),
  );
  const description = String(answer.json.error_description);
  const traceId = String(answer.json.trace_id);
  const correlationId = String(answer.json.correlation_id);
  const timestamp = String(answer.json.timestamp);
  expect(traceId).toMatch(UUID);
  expect(correlationId).toMatch(UUID);
  expect(timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
  expect(description.startsWith(`AADSTS${expected.code}: `)).toBe(true);
  expect(description.endsWith(` Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`)).toBe(true);
  expect(answer.json.error_uri).toBe(`https://login.microsoftonline.com/error?code=${expected.code}`);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  return description;
}

/** Verifies an access token with node:crypto against the emulator's published JWKS; returns its claims. */
async function verifyAccessToken(token: string): Promise<Record<string, unknown>> {
  const [headerPart = '', claimsPart = '', signaturePart = ''] = token.split('.');
  const header = fromB64url(headerPart);
  expect(header.alg).toBe('RS256');
  const jwks = (await (await fetch(emulator.jwksUri(TENANT))).json()) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  expect(jwk).toBeDefined();
  const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  expect(cryptoVerify('sha256', Buffer.from(`${headerPart}.${claimsPart}`), publicKey, Buffer.from(signaturePart, 'base64url'))).toBe(true);
  return fromB64url(claimsPart);
}

describe('successful exchange', () => {
  it('answers 200 with exactly Entra’s fields and a verifiable v1.0 app token', async () => {
    const answer = await exchange();

    expect(answer.status).toBe(200);
    expect(Object.keys(answer.json)).toEqual(['token_type', 'expires_in', 'ext_expires_in', 'access_token']);
    expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
    expect(answer.headers.get('cache-control')).toContain('no-store');
    const claims = await verifyAccessToken(String(answer.json.access_token));
    expect(claims).toMatchObject({
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${TENANT}/`,
      appid: CLIENT,
      tid: TENANT,
      iat: nowSeconds(),
      nbf: nowSeconds(),
      exp: nowSeconds() + 3599,
      ver: '1.0',
      idtyp: 'app',
      roles: ['User.Read.All'],
    });
    expect(claims.oid).toMatch(UUID);
    expect(claims.sub).toBe(claims.oid);
    expect(issuer.state.hits).toBe(2); // discovery and JWKS, fetched for real
  });

  it('issues a distinct uti per token and the resource of the scope as aud', async () => {
    const first = await verifyAccessToken(String((await exchange()).json.access_token));
    const second = await verifyAccessToken(
      String((await exchange(assertion(), { scope: 'https://storage.azure.com/.default' })).json.access_token),
    );
    expect(second.aud).toBe('https://storage.azure.com');
    expect(typeof first.uti).toBe('string');
    expect(first.uti).not.toBe(second.uti);
  });

  it('uses the lifetime set at runtime for expires_in and exp', async () => {
    emulator.setTokenLifetime(60);
    const answer = await exchange();
    expect(answer.json).toMatchObject({ expires_in: 60, ext_expires_in: 60 });
    expect((await verifyAccessToken(String(answer.json.access_token))).exp).toBe(nowSeconds() + 60);
    expect(() => emulator.setTokenLifetime(0)).toThrow(RangeError);
  });

  it('matches tenant ids case-insensitively and echoes client-request-id as correlation id', async () => {
    expect((await exchange(assertion(), {}, TENANT.toUpperCase())).status).toBe(200);
    const correlationId = randomUUID();
    const refused = await post(tokenForm(assertion(), { client_id: OTHER_CLIENT }), { headers: { 'client-request-id': correlationId } });
    expect(refused.json.correlation_id).toBe(correlationId);
    expect(refused.headers.get('client-request-id')).toBe(correlationId);
    expect(refused.headers.get('x-ms-request-id')).toBe(refused.json.trace_id);
  });
});

describe('federated credential matching', () => {
  it('refuses an issuer no credential names: 401 invalid_client AADSTS700211', async () => {
    const other = `${issuer.url}/other`;
    const description = expectEntraError(await exchange(assertion({ claims: { iss: other } })), {
      status: 401,
      error: 'invalid_client',
      code: 700211,
    });
    expect(description).toContain(`presented assertion issuer '${other}'`);
    expect(issuer.state.hits).toBe(0); // no credential, nothing to fetch
  });

  it('refuses a trailing-slash issuer (exact match)', async () => {
    expectEntraError(await exchange(assertion({ claims: { iss: `${issuer.url}/` } })), {
      status: 401,
      error: 'invalid_client',
      code: 700211,
    });
  });

  it('refuses a wrong subject: AADSTS700213', async () => {
    const description = expectEntraError(await exchange(assertion({ claims: { sub: 'aws-token-broker-2' } })), {
      status: 401,
      error: 'invalid_client',
      code: 700213,
    });
    expect(description).toContain("presented assertion subject 'aws-token-broker-2'");
  });

  it('refuses a subject that differs only in case: AADSTS7002138, saying so (case-sensitive since August 2024)', async () => {
    const description = expectEntraError(await exchange(assertion({ claims: { sub: 'Aws-Token-Broker' } })), {
      status: 401,
      error: 'invalid_client',
      code: 7002138,
    });
    expect(description).toContain(
      "presented assertion subject 'Aws-Token-Broker'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison.",
    );
  });

  it('refuses an app without any federated credential: AADSTS70025', async () => {
    const description = expectEntraError(await exchange(assertion(), { client_id: BARE_CLIENT }), {
      status: 401,
      error: 'invalid_client',
      code: 70025,
    });
    expect(description).toContain(`The client '${BARE_CLIENT}' has no configured federated identity credentials.`);
  });

  it('refuses a wrong audience: AADSTS700212', async () => {
    expectEntraError(await exchange(assertion({ claims: { aud: 'api://other' } })), { status: 401, error: 'invalid_client', code: 700212 });
  });

  it('refuses an unknown client in the tenant: 400 unauthorized_client AADSTS700016', async () => {
    expectEntraError(await exchange(assertion(), { client_id: randomUUID() }), { status: 400, error: 'unauthorized_client', code: 700016 });
    // An app of another tenant is unknown here too.
    expectEntraError(await exchange(assertion(), { client_id: OTHER_CLIENT }), { status: 400, error: 'unauthorized_client', code: 700016 });
  });

  it('refuses an unknown tenant: 400 invalid_request AADSTS90002', async () => {
    expectEntraError(await exchange(assertion(), {}, randomUUID()), { status: 400, error: 'invalid_request', code: 90002 });
  });
});

describe('signature and issuer keys', () => {
  it('refuses a signature by another key under the same kid: AADSTS700027', async () => {
    const impostor = rsaKey();
    expectEntraError(await exchange(assertion({ key: impostor.privateKey })), { status: 401, error: 'invalid_client', code: 700027 });
  });

  it('refuses a kid the issuer does not publish: AADSTS7000272', async () => {
    const unpublished = rsaKey();
    const description = expectEntraError(await exchange(assertion({ key: unpublished.privateKey, header: { kid: unpublished.jwk.kid } })), {
      status: 401,
      error: 'invalid_client',
      code: 7000272,
    });
    expect(description).toContain(unpublished.jwk.kid);
  });

  it('accepts a key added to the JWKS (rotation) without restarting', async () => {
    const next = rsaKey();
    issuer.state.keys = [issuerKey.jwk, next.jwk];
    expect((await exchange(assertion({ key: next.privateKey, header: { kid: next.jwk.kid } }))).status).toBe(200);
  });

  it('refuses when the discovery issuer is not byte-equal to iss: AADSTS90061', async () => {
    issuer.state.discoveryIssuer = `${issuer.url}/`;
    expectEntraError(await exchange(), { status: 400, error: 'invalid_request', code: 90061 });
    expect(emulator.lastError?.detail).toContain('names issuer');
  });

  it('refuses when discovery or JWKS cannot be fetched: AADSTS90061', async () => {
    issuer.state.discoveryStatus = 500;
    expectEntraError(await exchange(), { status: 400, error: 'invalid_request', code: 90061 });
    issuer.state.discoveryStatus = 200;
    issuer.state.jwksStatus = 404;
    expectEntraError(await exchange(), { status: 400, error: 'invalid_request', code: 90061 });
    expectEntraError(await exchange(assertion({ claims: { iss: deadIssuerUrl } })), { status: 400, error: 'invalid_request', code: 90061 });
    expect(emulator.lastError?.detail).toContain(deadIssuerUrl);
  });

  it('refuses other algorithms (AADSTS5002730) and malformed assertions (AADSTS50027)', async () => {
    const now = nowSeconds();
    const claims = { iss: issuer.url, sub: SUBJECT, aud: AUDIENCE, iat: now, nbf: now, exp: now + 300, jti: randomUUID() };
    const hsInput = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: issuerKey.jwk.kid }))}.${b64url(JSON.stringify(claims))}`;
    const hs256 = `${hsInput}.${createHmac('sha256', 'shared').update(hsInput).digest('base64url')}`;
    expectEntraError(await exchange(hs256), { status: 400, error: 'invalid_request', code: 5002730 });
    const unsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
    expectEntraError(await exchange(unsigned), { status: 400, error: 'invalid_request', code: 5002730 });
    expectEntraError(await exchange('not-a-jwt'), { status: 400, error: 'invalid_request', code: 50027 });
    expectEntraError(await exchange(assertion({ header: { kid: undefined } })), { status: 400, error: 'invalid_request', code: 50027 });
  });
});

describe('the issuer JWKS as Entra reads it', () => {
  it('looks at the first 100 keys only', async () => {
    const filler = Array.from({ length: 100 }, () => ({ ...issuerKey.jwk, kid: randomUUID() }));
    issuer.state.keys = [...filler, issuerKey.jwk];
    expectEntraError(await exchange(), { status: 401, error: 'invalid_client', code: 7000272 });
    issuer.state.keys = [...filler.slice(1), issuerKey.jwk];
    expect((await exchange()).status).toBe(200);
  });

  it('skips a key published for encryption (use: enc), accepts one without use', async () => {
    issuer.state.keys = [{ ...issuerKey.jwk, use: 'enc' }];
    expectEntraError(await exchange(), { status: 401, error: 'invalid_client', code: 7000272 });
    const { use: _use, ...withoutUse } = issuerKey.jwk;
    issuer.state.keys = [withoutUse];
    expect((await exchange()).status).toBe(200);
  });
});

describe('issuer metadata cache (issuerMetadataCache)', () => {
  async function cachingEmulator(refetchOnUnknownKid: boolean): Promise<EntraEmulator> {
    return startEntraEmulator({
      apps: [
        { tenantId: TENANT, clientId: CLIENT, federatedCredentials: [{ issuer: issuer.url, subject: SUBJECT, audiences: [AUDIENCE] }] },
      ],
      now: () => clock.ms,
      issuerMetadataCache: { seconds: 600, refetchOnUnknownKid },
    });
  }
  const exchangeAt = async (entra: EntraEmulator, clientAssertion: string) =>
    (
      await fetch(entra.tokenEndpoint(TENANT), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(tokenForm(clientAssertion)).toString(),
      })
    ).json() as Promise<Record<string, unknown>>;

  it('reads discovery and JWKS once for the cache time, then again', async () => {
    const entra = await cachingEmulator(false);
    try {
      for (let i = 0; i < 3; i++) expect(await exchangeAt(entra, assertion())).toHaveProperty('access_token');
      expect(entra.requests.issuerMetadataFetches).toBe(2);
      clock.ms += 600_000;
      expect(await exchangeAt(entra, assertion())).toHaveProperty('access_token');
      expect(entra.requests.issuerMetadataFetches).toBe(4);
    } finally {
      await entra.close();
    }
  });

  it('strict: a key published after the metadata was cached is unknown until the cache expires (7000272)', async () => {
    const entra = await cachingEmulator(false);
    try {
      await exchangeAt(entra, assertion());
      const next = rsaKey();
      issuer.state.keys = [issuerKey.jwk, next.jwk];
      const signedByNext = assertion({ key: next.privateKey, header: { kid: next.jwk.kid } });
      expect(await exchangeAt(entra, signedByNext)).toMatchObject({ error: 'invalid_client', error_codes: [7000272] });
      clock.ms += 600_000;
      expect(await exchangeAt(entra, assertion({ key: next.privateKey, header: { kid: next.jwk.kid } }))).toHaveProperty('access_token');
    } finally {
      await entra.close();
    }
  });

  it('lenient: an unknown kid makes it read the metadata again at once', async () => {
    const entra = await cachingEmulator(true);
    try {
      await exchangeAt(entra, assertion());
      const next = rsaKey();
      issuer.state.keys = [issuerKey.jwk, next.jwk];
      expect(await exchangeAt(entra, assertion({ key: next.privateKey, header: { kid: next.jwk.kid } }))).toHaveProperty('access_token');
      expect(entra.requests.issuerMetadataFetches).toBe(4);
    } finally {
      await entra.close();
    }
  });
});

describe('assertion time range (clock skew 300 s)', () => {
  const timeRangeError = { status: 401, error: 'invalid_client', code: 700024 };

  it('refuses an assertion expired beyond the skew, accepts one within it', async () => {
    const expired = assertion({ claims: { iat: nowSeconds() - 900, nbf: nowSeconds() - 900, exp: nowSeconds() - 301 } });
    const description = expectEntraError(await exchange(expired), timeRangeError);
    expect(description).toContain('Client assertion is not within its valid time range. Current time: ');
    expect(description).toMatch(/expiry time of assertion \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z/);
    const withinSkew = assertion({ claims: { iat: nowSeconds() - 900, nbf: nowSeconds() - 900, exp: nowSeconds() - 200 } });
    expect((await exchange(withinSkew)).status).toBe(200);
  });

  it('refuses an assertion not yet valid (nbf or iat beyond the skew)', async () => {
    expectEntraError(await exchange(assertion({ claims: { nbf: nowSeconds() + 400, exp: nowSeconds() + 900 } })), timeRangeError);
    expectEntraError(await exchange(assertion({ claims: { iat: nowSeconds() + 400, exp: nowSeconds() + 900 } })), timeRangeError);
    expect((await exchange(assertion({ claims: { nbf: nowSeconds() + 200 } }))).status).toBe(200);
  });

  it('refuses an assertion once the injected clock passes exp + skew', async () => {
    const signedNow = assertion();
    clock.ms += (300 + 300) * 1000;
    expectEntraError(await exchange(signedNow), timeRangeError);
  });

  it('reads a missing exp and nbf as 1970, as Entra’s message shows', async () => {
    const description = expectEntraError(await exchange(assertion({ claims: { nbf: undefined, exp: undefined } })), timeRangeError);
    expect(description).toContain(
      'assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 1970-01-01T00:00:00.0000000Z',
    );
  });
});

describe('assertion reuse and lifetime', () => {
  it('accepts the same assertion again until it expires, as Entra does, and counts each reuse', async () => {
    const reused = assertion();
    expect((await exchange(reused)).status).toBe(200);
    expect((await exchange(reused)).status).toBe(200);
    expect((await exchange(reused)).status).toBe(200);
    expect((await exchange(assertion())).status).toBe(200);
    expect(emulator.requests).toMatchObject({ exchanges: 4, reusedAssertions: 2 });
    clock.ms += (300 + 300) * 1000; // past exp + skew
    expectEntraError(await exchange(reused), { status: 401, error: 'invalid_client', code: 700024 });
    expect(emulator.requests.reusedAssertions).toBe(2);
  });

  it('requires iat: without it, AADSTS70023 with "Token issued at 0", as Entra answers', async () => {
    const description = expectEntraError(await exchange(assertion({ claims: { iat: undefined } })), {
      status: 400,
      error: 'invalid_request',
      code: 70023,
    });
    expect(description).toContain(
      `External OIDC Provider token must have a lifetime of less than or equal to 1.01:00:00. Token issued at 0. Token expires on ${nowSeconds() + 300}.`,
    );
  });

  it('refuses a lifetime (exp - iat) over 25 hours with AADSTS70023, accepts exactly 25 hours', async () => {
    const iat = nowSeconds();
    expectEntraError(await exchange(assertion({ claims: { iat, exp: iat + 25 * 3600 + 1 } })), {
      status: 400,
      error: 'invalid_request',
      code: 70023,
    });
    expect((await exchange(assertion({ claims: { iat, exp: iat + 25 * 3600 } }))).status).toBe(200);
  });
});

describe('scope', () => {
  it('refuses a scope without /.default: 400 invalid_scope AADSTS1002012', async () => {
    const description = expectEntraError(await exchange(assertion(), { scope: 'https://graph.microsoft.com/User.Read' }), {
      status: 400,
      error: 'invalid_scope',
      code: 1002012,
    });
    expect(description).toContain('The provided value for scope https://graph.microsoft.com/User.Read is not valid.');
  });

  it('refuses two resources (AADSTS700022) and a resource the app may not use (AADSTS500011)', async () => {
    expectEntraError(await exchange(assertion(), { scope: `${GRAPH_SCOPE} https://storage.azure.com/.default` }), {
      status: 400,
      error: 'invalid_scope',
      code: 700022,
    });
    expectEntraError(await exchange(assertion(), { scope: 'https://vault.azure.net/.default' }), {
      status: 400,
      error: 'invalid_resource',
      code: 500011,
    });
  });
});

describe('request parameters', () => {
  it('names each missing parameter (AADSTS900144) and refuses other grants and assertion types', async () => {
    for (const name of ['grant_type', 'client_id', 'scope', 'client_assertion_type']) {
      const description = expectEntraError(await exchange(assertion(), { [name]: undefined }), {
        status: 400,
        error: 'invalid_request',
        code: 900144,
      });
      expect(description).toContain(`'${name}'`);
    }
    expectEntraError(await exchange(assertion(), { grant_type: 'password' }), {
      status: 400,
      error: 'unsupported_grant_type',
      code: 70003,
    });
    expectEntraError(await exchange(assertion(), { client_assertion: undefined }), { status: 401, error: 'invalid_client', code: 7000216 });
    expectEntraError(await exchange(assertion(), { client_assertion_type: 'urn:other' }), {
      status: 400,
      error: 'invalid_request',
      code: 90100,
    });
  });

  it('reads only form bodies and only POST', async () => {
    const json = await fetch(emulator.tokenEndpoint(TENANT), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(tokenForm(assertion())),
    });
    const jsonAnswer = {
      status: json.status,
      headers: json.headers,
      text: '',
      json: (await json.json()) as Record<string, unknown>,
      elapsedMs: 0,
    };
    expect(expectEntraError(jsonAnswer, { status: 400, error: 'invalid_request', code: 900144 })).toContain("'grant_type'");
    const get = await fetch(emulator.tokenEndpoint(TENANT));
    const getAnswer = {
      status: get.status,
      headers: get.headers,
      text: '',
      json: (await get.json()) as Record<string, unknown>,
      elapsedMs: 0,
    };
    expectEntraError(getAnswer, { status: 400, error: 'invalid_request', code: 900561 });
  });
});

describe('fault injection', () => {
  it('answers an injected 503 with its Retry-After exactly, then recovers', async () => {
    emulator.injectFault({ status: 503, headers: { 'Retry-After': '7' } });
    const faulted = await exchange();
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('7');
    expect(faulted.json.error).toBe('temporarily_unavailable');
    expect((await exchange()).status).toBe(200);
  });

  it('sends a given body as is, and consumes faults in order with times', async () => {
    emulator.injectFaults([
      { status: 429, body: 'slow down', headers: { 'Retry-After': '1' }, times: 2 },
      { status: 500, body: { error: 'server_error' } },
    ]);
    const answers = [await exchange(), await exchange(), await exchange(), await exchange()];
    expect(answers.map((a) => a.status)).toEqual([429, 429, 500, 200]);
    expect(answers[0]?.text).toBe('slow down');
    expect(answers[2]?.json).toEqual({ error: 'server_error' });
  });

  it('delays an answer by delayMs, then handles the request normally', async () => {
    emulator.injectFault({ delayMs: 300 });
    const answer = await exchange();
    expect(answer.status).toBe(200);
    expect(answer.elapsedMs).toBeGreaterThanOrEqual(280);
  });

  it('answers a malformed JSON body', async () => {
    emulator.injectFault({ malformedJson: true });
    const answer = await exchange();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
  });

  it('hangs until the client gives up, or drops the connection after delayMs', async () => {
    emulator.injectFaults([{ hang: true }, { hang: true, delayMs: 100 }]);
    await expect(exchangeWithSignal(AbortSignal.timeout(300))).rejects.toThrow();
    await expect(exchange()).rejects.toThrow(); // dropped after 100 ms
    expect((await exchange()).status).toBe(200);
  });

  it('forgets queued faults on clearFaults and rejects invalid ones', async () => {
    emulator.injectFault({ status: 503, times: 5 });
    emulator.clearFaults();
    expect((await exchange()).status).toBe(200);
    expect(() => emulator.injectFault({ status: 42 })).toThrow(RangeError);
    expect(() => emulator.injectFault({ hang: true, status: 503 })).toThrow(RangeError);
    expect(() => emulator.injectFault({ aadsts: 70021 as 50166 })).toThrow(/aadsts must be one of 50166, 90006, 90061, 501661/);
    expect(() => emulator.injectFault({ aadsts: 50166, status: 500 })).toThrow(/takes no status, body or malformedJson/);
  });

  it('answers Entra throttling as Entra does: 429, plain text "Too Many Requests", Retry-After', async () => {
    emulator.injectFault(plainTextThrottle(3));
    const throttled = await exchange();
    expect({ status: throttled.status, text: throttled.text, retryAfter: throttled.headers.get('retry-after') }).toStrictEqual({
      status: 429,
      text: 'Too Many Requests',
      retryAfter: '3',
    });
    expect(throttled.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect((await exchange()).status).toBe(200);
  });

  it.each([50166, 501661, 90061] as const)(
    'answers AADSTS%i (Entra could not read the issuer metadata) as Entra does, as often as asked, then exchanges',
    async (code) => {
      emulator.injectFault({ aadsts: code, times: 2 });
      const answers = [await exchange(), await exchange(), await exchange()];
      const description = expectEntraError(answers[0]!, { status: 400, error: 'invalid_request', code });
      expect(description).toMatch(new RegExp(`^AADSTS${code}: Request to External OIDC endpoint failed\\. Trace ID: `));
      expectEntraError(answers[1]!, { status: 400, error: 'invalid_request', code });
      expect(answers[2]?.status).toBe(200);
      expect(emulator.requests).toMatchObject({ attempts: 3, exchanges: 1 });
    },
  );

  it('echoes the client-request-id of a faulted refusal as its correlation id', async () => {
    emulator.injectFault({ aadsts: 50166 });
    const id = randomUUID();
    const answer = await post(tokenForm(assertion()), { headers: { 'client-request-id': id } });
    expect(answer.json.correlation_id).toBe(id);
  });
});

function exchangeWithSignal(signal: AbortSignal): Promise<Answer> {
  return post(tokenForm(assertion()), { signal });
}

describe('counters and lastError', () => {
  it('counts attempts (refused and faulted too) and successful exchanges per client and scope', async () => {
    emulator.injectFault({ status: 503 });
    await exchange();
    await exchange();
    await exchange(assertion(), { scope: 'https://storage.azure.com/.default' });
    await exchange(assertion({ claims: { sub: 'nobody' } }));

    expect(emulator.requests).toMatchObject({ attempts: 4, exchanges: 2 });
    expect(emulator.countsFor(CLIENT, GRAPH_SCOPE)).toEqual({ attempts: 3, exchanges: 1 });
    expect(emulator.requests.byClientAndScope[`${CLIENT} https://storage.azure.com/.default`]).toEqual({ attempts: 1, exchanges: 1 });
    expect(emulator.requests.issuerMetadataFetches).toBe(6); // discovery and JWKS for each of 3 verified assertions
    emulator.resetCounters();
    expect(emulator.requests).toEqual({ attempts: 0, exchanges: 0, byClientAndScope: {}, reusedAssertions: 0, issuerMetadataFetches: 0 });
  });

  it('keeps the last refusal with its reason, never the assertion', async () => {
    const sent = assertion({ claims: { aud: 'api://nope' } });
    await exchange(sent);
    const last = emulator.lastError;
    expect(last).toMatchObject({ httpStatus: 401, error: 'invalid_client', errorCode: 700212, clientId: CLIENT });
    expect(JSON.stringify(last)).not.toContain(sent.split('.')[2]);
  });

  it('never answered with an assertion in any body', () => {
    expect(sentAssertions.length).toBeGreaterThan(20);
    for (const body of answerBodies) {
      for (const sent of sentAssertions) {
        expect(body).not.toContain(sent);
        expect(body).not.toContain(sent.split('.')[1] ?? sent);
      }
    }
  });
});

describe('lifecycle', () => {
  it('closes promptly with a hung request in flight', async () => {
    const own = await startEntraEmulator({ apps: [] });
    own.injectFault({ hang: true });
    const inFlight = fetch(own.tokenEndpoint(TENANT), { method: 'POST', body: 'grant_type=client_credentials' });
    // Wait until the emulator holds the request (counted before its fault applies), not a guessed 50 ms.
    await vi.waitFor(() => expect(own.requests.attempts).toBe(1), { timeout: 5_000, interval: 10 });
    const started = Date.now();
    await own.close();
    // Rejected, not answered: close() cut the connection instead of waiting for the hung request.
    await expect(inFlight).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('holds no abort listener per waiting request: 30 delayed and 15 abandoned hung requests raise no MaxListenersExceededWarning', async () => {
    // `npm run bench` sends 150 concurrent delayed token requests: each used to add an abort listener to the
    // emulator-wide closing signal (a warning at the 11th), and a hung request whose client left kept its
    // listener until close().
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const own = await startEntraEmulator({ apps: [] });
    try {
      const post = (signal?: AbortSignal) =>
        fetch(own.tokenEndpoint(TENANT), { method: 'POST', body: 'grant_type=client_credentials', ...(signal ? { signal } : {}) });
      own.injectFault({ delayMs: 200, times: 30 });
      const delayed = await Promise.all(Array.from({ length: 30 }, async () => (await post()).status));
      expect(delayed).toEqual(Array.from({ length: 30 }, () => 400)); // tenant not found, after the delay

      own.injectFault({ hang: true, times: 15 });
      for (let i = 0; i < 15; i++) await expect(post(AbortSignal.timeout(30))).rejects.toThrow();
      expect((await post()).status).toBe(400); // the queue is drained and the emulator still answers
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
      await own.close();
    }
    expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('validates its options, naming the field', async () => {
    await expect(startEntraEmulator({ apps: [{ tenantId: '', clientId: CLIENT, federatedCredentials: [] }] })).rejects.toThrow(
      /apps\[0\]\.tenantId/,
    );
    await expect(startEntraEmulator({ apps: [], tokenLifetimeSeconds: -1 })).rejects.toThrow(/tokenLifetimeSeconds/);
    await expect(startEntraEmulator({ apps: [], issuerMetadataCache: { seconds: 0, refetchOnUnknownKid: true } })).rejects.toThrow(
      /issuerMetadataCache\.seconds/,
    );
  });

  it("enforces Entra's limits on federated credentials: 20 per app, one audience, 600 characters, unique issuer and subject", async () => {
    const credential = (i: number) => ({ issuer: `https://issuer-${i}.example.com`, subject: SUBJECT, audiences: [AUDIENCE] });
    const app = (federatedCredentials: unknown[]) => ({ apps: [{ tenantId: TENANT, clientId: CLIENT, federatedCredentials }] }) as never;
    await expect(startEntraEmulator(app(Array.from({ length: 21 }, (_, i) => credential(i))))).rejects.toThrow(
      'apps[0].federatedCredentials holds 21 credentials; Entra allows at most 20 per app',
    );
    const twenty = await startEntraEmulator(app(Array.from({ length: 20 }, (_, i) => credential(i))));
    await twenty.close();
    await expect(startEntraEmulator(app([{ ...credential(0), audiences: [AUDIENCE, 'api://other'] }]))).rejects.toThrow(
      /apps\[0\]\.federatedCredentials\[0\]\.audiences must hold exactly one audience/,
    );
    await expect(startEntraEmulator(app([{ ...credential(0), audiences: [] }]))).rejects.toThrow(/exactly one audience/);
    await expect(startEntraEmulator(app([{ ...credential(0), subject: 's'.repeat(601) }]))).rejects.toThrow(
      'apps[0].federatedCredentials[0].subject is 601 characters long; Entra allows at most 600',
    );
    await expect(startEntraEmulator(app([credential(0), { ...credential(0), audiences: ['api://other'] }]))).rejects.toThrow(
      'apps[0].federatedCredentials[1]: issuer and subject are already used by another credential of this app',
    );
  });
});

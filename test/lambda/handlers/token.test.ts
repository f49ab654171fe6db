import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AllowedCallers } from '../../../contract/allowed-callers';
import { parseBrokerConfig } from '../../../contract/broker-config';
import { fixedSigningKey } from '../../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { createTokenObservability } from '../../../lambda/adapters/observability';
import { createTokenFunction } from '../../../lambda/composition/token-function';
import { jwksDocument } from '../../../lambda/core/discovery';
import type { Fetch, KeySigner } from '../../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../../lambda/core/rotating-assertions';
import {
  API_REQUEST_ID,
  CALLER_ACCOUNT,
  httpEvent,
  jsonBody,
  lambdaContext,
  restEvent,
  TEST_API,
  TEST_REST_API,
  type HttpEventOptions,
  type RestEventOptions,
} from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';
import { rsaKeyPair } from '../../support/rsa-keys';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0, 250);
const T0_S = Math.floor(T0 / 1000);
const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';
const config = parseBrokerConfig({ tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH, storage: STORAGE } }).runtime;
const CALLER_ARN = `arn:aws:sts::${CALLER_ACCOUNT}:assumed-role/app-role/fn`;

/** An access token as Entra issues it: a JWT whose payload carries `uti`, Entra's unique token identifier. */
function accessToken(n: number): { token: string; uti: string } {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const uti = `m4xTQZ2KvUuhC3hMnQ0A${n}`;
  return {
    token: `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com', uti })}.ZW50cmEtc2lnbmF0dXJlLTAwMDE`,
    uti,
  };
}

const TRACE_ID = '0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00';
const CORRELATION_ID = 'f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910';
const AADSTS700213 = JSON.stringify({
  error: 'invalid_request',
  error_description: `AADSTS700213: No matching federated identity record found for presented assertion subject 'aws-token-broker'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.\r\nTrace ID: ${TRACE_ID}\r\nCorrelation ID: ${CORRELATION_ID}\r\nTimestamp: 2025-06-01 12:00:00Z`,
  error_codes: [700213],
  timestamp: '2025-06-01 12:00:00Z',
  trace_id: TRACE_ID,
  correlation_id: CORRELATION_ID,
  error_uri: 'https://login.microsoftonline.com/error?code=700213',
});

type EntraMode = 'ok' | 'reject' | 'down' | 'malformed';

const signingKey = await fixedSigningKey(rsaKeyPair('active').privateKeyPem, 'signing-key.pem', T0_S);

/**
 * The token function as the Lambda entrypoint builds it — the composition root, Powertools' injectLambdaContext and
 * logMetrics, the audit logger — over a MemoryTokenStore and a key file's key, in front of a fake Entra that checks
 * the client assertion as Entra does: signature against the broker's JWKS, issuer, audience, subject and time; then
 * answers per `entra.mode`. Its log and metric lines are read where Lambda reads them (stdout and stderr).
 */
function broker(
  options: {
    allowedCallers?: AllowedCallers;
    signer?: KeySigner;
    store?: MemoryTokenStore;
    logLevel?: 'ERROR';
    /** @default TEST_API, the public HTTP API's */
    api?: { apiId: string; stage: string };
  } = {},
) {
  const time = {
    get now() {
      return Date.now();
    },
    /** Moves the clock (the fake system time, which Powertools' timestamps read too). */
    advance: (ms: number) => void vi.setSystemTime(Date.now() + ms),
  };
  const clock = () => Date.now();
  const sleep = async (ms: number) => void time.advance(ms);
  const entra = {
    mode: 'ok' as EntraMode,
    requests: [] as URLSearchParams[],
    headers: [] as Headers[],
    issued: [] as string[],
    utis: [] as string[],
  };

  const fetch: Fetch = async (url, init) => {
    expect(url).toBe(`https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`);
    const form = new URLSearchParams(String(init?.body));
    entra.requests.push(form);
    entra.headers.push(new Headers(init?.headers));
    if (entra.mode === 'down') return new Response('upstream connect error', { status: 503 });
    if (entra.mode === 'reject') return new Response(AADSTS700213, { status: 400, headers: { 'content-type': 'application/json' } });
    if (entra.mode === 'malformed') return new Response('{"token_type":"Bearer","access_t', { status: 200 });
    await jwtVerify(
      form.get('client_assertion') ?? '',
      createLocalJWKSet(jwksDocument(await rotationPublicKeys(signingKey.state).publicKeys())),
      {
        issuer: ISSUER,
        audience: 'api://AzureADTokenExchange',
        subject: 'aws-token-broker',
        algorithms: ['RS256'],
        currentDate: new Date(clock()),
      },
    );
    const { token, uti } = accessToken(entra.issued.length);
    entra.issued.push(token);
    entra.utis.push(uti);
    return new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token }), {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  };

  const logs = captureLogs();
  const store = options.store ?? new MemoryTokenStore({ clock });
  const handler = createTokenFunction({
    config,
    assertions: rotatingAssertions(
      { issuer: ISSUER, subject: config.subject, audience: config.audience, lifetimeSeconds: config.assertionLifetimeSeconds },
      { state: signingKey.state, signer: options.signer ?? signingKey.signer, clock },
    ),
    store,
    api: options.api ?? TEST_API,
    observability: createTokenObservability({
      deployment: 'TestStack/Broker',
      ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    }),
    clock,
    fetch,
    sleep,
    ...(options.allowedCallers ? { allowedCallers: options.allowedCallers } : {}),
  });
  const get = (event: HttpEventOptions, awsRequestId?: string) => handler(httpEvent(event), lambdaContext(awsRequestId));
  /** A request through the private REST API (payload 1.0). */
  const getRest = (event: RestEventOptions, awsRequestId?: string) => handler(restEvent(event), lambdaContext(awsRequestId));
  return { get, getRest, handler, entra, time, logLines: logs.lines, logs, store };
}

beforeEach(() => {
  // Date only: the broker's clock and Powertools' timestamps; timers stay real.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  vi.stubEnv('_X_AMZN_TRACE_ID', '');
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', '');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', '');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

/** In every error answer: the contract's shape, no-store, and no token or JWT of any kind. */
function expectErrorAnswer(response: { statusCode?: number; headers?: Record<string, unknown>; body?: string }, issued: readonly string[]) {
  expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  expect(response.body).not.toContain('eyJ');
  expect(response.body).not.toMatch(/access_token/);
  for (const token of issued) expect(response.body).not.toContain(token);
  expect(response.body).not.toMatch(/\n\s+at /); // no stack trace
}

describe('GET /token/{alias}', () => {
  it('answers 200 with the Entra token, its lifetime and scope, not cacheable by intermediaries', async () => {
    const { get, entra } = broker();
    const response = await get({ routeKey: 'GET /token/graph' });

    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(jsonBody(response)).toStrictEqual({
      access_token: entra.issued[0],
      token_type: 'Bearer',
      expires_in: 3599,
      expires_on: T0_S + 3599,
      scope: GRAPH,
    });
  });

  it('asks Entra with a client assertion Entra can verify, for the configured client and scope', async () => {
    const { get, entra } = broker();
    await get({ routeKey: 'GET /token/graph' });
    expect(entra.requests).toHaveLength(1);
    expect(Object.fromEntries(entra.requests[0] ?? [])).toMatchObject({
      grant_type: 'client_credentials',
      client_id: CLIENT,
      scope: GRAPH,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/),
    });
  });

  it('serves the next request for the alias from the cache, with the remaining lifetime', async () => {
    const { get, entra, time } = broker();
    await get({ routeKey: 'GET /token/graph' });
    time.advance(60_000);
    const again = await get({ routeKey: 'GET /token/graph' });
    expect(entra.requests).toHaveLength(1);
    expect(jsonBody(again)).toMatchObject({ access_token: entra.issued[0], expires_in: 3599 - 60, expires_on: T0_S + 3599 });
  });

  it.each(['storage', 'graph', 'keyvault'])(
    'answers the catch-all route 404 whatever its path parameter (%s), configured or not, without calling Entra',
    async (alias) => {
      const { get, entra } = broker();
      await get({ routeKey: 'GET /token/graph' }); // a token in memory: the catch-all must not reach it either
      const response = await get({ routeKey: 'GET /token/{alias}', pathParameters: { alias } });
      expect(response.statusCode).toBe(404);
      expect(jsonBody(response)).toStrictEqual({
        error: 'unknown_scope',
        alias,
        message: `No scope is configured under the alias "${alias}". Check the alias against the token URLs of the deployment (its stack outputs).`,
      });
      expectErrorAnswer(response, entra.issued);
      expect(entra.requests).toHaveLength(1);
    },
  );

  it('never lists the configured aliases in a 404, and echoes an alias only when it looks like one', async () => {
    const { get, entra } = broker();
    for (const alias of ['<script>alert(1)</script>', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', 'GRAPH', 'x'.repeat(200)]) {
      const response = await get({ routeKey: 'GET /token/{alias}', pathParameters: { alias } });
      expect(response.statusCode).toBe(404);
      expect(jsonBody(response)).toStrictEqual({
        error: 'unknown_scope',
        message: 'No scope is configured under this alias. Check the alias against the token URLs of the deployment (its stack outputs).',
      });
      expect(response.body).not.toMatch(/graph|storage/);
    }
    expect(entra.requests).toHaveLength(0);
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'answers 404 for the alias %s (not an object property)',
    async (alias) => {
      const { get, entra } = broker();
      const response = await get({ routeKey: `GET /token/${alias}` });
      expect(response.statusCode).toBe(404);
      expect(jsonBody(response)).toMatchObject({ error: 'unknown_scope' });
      expectErrorAnswer(response, entra.issued);
    },
  );

  it('answers 502 entra_rejected with the AADSTS code, correlation and trace ids when Entra refuses', async () => {
    const { get, entra, logs } = broker();
    entra.mode = 'reject';
    const response = await get({ routeKey: 'GET /token/graph' });
    expect(response.statusCode).toBe(502);
    expect(jsonBody(response)).toMatchObject({
      error: 'entra_rejected',
      aadsts: 'AADSTS700213',
      correlation_id: CORRELATION_ID,
      trace_id: TRACE_ID,
      message: expect.stringMatching(
        /AADSTS700213.*Fix: no federated credential on app .* has the subject "aws-token-broker" \(compared exactly\)/,
      ),
    });
    expectErrorAnswer(response, entra.issued);
    expect(entra.requests).toHaveLength(1);
    // The log line carries the same ids, so the failed sign-in is found from the log alone.
    expect(logs.entries().find((entry) => entry.message === 'request failed')).toMatchObject({
      error: 'entra_rejected',
      aadsts: 'AADSTS700213',
      correlation_id: CORRELATION_ID,
      trace_id: TRACE_ID,
    });
  });

  it('answers 503 upstream_unavailable when Entra is down, after bounded retries', async () => {
    const { get, entra } = broker();
    entra.mode = 'down';
    const response = await get({ routeKey: 'GET /token/graph' });
    expect(response.statusCode).toBe(503);
    expect(jsonBody(response)).toMatchObject({
      error: 'upstream_unavailable',
      upstream: 'entra',
      message: expect.stringMatching(
        /^Entra ID is unavailable at https:\/\/login\.microsoftonline\.com\/.* \(answered HTTP 503; 3 attempt\(s\)/,
      ),
    });
    expectErrorAnswer(response, entra.issued);
    expect(entra.requests).toHaveLength(3);
  });

  it('does not cache an unusable Entra answer: the next request asks Entra again', async () => {
    const { get, entra } = broker();
    entra.mode = 'malformed';
    const failed = await get({ routeKey: 'GET /token/graph' });
    expect(failed.statusCode).toBe(503);
    expectErrorAnswer(failed, entra.issued);

    entra.mode = 'ok';
    const response = await get({ routeKey: 'GET /token/graph' });
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toMatchObject({ access_token: entra.issued[0] });
    expect(entra.requests).toHaveLength(4);
  });

  it('answers 500 internal without the original message or a stack when something unexpected throws', async () => {
    const failingSigner: KeySigner = {
      sign: async () => {
        throw new Error('ENOENT: no such file /var/task/keys/private.pem');
      },
    };
    const { get, entra, logLines } = broker({ signer: failingSigner });
    const response = await get({ routeKey: 'GET /token/graph' });

    expect(response.statusCode).toBe(500);
    expect(jsonBody(response)).toStrictEqual({
      error: 'internal',
      message: 'The broker failed unexpectedly; see its logs for the request id.',
    });
    expect(response.body).not.toMatch(/ENOENT|private\.pem|Error:/);
    expectErrorAnswer(response, entra.issued);
    // Operators find the cause in the log.
    expect(logLines.some((line) => line.includes('ENOENT'))).toBe(true);
  });

  it('answers 403 forbidden to a caller from an account outside allowedCallers, without calling Entra', async () => {
    const { get, entra } = broker({ allowedCallers: { accountIds: ['111122223333'] } });
    const response = await get({ routeKey: 'GET /token/graph', caller: { accountId: '444455556666' } });
    expect(response.statusCode).toBe(403);
    expect(jsonBody(response)).toStrictEqual({
      error: 'forbidden',
      message: "The caller's AWS account or organization is not among the broker's allowed callers.",
    });
    expectErrorAnswer(response, entra.issued);
    expect(entra.requests).toHaveLength(0);
  });

  it('answers 200 to a caller from an allowed account', async () => {
    const { get } = broker({ allowedCallers: { accountIds: ['111122223333'] } });
    const response = await get({ routeKey: 'GET /token/graph', caller: { accountId: '111122223333' } });
    expect(response.statusCode).toBe(200);
  });

  it('never writes the access token or the assertion to the log', async () => {
    const { get, entra, logLines } = broker();
    await get({ routeKey: 'GET /token/graph' });
    entra.mode = 'reject';
    await get({ routeKey: 'GET /token/storage' });
    expect(logLines.length).toBeGreaterThanOrEqual(2);
    const log = logLines.join('\n');
    expect(log).not.toContain('eyJ');
    expect(log).toMatch(/"message":"token served"/);
  });
});

describe('GET /token/{alias}: the direct-invocation tripwire', () => {
  /** A hand-made event, as someone with lambda:InvokeFunction would pass it, with a verified-looking caller. */
  const forged = (requestContext: Record<string, unknown> | undefined) => {
    const event = httpEvent({ routeKey: 'GET /token/graph' }) as unknown as Record<string, unknown>;
    return { ...event, requestContext: requestContext && { ...(event.requestContext as object), ...requestContext } } as never;
  };

  it.each([
    ['another API id', { apiId: 'x9y8z7' }],
    ['another stage', { stage: 'prod' }],
    ['no API id', { apiId: undefined }],
  ])('refuses an event with %s: 403, a warning naming what it carried, a count, and no token', async (_, override) => {
    const { entra, logs, get, handler } = broker();
    await get({ routeKey: 'GET /token/graph' }); // a token in memory: the refusal must come before it
    const response = await handler(forged(override), lambdaContext('req-forged'));

    expect(response.statusCode).toBe(403);
    expect(jsonBody(response)).toStrictEqual({
      error: 'forbidden',
      message: "This invocation did not come through the broker's own API Gateway stage; the token function answers nothing else.",
    });
    expectErrorAnswer(response, entra.issued);
    const warning = logs.entries().find((entry) => entry.level === 'WARN');
    expect(warning).toMatchObject({
      message: "refused an invocation that did not come through this deployment's API (a direct lambda:InvokeFunction?)",
      expectedApiId: 'abc123',
      expectedStage: '$default',
      routeKey: 'GET /token/graph',
    });
    expect(logs.metricEntries().at(-1)).toMatchObject({ ForeignInvocationsRefused: 1 });
    expect(entra.requests).toHaveLength(1);
  });

  it('refuses an event with no requestContext at all, without failing', async () => {
    const { logs, handler } = broker();
    const response = await handler(forged(undefined), lambdaContext());
    expect(response.statusCode).toBe(403);
    expect(logs.entries().find((entry) => entry.level === 'WARN')).toMatchObject({ apiId: 'undefined', stage: 'undefined' });
  });

  it("serves events from the expected API and stage (a forgery copying both, which are public, is the SCP's job)", async () => {
    const { get } = broker();
    const response = await get({ routeKey: 'GET /token/graph' });
    expect(response.statusCode).toBe(200);
  });
});

describe('GET /token/{alias}: audit trail, request ids and metrics', () => {
  const auditLines = (entries: Record<string, unknown>[]) => entries.filter((entry) => entry.message === 'token served');

  it('writes an audit line for every token served, memory hits included, with who, which request and which token', async () => {
    vi.stubEnv('_X_AMZN_TRACE_ID', 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1');
    const { get, entra, time, logs } = broker();
    await get({ routeKey: 'GET /token/graph' }, 'req-exchange');
    time.advance(1_234);
    await get({ routeKey: 'GET /token/graph' }, 'req-hit');
    await get({ routeKey: 'GET /token/{alias}', pathParameters: { alias: 'keyvault' } }, 'req-404');
    await get({ routeKey: 'GET /token/graph', caller: { accountId: '444455556666' } }, 'req-other-caller');

    const audit = auditLines(logs.entries());
    expect(audit).toHaveLength(3);
    const sentCorrelationId = entra.headers[0]?.get('client-request-id');
    expect(sentCorrelationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(entra.headers[0]?.get('return-client-request-id')).toBe('true');
    const common = {
      level: 'INFO',
      message: 'token served',
      service: 'aws-azure-token-broker',
      route: 'token',
      alias: 'graph',
      callerArn: CALLER_ARN,
      callerAccount: CALLER_ACCOUNT,
      apiRequestId: API_REQUEST_ID,
      uti: entra.utis[0],
      entraCorrelationId: sentCorrelationId,
      expiresOn: T0_S + 3599,
      function_name: 'broker-token',
      cold_start: false,
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
    };
    expect(audit[0]).toMatchObject({ ...common, cache: 'exchange', function_request_id: 'req-exchange', durationMs: 0 });
    expect(audit[0]?.timestamp).toBe(new Date(T0).toISOString());
    expect(audit[1]).toMatchObject({
      ...common,
      cache: 'l1',
      function_request_id: 'req-hit',
      timestamp: new Date(T0 + 1_234).toISOString(),
    });
    expect(audit[2]).toMatchObject({
      ...common,
      callerAccount: '444455556666',
      callerArn: 'arn:aws:sts::444455556666:assumed-role/app-role/fn',
      cache: 'l1',
      function_request_id: 'req-other-caller',
    });
    expect(audit[1]).not.toHaveProperty('durationMs');
    for (const line of logs.lines) expect(line).not.toContain(entra.issued[0]);
  });

  it('writes the audit line at every log level: the audit trail is not a diagnostic an operator turns down', async () => {
    const { get, logs } = broker({ logLevel: 'ERROR' });
    await get({ routeKey: 'GET /token/graph' }, 'req-exchange');
    await get({ routeKey: 'GET /token/graph' }, 'req-hit');
    expect(logs.entries().map((entry) => [entry.message, entry.cache, entry.function_request_id])).toStrictEqual([
      ['token served', 'exchange', 'req-exchange'],
      ['token served', 'l1', 'req-hit'],
    ]);
  });

  it('keeps the identifiers with the cached token: an L2 hit in another container names the same Entra sign-in', async () => {
    const first = broker();
    await first.get({ routeKey: 'GET /token/graph' });
    const second = broker({ store: first.store });
    await second.get({ routeKey: 'GET /token/graph' });

    expect(second.entra.requests).toHaveLength(0);
    // The second capture, started last, receives the second broker's lines.
    const [exchanged] = auditLines(first.logs.entries());
    const [fromStore] = auditLines(second.logs.entries());
    expect(fromStore).toMatchObject({
      cache: 'l2',
      uti: first.entra.utis[0],
      entraCorrelationId: first.entra.headers[0]?.get('client-request-id'),
    });
    expect(exchanged).toMatchObject({ cache: 'exchange', uti: fromStore?.uti, entraCorrelationId: fromStore?.entraCorrelationId });
  });

  it('puts the Lambda request id on every line about a request, error lines included', async () => {
    const { get, entra, logs } = broker();
    entra.mode = 'down';
    await get({ routeKey: 'GET /token/graph' }, 'req-down');
    entra.mode = 'ok';
    await get({ routeKey: 'GET /token/graph' }, 'req-ok');
    const entries = logs.entries();
    expect(entries.map((entry) => [entry.function_request_id, entry.message])).toStrictEqual([
      ['req-down', 'request failed'],
      ['req-ok', 'token served'],
    ]);
    expect(entries.every((entry) => entry.cold_start === false)).toBe(true);
  });

  it('publishes the metric of every failed request (the alarms read them): one EMF line per failed invocation, Deployment dimension', async () => {
    const { get, entra, logs } = broker();
    entra.mode = 'reject';
    expect((await get({ routeKey: 'GET /token/graph' })).statusCode).toBe(502);
    entra.mode = 'down';
    expect((await get({ routeKey: 'GET /token/storage' })).statusCode).toBe(503);

    const [rejected, unavailable, ...rest] = logs.metricEntries();
    expect(rest).toStrictEqual([]);
    expect(rejected).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Namespace: 'AwsAzureTokenBroker', Dimensions: [['Deployment']], Metrics: [{ Name: 'EntraRejections', Unit: 'Count' }] },
        ],
      },
      Deployment: 'TestStack/Broker',
      EntraRejections: 1,
    });
    expect(unavailable).toMatchObject({ Deployment: 'TestStack/Broker', UpstreamUnavailable: 1 });
    expect(unavailable).not.toHaveProperty('EntraRejections');
  });

  it('publishes nothing when nothing was counted: a memory hit writes its audit line, no metric line and no warning', async () => {
    const { get, logs } = broker();
    await get({ routeKey: 'GET /token/graph' });
    expect(logs.metricEntries()).toMatchObject([{ EntraExchanges: 1 }]);
    const linesBefore = logs.lines.length;
    for (let i = 0; i < 3; i++) await get({ routeKey: 'GET /token/graph' });
    expect(logs.metricLines()).toHaveLength(1);
    expect(logs.lines.slice(linesBefore).map((line) => (JSON.parse(line) as { message: string }).message)).toStrictEqual([
      'token served',
      'token served',
      'token served',
    ]);
  });
});

describe('GET /token/{alias} through the private REST API (payload 1.0 events)', () => {
  const privateBroker = (options: { allowedCallers?: AllowedCallers } = {}) => broker({ ...options, api: TEST_REST_API });

  it('answers 200 with the same body and headers as through the HTTP API', async () => {
    const { getRest, entra } = privateBroker();
    const response = await getRest({ resource: '/token/graph' });
    expect(response.statusCode).toBe(200);
    expect(response.headers).toStrictEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(jsonBody(response)).toStrictEqual({
      access_token: entra.issued[0],
      token_type: 'Bearer',
      expires_in: 3599,
      expires_on: T0_S + 3599,
      scope: GRAPH,
    });
    const rest = await getRest({ resource: '/token/storage' });
    expect(jsonBody(rest)).toMatchObject({ access_token: entra.issued[1], scope: STORAGE });
  });

  it('takes the alias from the matched resource only: the catch-all answers 404 whatever its path parameter or path', async () => {
    const { getRest, entra } = privateBroker();
    await getRest({ resource: '/token/graph' }); // a token in memory: the catch-all must not reach it
    const byParameter = await getRest({ resource: '/token/{alias}', pathParameters: { alias: 'graph' } });
    expect(byParameter.statusCode).toBe(404);
    expect(jsonBody(byParameter)).toStrictEqual({
      error: 'unknown_scope',
      message:
        'No scope is configured under the alias "graph". Check the alias against the token URLs of the deployment (its stack outputs).',
      alias: 'graph',
    });
    const byPath = await getRest({ resource: '/token/{alias}', path: '/token/graph', pathParameters: { alias: 'keyvault' } });
    expect(jsonBody(byPath)).toMatchObject({ error: 'unknown_scope', alias: 'keyvault' });
    expectErrorAnswer(byPath, entra.issued);
    expect(entra.requests).toHaveLength(1);
  });

  it('answers 404 to a method other than GET on a token resource', async () => {
    const { getRest, entra } = privateBroker();
    const response = await getRest({ resource: '/token/graph', method: 'POST' });
    expect(response.statusCode).toBe(404);
    expect(jsonBody(response)).toMatchObject({ error: 'unknown_scope' });
    expect(entra.requests).toHaveLength(0);
  });

  it('applies allowedCallers to the caller in requestContext.identity (account, organization)', async () => {
    const { getRest, entra } = privateBroker({ allowedCallers: { accountIds: ['111122223333'], principalOrgIds: ['o-abc123'] } });
    const outsider = await getRest({ resource: '/token/graph', caller: { accountId: '444455556666' } });
    expect(outsider.statusCode).toBe(403);
    expect(jsonBody(outsider)).toMatchObject({ error: 'forbidden' });
    const otherOrg = await getRest({ resource: '/token/graph', caller: { accountId: '111122223333', principalOrgId: 'o-zzz999' } });
    expect(otherOrg.statusCode).toBe(403);
    expect(entra.requests).toHaveLength(0);
    const member = await getRest({ resource: '/token/graph', caller: { accountId: '111122223333', principalOrgId: 'o-abc123' } });
    expect(member.statusCode).toBe(200);
  });

  it("answers 502 entra_rejected with Entra's codes, as through the HTTP API", async () => {
    const { getRest, entra } = privateBroker();
    entra.mode = 'reject';
    const response = await getRest({ resource: '/token/graph' });
    expect(response.statusCode).toBe(502);
    expect(jsonBody(response)).toMatchObject({ error: 'entra_rejected', aadsts: 'AADSTS700213', correlation_id: CORRELATION_ID });
    expectErrorAnswer(response, entra.issued);
  });

  it("writes the audit line with the caller from requestContext.identity and API Gateway's request id", async () => {
    const { getRest, logs } = privateBroker();
    const callerArn = 'arn:aws:sts::111122223333:assumed-role/orders-api/i-0abc';
    await getRest({ resource: '/token/graph', caller: { accountId: '111122223333', userArn: callerArn }, requestId: 'rest-req-1' });
    expect(logs.entries().find((entry) => entry.message === 'token served')).toMatchObject({
      alias: 'graph',
      callerArn,
      callerAccount: '111122223333',
      apiRequestId: 'rest-req-1',
    });
  });

  it.each([
    ['another REST API', { apiId: 'x9y8z7', stage: TEST_REST_API.stage }],
    ['another stage of the REST API', { apiId: TEST_REST_API.apiId, stage: 'test' }],
  ])('trips on a REST event from %s: 403, a warning and a count', async (_, api) => {
    const { getRest, logs, entra } = privateBroker();
    const response = await getRest({ resource: '/token/graph', api });
    expect(response.statusCode).toBe(403);
    expect(jsonBody(response)).toMatchObject({ error: 'forbidden' });
    expect(logs.entries().find((entry) => entry.level === 'WARN')).toMatchObject({
      apiId: api.apiId,
      stage: api.stage,
      routeKey: 'GET /token/graph',
      expectedApiId: TEST_REST_API.apiId,
      expectedStage: TEST_REST_API.stage,
    });
    expect(logs.metricEntries().at(-1)).toMatchObject({ ForeignInvocationsRefused: 1 });
    expect(entra.requests).toHaveLength(0);
  });

  it('trips on an HTTP API event when it serves the REST API: the public API cannot reach it', async () => {
    const { get } = privateBroker();
    const response = await get({ routeKey: 'GET /token/graph' });
    expect(response.statusCode).toBe(403);
  });
});

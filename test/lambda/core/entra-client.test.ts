import { describe, expect, it } from 'vitest';
import {
  ENTRA_RETRY_POLICY,
  MAX_ANSWER_BYTES,
  TRANSIENT_REFUSAL_MIN_DELAY_MS,
  requestEntraToken,
  type EntraTokenRequest,
} from '../../../lambda/core/entra-client';
import type { PresentedIdentity } from '../../../lambda/core/entra-error';
import type { Fetch } from '../../../lambda/core/ports';
import { sleep as realSleep, type RetryPolicy } from '../../../lambda/core/retry';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0, 789);
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const TOKEN_URL = `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`;
/** Looks like a real assertion; it must reach Entra's form body and nothing else. */
const ASSERTION = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImFiYyJ9.eyJpc3MiOiJodHRwczovL2Jyb2tlciJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
const ACCESS_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20ifQ.ZW50cmEtc2lnbmF0dXJl';
/** The client-request-id the fake GUID source hands out. */
const REQUEST_ID = '5b0a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';

const presented: PresentedIdentity = {
  alias: 'graph',
  issuer: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  subject: 'aws-token-broker',
  audience: 'api://AzureADTokenExchange',
  tenantId: TENANT,
  clientId: '11111111-2222-4333-8444-555555555555',
  scope: 'https://graph.microsoft.com/.default',
};
const request: EntraTokenRequest = { authorityHost: 'https://login.microsoftonline.com', presented, clientAssertion: ASSERTION };

const OK_BODY = JSON.stringify({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: ACCESS_TOKEN });
const AADSTS_BODY = JSON.stringify({
  error: 'invalid_request',
  error_description:
    "AADSTS700213: No matching federated identity record found for presented assertion subject 'aws-token-broker'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.\r\nTrace ID: 0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00\r\nCorrelation ID: f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910\r\nTimestamp: 2025-06-01 12:00:03Z",
  error_codes: [700213],
  timestamp: '2025-06-01 12:00:03Z',
  trace_id: '0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00',
  correlation_id: 'f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910',
  error_uri: 'https://login.microsoftonline.com/error?code=700213',
});

type Answer = { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> } | { readonly reject: Error };

/**
 * A fake Entra and a fake clock: `fetch` records each request and answers the next scripted answer (the
 * last one repeats), taking `latencyMs` of fake time; `sleep` advances the fake clock by what it was asked.
 */
function fakeEntra(answers: readonly Answer[], options: { latencyMs?: number } = {}) {
  const time = { now: T0 };
  const requests: { url: string; init: RequestInit }[] = [];
  const slept: number[] = [];
  const fetch: Fetch = async (url, init = {}) => {
    requests.push({ url, init });
    const answer = answers[Math.min(requests.length, answers.length) - 1];
    if (!answer) throw new Error('no scripted answer');
    time.now += options.latencyMs ?? 0;
    if ('reject' in answer) throw answer.reject;
    return new Response(answer.body ?? '', { status: answer.status, headers: answer.headers });
  };
  const deps = {
    fetch,
    clock: () => time.now,
    sleep: async (ms: number) => {
      slept.push(ms);
      time.now += ms;
    },
    random: () => 0.5,
    newRequestId: () => REQUEST_ID,
  };
  return { deps, requests, slept, time };
}

/** Everything a caller could see of an error. */
const visible = (error: unknown) => JSON.stringify({ message: (error as Error).message, json: (error as { toJSON(): unknown }).toJSON() });

describe('requestEntraToken: redirects', () => {
  it.each([301, 302, 307, 308])(
    'never follows a %i: one attempt, a 503 saying to check authorityHost, the assertion not in it',
    async (status) => {
      const entra = fakeEntra([{ status, headers: { location: 'https://attacker.example/token' } }]);
      const failure = await requestEntraToken(request, entra.deps).catch((error: unknown) => error);
      expect(failure).toMatchObject({
        statusCode: 503,
        code: 'upstream_unavailable',
        upstream: 'entra',
        message: `The authority at ${TOKEN_URL} answered a redirect (HTTP ${String(status)}) instead of a token; the broker does not follow it, as that would send the client assertion to another host. Check authorityHost.`,
      });
      expect(entra.requests).toHaveLength(1);
      expect(entra.requests[0]?.init.redirect).toBe('manual');
      expect(visible(failure)).not.toContain(ASSERTION);
      expect(visible(failure)).not.toContain('attacker.example');
    },
  );
});

describe('requestEntraToken', () => {
  it('POSTs the client credentials form with the assertion to the tenant token endpoint', async () => {
    const { deps, requests } = fakeEntra([{ status: 200, body: OK_BODY }]);
    await requestEntraToken(request, deps);

    expect(requests).toHaveLength(1);
    const [sent] = requests;
    expect(sent?.url).toBe(TOKEN_URL);
    expect(sent?.init.method).toBe('POST');
    expect(new Headers(sent?.init.headers).get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(typeof sent?.init.body).toBe('string');
    expect(Object.fromEntries(new URLSearchParams(String(sent?.init.body)))).toStrictEqual({
      grant_type: 'client_credentials',
      client_id: presented.clientId,
      scope: 'https://graph.microsoft.com/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: ASSERTION,
    });
  });

  it('uses the sovereign cloud authority host it is given', async () => {
    const { deps, requests } = fakeEntra([{ status: 200, body: OK_BODY }]);
    await requestEntraToken({ ...request, authorityHost: 'https://login.microsoftonline.us' }, deps);
    expect(requests[0]?.url).toBe(`https://login.microsoftonline.us/${TENANT}/oauth2/v2.0/token`);
  });

  it('answers the token with issuedOn = now, expiresOn = now + expires_in (unix seconds) and the requested scope', async () => {
    const { deps } = fakeEntra([{ status: 200, body: OK_BODY }]);
    expect(await requestEntraToken(request, deps)).toStrictEqual({
      accessToken: ACCESS_TOKEN,
      issuedOn: Math.floor(T0 / 1000),
      expiresOn: Math.floor(T0 / 1000) + 3599,
      scope: presented.scope,
      correlationId: REQUEST_ID,
    });
  });

  it("caps a lifetime beyond Entra's 28-hour maximum, so the token is refreshed in time and never served as eternal", async () => {
    const { deps } = fakeEntra([
      { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: 10 * 86_400, access_token: ACCESS_TOKEN }) },
    ]);
    const token = await requestEntraToken(request, deps);
    expect(token.expiresOn - Math.floor(T0 / 1000)).toBe(28 * 3600);
  });

  it("sends a fresh GUID as client-request-id on every attempt of one exchange, and keeps it with the token with Entra's uti", async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com', uti: 'm4xTQZ2KvUuhC3hMnQ0AAA' })}.c2ln`;
    const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    const { deps, requests } = fakeEntra([
      { status: 503 },
      { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: token }) },
    ]);
    const first = await requestEntraToken(request, { ...deps, newRequestId: () => ids.shift() ?? 'exhausted' });

    expect(requests.map(({ init }) => new Headers(init.headers).get('client-request-id'))).toStrictEqual([
      '11111111-1111-4111-8111-111111111111',
      '11111111-1111-4111-8111-111111111111',
    ]);
    expect(requests.map(({ init }) => new Headers(init.headers).get('return-client-request-id'))).toStrictEqual(['true', 'true']);
    expect(first).toMatchObject({ uti: 'm4xTQZ2KvUuhC3hMnQ0AAA', correlationId: '11111111-1111-4111-8111-111111111111' });

    const { deps: again } = fakeEntra([{ status: 200, body: OK_BODY }]);
    const second = await requestEntraToken(request, { ...again, newRequestId: () => ids.shift() ?? 'exhausted' });
    expect(second.correlationId).toBe('22222222-2222-4222-8222-222222222222');
    expect(second).not.toHaveProperty('uti'); // this token's payload has none
  });

  it('uses crypto.randomUUID for client-request-id by default', async () => {
    const { deps, requests } = fakeEntra([{ status: 200, body: OK_BODY }]);
    const { newRequestId: _, ...defaults } = deps;
    const token = await requestEntraToken(request, defaults);
    const sent = new Headers(requests[0]?.init.headers).get('client-request-id');
    expect(sent).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(token.correlationId).toBe(sent);
  });

  it('accepts expires_in sent as a string', async () => {
    const { deps } = fakeEntra([
      { status: 200, body: JSON.stringify({ token_type: 'Bearer', expires_in: '3600', access_token: ACCESS_TOKEN }) },
    ]);
    expect(await requestEntraToken(request, deps)).toMatchObject({ expiresOn: Math.floor(T0 / 1000) + 3600 });
  });

  it.each([400, 401])('maps HTTP %i with AADSTS to entra_rejected after exactly one call, without the assertion', async (status) => {
    const { deps, requests, slept } = fakeEntra([{ status, body: AADSTS_BODY }]);
    const failure = requestEntraToken(request, deps);
    await expect(failure).rejects.toMatchObject({
      statusCode: 502,
      code: 'entra_rejected',
      message: expect.stringMatching(
        /AADSTS700213: No matching federated identity record .* Fix: no federated credential on app .* has the subject "aws-token-broker" \(compared exactly\); create one: az ad app federated-credential create /,
      ),
      rejection: { aadsts: 'AADSTS700213', correlationId: 'f7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2910', httpStatus: status },
    });
    expect(requests).toHaveLength(1);
    expect(slept).toStrictEqual([]);
    expect(visible(await failure.catch((e: unknown) => e))).not.toContain(ASSERTION.split('.')[0]);
  });

  it('retries 500s and succeeds on the third call', async () => {
    const { deps, requests, slept } = fakeEntra([{ status: 500 }, { status: 500 }, { status: 200, body: OK_BODY }]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(3);
    expect(slept).toStrictEqual([100, 200]); // full jitter at 0.5 of 200 and 400 ms
  });

  it('waits as long as a 429 Retry-After asks, then succeeds', async () => {
    const { deps, requests, slept } = fakeEntra([
      { status: 429, headers: { 'retry-after': '2' } },
      { status: 200, body: OK_BODY },
    ]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(2);
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThanOrEqual(2000);
  });

  it('answers upstream_unavailable at once, with retry_after_seconds, when Retry-After exceeds the budget', async () => {
    const { deps, requests, slept, time } = fakeEntra([{ status: 429, headers: { 'retry-after': '30' } }]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      upstream: 'entra',
      message: expect.stringMatching(/answered HTTP 429; 1 attempt\(s\)/),
      details: { upstream: 'entra', retry_after_seconds: 30 },
    });
    expect(requests).toHaveLength(1);
    expect(slept).toStrictEqual([]);
    expect(time.now).toBe(T0);
  });

  it('answers upstream_unavailable naming the URL and the attempts when Entra keeps answering 503', async () => {
    const { deps, requests } = fakeEntra([{ status: 503, body: '<html>Service Unavailable</html>' }]);
    const failure = requestEntraToken(request, deps);
    await expect(failure).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      upstream: 'entra',
      message: `Entra ID is unavailable at ${TOKEN_URL} (answered HTTP 503; 3 attempt(s) in 300 ms). Retry later.`,
    });
    expect(requests).toHaveLength(3);
    const seen = visible(await failure.catch((e: unknown) => e));
    expect(seen).not.toContain(ASSERTION.split('.')[0]);
    expect(seen).not.toContain('Service Unavailable');
  });

  it('honours a plain-text 429 with Retry-After, as Entra throttles', async () => {
    const { deps, requests, slept } = fakeEntra([
      { status: 429, body: 'Too Many Requests', headers: { 'content-type': 'text/plain', 'retry-after': '1' } },
      { status: 200, body: OK_BODY },
    ]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(2);
    expect(slept).toStrictEqual([1000]);
  });

  it('retries 503 temporarily_unavailable (Entra JSON) and succeeds', async () => {
    const unavailable = JSON.stringify({
      error: 'temporarily_unavailable',
      error_description: 'AADSTS90006: The service is temporarily unavailable.',
      error_codes: [90006],
    });
    const { deps, requests } = fakeEntra([
      { status: 503, body: unavailable },
      { status: 200, body: OK_BODY },
    ]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(2);
  });

  it('answers a 200 whose body exceeds 1 MiB as unusable, without reading past the limit', async () => {
    const { deps, requests } = fakeEntra([{ status: 200, body: `{"access_token":"${'a'.repeat(MAX_ANSWER_BYTES + 10)}"` }]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      code: 'upstream_unavailable',
      message: expect.stringMatching(/answered 200 without a usable access token/),
    });
    expect(requests).toHaveLength(3);
  });

  it('retries a network failure and then answers upstream_unavailable', async () => {
    const { deps, requests } = fakeEntra([{ reject: new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND') }) }]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      upstream: 'entra',
      message: expect.stringMatching(/^Entra ID is unavailable at .* \(connection failed; 3 attempt\(s\)/),
    });
    expect(requests).toHaveLength(3);
  });

  it('recovers when a network failure is followed by an answer', async () => {
    const { deps, requests } = fakeEntra([{ reject: new TypeError('fetch failed') }, { status: 200, body: OK_BODY }]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(2);
  });

  it.each([
    ['malformed JSON', '{"access_token": "eyJ'],
    ['no access_token', JSON.stringify({ token_type: 'Bearer', expires_in: 3599 })],
    ['a non-bearer token', JSON.stringify({ token_type: 'pop', expires_in: 3599, access_token: ACCESS_TOKEN })],
    ['a zero lifetime', JSON.stringify({ token_type: 'Bearer', expires_in: 0, access_token: ACCESS_TOKEN })],
  ])('retries a 200 with %s and then answers upstream_unavailable (no token to cache)', async (_what, body) => {
    const { deps, requests } = fakeEntra([{ status: 200, body }]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      message: expect.stringMatching(/answered 200 without a usable access token; 3 attempt\(s\)/),
    });
    expect(requests).toHaveLength(3);
  });

  it('never spends more than the budget, even with slow answers and many allowed attempts', async () => {
    const { deps, requests, time } = fakeEntra([{ status: 503 }], { latencyMs: 1000 });
    const policy: RetryPolicy = { ...ENTRA_RETRY_POLICY, maxAttempts: 20 };
    await expect(requestEntraToken(request, { ...deps, random: () => 0.999, policy })).rejects.toMatchObject({
      code: 'upstream_unavailable',
    });
    expect(time.now - T0).toBeLessThanOrEqual(ENTRA_RETRY_POLICY.budgetMs);
    expect(requests.length).toBeGreaterThan(3); // the budget, not the attempt count, ended it
  });

  it('never spends more than the budget while honouring Retry-After', async () => {
    const { deps, requests, slept, time } = fakeEntra([{ status: 503, headers: { 'retry-after': '5' } }], { latencyMs: 1000 });
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      code: 'upstream_unavailable',
      details: { retry_after_seconds: 5 },
    });
    expect(slept).toStrictEqual([5000]);
    expect(requests).toHaveLength(2);
    expect(time.now - T0).toBeLessThanOrEqual(ENTRA_RETRY_POLICY.budgetMs);
  });

  // The budget is checked on a manual clock above; this one runs on real timers because the attempt timeout is an
  // AbortSignal.timeout, which fake timers do not drive.
  it('abandons each attempt that never answers after the attempt timeout, then gives up (real timers)', async () => {
    const signals: AbortSignal[] = [];
    const hangingFetch: Fetch = (_url, init) =>
      new Promise((_resolve, reject) => {
        const signal = init?.signal;
        if (!signal) return; // would hang forever: the test then times out
        signals.push(signal);
        signal.addEventListener('abort', () => reject(signal.reason));
      });
    const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20, budgetMs: 300, attemptTimeoutMs: 50 };
    const started = Date.now();

    await expect(requestEntraToken(request, { fetch: hangingFetch, clock: Date.now, sleep: realSleep, policy })).rejects.toMatchObject({
      statusCode: 503,
      code: 'upstream_unavailable',
      message: expect.stringMatching(/\(no answer within 50 ms; 3 attempt\(s\) in \d+ ms\)/),
    });
    // Three 50 ms attempts, not one default 3 s one: a bound far from the expected ~150 ms, so load cannot break it.
    expect(Date.now() - started).toBeLessThan(ENTRA_RETRY_POLICY.attemptTimeoutMs);
    expect(signals).toHaveLength(3);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });
});

/** Entra's answer when it could not read the issuer's metadata (azure-workload-identity#642, #605; Azure/AKS#4029). */
function metadataFailure(code: number): Answer {
  return {
    status: 400,
    body: JSON.stringify({
      error: 'invalid_request',
      error_description: `AADSTS${code}: Request to External OIDC endpoint failed.\r\nTrace ID: 0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00\r\nCorrelation ID: ${REQUEST_ID}\r\nTimestamp: 2025-06-01 12:00:03Z`,
      error_codes: [code],
      trace_id: '0c5d3c7e-3b8a-4f6e-9a4a-6f1d2b3c4d00',
      correlation_id: REQUEST_ID,
    }),
  };
}

describe('requestEntraToken: transient refusals (Entra could not read the issuer metadata)', () => {
  it.each([50166, 501661, 90061])('retries AADSTS%i once, at least 500 ms later, then succeeds', async (code) => {
    const { deps, requests, slept } = fakeEntra([metadataFailure(code), { status: 200, body: OK_BODY }]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN });
    expect(requests).toHaveLength(2);
    expect(slept).toStrictEqual([TRANSIENT_REFUSAL_MIN_DELAY_MS]);
  });

  it('retries twice, then succeeds on the third attempt with the same client-request-id', async () => {
    const { deps, requests } = fakeEntra([metadataFailure(50166), metadataFailure(90061), { status: 200, body: OK_BODY }]);
    await expect(requestEntraToken(request, deps)).resolves.toMatchObject({ accessToken: ACCESS_TOKEN, correlationId: REQUEST_ID });
    expect(requests).toHaveLength(3);
    expect(new Set(requests.map(({ init }) => new Headers(init.headers).get('client-request-id')))).toStrictEqual(new Set([REQUEST_ID]));
  });

  it('answers 502 entra_rejected with the code, the attempts and the fix when the refusal persists through every attempt', async () => {
    const { deps, requests, time } = fakeEntra([metadataFailure(50166)], { latencyMs: 100 });
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({
      statusCode: 502,
      code: 'entra_rejected',
      message: expect.stringMatching(
        /^Entra ID rejected the token request for alias "graph": AADSTS50166: Request to External OIDC endpoint failed\. \(the same answer to 3 attempts over \d+ ms\) Fix: Entra could not read https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\/\.well-known\/openid-configuration .* npx --no-install broker-doctor --issuer https:\/\/abc123\.execute-api\.eu-west-1\.amazonaws\.com\.$/,
      ),
      rejection: { aadsts: 'AADSTS50166', correlationId: REQUEST_ID, httpStatus: 400 },
    });
    expect(requests).toHaveLength(3);
    expect(time.now - T0).toBeLessThanOrEqual(ENTRA_RETRY_POLICY.budgetMs);
  });

  it('stops retrying at the request deadline, before the attempts are spent', async () => {
    const { deps, requests, time } = fakeEntra([metadataFailure(90061)], { latencyMs: 100 });
    const policy: RetryPolicy = { ...ENTRA_RETRY_POLICY, maxAttempts: 10 };
    // Attempt 1 ends at 100 ms, waits 500; attempt 2 ends at 700 ms: another wait and a useful attempt no longer fit.
    await expect(requestEntraToken(request, { ...deps, policy, deadline: T0 + 1400 })).rejects.toMatchObject({
      code: 'entra_rejected',
      message: expect.stringMatching(/\(the same answer to 2 attempts over 700 ms\)/),
    });
    expect(requests).toHaveLength(2);
    expect(time.now).toBeLessThanOrEqual(T0 + 1400);
  });

  it('says so when the deadline leaves no time for a retry at all', async () => {
    const { deps, requests } = fakeEntra([metadataFailure(50166)], { latencyMs: 100 });
    await expect(requestEntraToken(request, { ...deps, deadline: T0 + 600 })).rejects.toMatchObject({
      code: 'entra_rejected',
      message: expect.stringContaining('(no time was left before the request deadline to try again)'),
    });
    expect(requests).toHaveLength(1);
  });

  it('does not retry a refusal that repeating cannot fix (AADSTS700213)', async () => {
    const { deps, requests } = fakeEntra([
      { status: 401, body: AADSTS_BODY },
      { status: 200, body: OK_BODY },
    ]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({ code: 'entra_rejected' });
    expect(requests).toHaveLength(1);
  });

  it('answers 503 when Entra ends unavailable after a transient refusal: the last answer decides', async () => {
    const { deps, requests } = fakeEntra([metadataFailure(50166), { status: 503 }]);
    await expect(requestEntraToken(request, deps)).rejects.toMatchObject({ statusCode: 503, code: 'upstream_unavailable' });
    expect(requests).toHaveLength(3);
  });
});

/** fetchBrokerToken end to end: real HTTP to a local broker-shaped server that checks SigV4 with the local verifier. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchBrokerTokenOptions } from '../../client/broker-client';
import { fetchBrokerToken } from '../../client/broker-client';
import { stsCallerIdentity } from '../../client/caller-identity';
import { BrokerClientError } from '../../client/errors';
import type { FakeBroker } from './fake-broker';
import { ACCESS_KEY_ID, CALLER_ARN, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, closedPort, startFakeBroker } from './fake-broker';

const CREDENTIALS = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };

let broker: FakeBroker;
let prefixed: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
  prefixed = await startFakeBroker({ basePath: '/v1' });
});
afterAll(async () => {
  await broker.close();
  await prefixed.close();
});

function get(alias: string, overrides: Partial<FetchBrokerTokenOptions> = {}) {
  return fetchBrokerToken({ url: broker.url, alias, region: REGION, credentials: CREDENTIALS, identify: false, env: {}, ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<BrokerClientError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a BrokerClientError');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokerClientError);
  const clientError = error as BrokerClientError;
  // Whatever failed, the message never carries a token or a secret.
  expect(clientError.message).not.toContain(TOKEN_PREFIX);
  expect(clientError.message).not.toContain(SECRET_ACCESS_KEY);
  expect(clientError.message).not.toMatch(/AWS4-HMAC-SHA256|Signature=/);
  return clientError;
}

describe('fetchBrokerToken', () => {
  it('signs the request and parses the 200 body', async () => {
    const before = broker.tokenRequests('graph');
    const startedS = Math.floor(Date.now() / 1000);
    const token = await get('graph');
    const endedS = Math.floor(Date.now() / 1000);
    expect(token).toEqual({
      accessToken: `${TOKEN_PREFIX}-graph-${before + 1}`,
      tokenType: 'Bearer',
      expiresIn: 3600,
      expiresOn: expect.any(Number),
      scope: 'https://graph.example/.default',
    });
    // The broker answered expires_on = its now + 3600 s, some time during the call.
    expect(token.expiresOn).toBeGreaterThanOrEqual(startedS + 3600);
    expect(token.expiresOn).toBeLessThanOrEqual(endedS + 3600);
    const last = broker.requests.at(-1);
    expect(last?.verdict).toBe('ok');
    expect(last?.headers.accept).toBe('application/json');
  });

  it('works with a session token and under a base path (trailing slash included)', async () => {
    const token = await fetchBrokerToken({
      url: `${prefixed.url}/`,
      alias: 'graph',
      region: REGION,
      credentials: async () => ({ ...CREDENTIALS, sessionToken: 'IQoJb3JpZ2luX2VjEFAKE' }),
      identify: false,
    });
    expect(token.accessToken).toBe(`${TOKEN_PREFIX}-graph-1`);
    expect(prefixed.requests.at(-1)).toMatchObject({ path: '/v1/token/graph', verdict: 'ok' });
    expect(prefixed.requests.at(-1)?.headers['x-amz-security-token']).toBe('IQoJb3JpZ2luX2VjEFAKE');
  });

  it('takes the region from AWS_REGION when the URL does not tell', async () => {
    const token = await fetchBrokerToken({
      url: broker.url,
      alias: 'graph',
      credentials: CREDENTIALS,
      identify: false,
      env: { AWS_REGION: REGION },
    });
    expect(token.tokenType).toBe('Bearer');
  });

  it('maps a wrong secret to forbidden, naming the route and, when STS tells, the principal', async () => {
    const wrong = { ...CREDENTIALS, secretAccessKey: 'wrong-secret' };
    const generic = await failure(get('graph', { credentials: wrong }));
    expect(generic.code).toBe('forbidden');
    expect(generic.status).toBe(403);
    expect(generic.message).toBe(
      `Forbidden: AWS IAM refused GET ${broker.url}/token/graph (alias "graph"). The calling AWS principal needs execute-api:Invoke on the route GET /token/graph of the broker API behind ${new URL(broker.url).host} ` +
        `(in the CDK app: broker.grantToken(grantee, "graph")); also check that the request is signed for region ${REGION} with valid, unexpired credentials and that the clock is right.`,
    );

    // Valid credentials but no grant: IAM answers 403 to the token request (stubbed here, the fake has no IAM
    // policies), then the real STS lookup is signed and sent to the fake's STS endpoint, as AWS_ENDPOINT_URL_STS
    // would direct the SDK, and names the principal.
    const named = await failure(
      get('graph', {
        identify: stsCallerIdentity({ env: { AWS_ENDPOINT_URL_STS: `${broker.url}/sts/` } }),
        fetch: async (input, init) =>
          input.includes('/token/') ? new Response('{"message":"Forbidden"}', { status: 403 }) : fetch(input, init),
      }),
    );
    expect(broker.requests.at(-1)).toMatchObject({ method: 'POST', path: '/sts/', verdict: 'ok' });
    expect(named.message).toContain(`The principal ${CALLER_ARN} needs execute-api:Invoke on the route GET /token/graph`);
  });

  it('names the execute-api ARN for an execute-api URL', async () => {
    const error = await failure(
      fetchBrokerToken({
        url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        alias: 'graph',
        credentials: CREDENTIALS,
        identify: async () => CALLER_ARN,
        fetch: async () => new Response('{"message":"Forbidden"}', { status: 403 }),
      }),
    );
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain(
      `The principal ${CALLER_ARN} needs execute-api:Invoke on arn:aws:execute-api:eu-west-1:*:abc123/*/GET/token/graph `,
    );
  });

  it('maps 404 unknown_scope to unknown_alias with the broker message', async () => {
    const error = await failure(get('missing'));
    expect([error.code, error.status, error.alias, error.brokerError]).toEqual(['unknown_alias', 404, 'missing', 'unknown_scope']);
    expect(error.message).toBe(
      `Unknown alias "missing" at ${broker.url}/: No scope is configured under the alias "missing". Check the alias against the token URLs of the deployment (its stack outputs).`,
    );
  });

  it('maps API Gateway 404 (no route) to unknown_alias', async () => {
    const error = await failure(
      fetchBrokerToken({ url: `${broker.url}/wrong-base`, alias: 'graph', region: REGION, credentials: CREDENTIALS, identify: false }),
    );
    expect(error.code).toBe('unknown_alias');
    expect(error.message).toBe(
      `Unknown alias "graph" at ${broker.url}/wrong-base: there is no route GET /wrong-base/token/graph. Check the alias, and that ${broker.url}/wrong-base is the broker's base URL (with its base path, if any).`,
    );
  });

  it('maps 502 entra_rejected and carries aadsts and correlation id', async () => {
    const error = await failure(get('rejected'));
    expect(error).toMatchObject({
      code: 'entra_rejected',
      status: 502,
      aadsts: 'AADSTS700213',
      entraError: 'invalid_client',
      correlationId: '0b1c2d3e-0000-4000-8000-000000000001',
      traceId: '7f8e9d0c-0000-4000-8000-000000000002',
    });
    expect(error.message).toBe(
      `Entra ID rejected the broker's token request for alias "rejected" at ${broker.url}/ (AADSTS700213, correlation id 0b1c2d3e-0000-4000-8000-000000000001, trace id 7f8e9d0c-0000-4000-8000-000000000002): ` +
        'Entra ID refused the client assertion: no federated credential matches its issuer and subject.',
    );
  });

  it('maps 503 to upstream_unavailable', async () => {
    const error = await failure(get('down'));
    expect(error).toMatchObject({ code: 'upstream_unavailable', status: 503, upstream: 'kms', retryAfterSeconds: 5 });
    expect(error.message).toBe(
      `The broker at ${broker.url}/ could not get a token for alias "down" right now (kms unavailable): KMS is throttling; retry shortly. Retry later (after 5 s).`,
    );
  });

  it("shows the broker's whole message, so an Entra refusal's fix is never cut off", async () => {
    const fix = `Fix: az ad app federated-credential create --id 22222222-2222-2222-2222-222222222222 --parameters '${JSON.stringify({ name: 'aws-token-broker', issuer: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] })}'`;
    const message = `Entra ID refused the client assertion (AADSTS700211): no matching federated identity record found for the presented assertion issuer. ${'The issuer must match byte for byte. '.repeat(8)}${fix}`;
    const body = JSON.stringify({ error: 'entra_rejected', message, aadsts: 'AADSTS700211' });
    const error = await failure(get('graph', { fetch: () => Promise.resolve(new Response(body, { status: 502 })) }));
    expect(message.length).toBeGreaterThan(600);
    expect(error.message.endsWith(fix)).toBe(true);
  });

  it('says "retry later" once, even when the broker already said it', async () => {
    const body = JSON.stringify({
      error: 'upstream_unavailable',
      message: 'AWS KMS Sign is unavailable or throttling (ThrottlingException). Retry later.',
      upstream: 'kms',
    });
    const error = await failure(get('graph', { fetch: () => Promise.resolve(new Response(body, { status: 503 })) }));
    expect(error.message).toMatch(/\(ThrottlingException\)\. Retry later\.$/);
    expect(error.message.match(/retry later/gi)).toHaveLength(1);
  });

  it('maps 500 to broker_error', async () => {
    const error = await failure(get('crash'));
    expect(error).toMatchObject({ code: 'broker_error', status: 500, brokerError: 'internal' });
    expect(error.message).toBe(
      `The broker at ${broker.url}/ answered 500 for alias "crash" (internal): The broker failed unexpectedly; see its logs for the request id.`,
    );
  });

  it('maps a 200 that is not a token response to bad_response without quoting the body', async () => {
    const html = await failure(get('notjson'));
    expect([html.code, html.message]).toEqual([
      'bad_response',
      `The broker at ${broker.url}/token/notjson answered 200 for alias "notjson" but not with a token response (the body is not JSON); is the URL the broker's base URL?`,
    ]);
    const partial = await failure(get('partial'));
    expect([partial.code, partial.message]).toEqual([
      'bad_response',
      `The broker at ${broker.url}/token/partial answered 200 for alias "partial" but not with a token response (expires_on is not unix seconds); is the URL the broker's base URL?`,
    ]);
  });

  it("refuses an answer whose expires_on lies beyond Entra's 28-hour maximum, as the broker refuses such a cached token", async () => {
    const HOUR = 3600;
    const liar = await startFakeBroker({ lifetimeSeconds: 28 * HOUR + 301 });
    try {
      const error = await failure(get('graph', { url: liar.url }));
      expect([error.code, error.message]).toEqual([
        'bad_response',
        `The broker at ${liar.url}/token/graph answered 200 for alias "graph" but not with a token response (expires_on is further ahead than the 28 hours Entra ever issues a token for); is the URL the broker's base URL?`,
      ]);
    } finally {
      await liar.close();
    }
    // The longest genuine lifetime, from a broker whose clock runs 5 minutes ahead of this one: accepted.
    const ahead = await startFakeBroker({ lifetimeSeconds: 28 * HOUR, now: () => Date.now() + 300_000 });
    try {
      const token = await fetchBrokerToken({
        url: ahead.url,
        alias: 'graph',
        region: REGION,
        credentials: CREDENTIALS,
        identify: false,
        env: {},
        clock: () => Date.now() + 300_000, // signed with the broker's time, as a skew-corrected client would
      });
      expect(token.expiresOn).toBeGreaterThan(Date.now() / 1000 + 28 * HOUR);
    } finally {
      await ahead.close();
    }
  });

  it('maps connection refused to broker_unreachable, fast', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await failure(
      fetchBrokerToken({ url: `http://127.0.0.1:${port}`, alias: 'graph', region: REGION, credentials: CREDENTIALS, identify: false }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('broker_unreachable');
    expect(error.message).toBe(
      `Cannot reach the broker at http://127.0.0.1:${port}/token/graph for alias "graph" (ECONNREFUSED). Check the URL, DNS, network path (VPC endpoint, proxy) and that the API is deployed.`,
    );
  });

  it('maps a timeout to broker_unreachable', async () => {
    const started = Date.now();
    const error = await failure(get('slow', { timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.code).toBe('broker_unreachable');
    expect(error.message).toContain('(no answer within 200 ms)');
  });

  it('rejects with the abort reason when the caller aborts', async () => {
    const held = broker.hold();
    const controller = new AbortController();
    const pending = get('graph', { signal: controller.signal });
    await held.arrived; // in flight, unanswered
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    held.release();
  });

  it('maps a failing credentials provider to credentials_unavailable', async () => {
    const error = await failure(
      get('graph', {
        credentials: async () => {
          throw new Error('Token is expired. To refresh this SSO session run aws sso login.');
        },
      }),
    );
    expect([error.code, error.message]).toEqual([
      'credentials_unavailable',
      `Cannot get AWS credentials to sign the request to ${broker.url}/: Token is expired. To refresh this SSO session run aws sso login.`,
    ]);
  });

  it('does not follow redirects with signed headers', async () => {
    const error = await failure(
      get('graph', { fetch: async () => new Response(null, { status: 307, headers: { location: 'https://elsewhere.example/' } }) }),
    );
    expect([error.code, error.status]).toEqual(['broker_error', 307]);
    expect(error.message).toBe(
      `The broker at ${broker.url}/token/graph redirected (307) for alias "graph"; pass the final base URL instead.`,
    );
  });
});

/**
 * The whole flow on real local parts: the broker as a process (`npm start`'s command), DynamoDB Local,
 * and the Entra emulator, which validates every assertion as Entra does (discovery → JWKS → signature
 * → iss/sub/aud/time) with a different JWT library from the broker's.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { brokerLogLines, getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { uniqueTableName } from '../support/dynamodb';

const TENANT = '11111111-1111-1111-1111-111111111111';
const APP_A = '22222222-2222-2222-2222-222222222222';
const APP_B = '33333333-3333-3333-3333-333333333333';
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';
const MANAGEMENT = 'https://management.azure.com/.default';
const SUBJECT = 'aws-token-broker';
const AUDIENCE = 'api://AzureADTokenExchange';

let entra: EntraEmulator;
let broker: BrokerProcess;
let brokerConfig: Record<string, unknown>;
let mainPort: number;
let wrongSubjectPort: number;
let shortMarginPort: number;
const issuedTokens: string[] = [];

const issuerOf = (port: number) => `http://127.0.0.1:${port}`;
const credentialFor = (port: number) => ({ issuer: issuerOf(port), subject: SUBJECT, audiences: [AUDIENCE] });

async function token(base: string, alias: string) {
  const answer = await getJson(`${base}/token/${alias}`);
  if (answer.status === 200) issuedTokens.push(answer.body.access_token);
  return answer;
}

beforeAll(async () => {
  [mainPort, wrongSubjectPort, shortMarginPort] = [await reservePort(), await reservePort(), await reservePort()];
  const credentials = [credentialFor(mainPort), credentialFor(wrongSubjectPort), credentialFor(shortMarginPort)];
  entra = await startEntraEmulator({
    apps: [
      { tenantId: TENANT, clientId: APP_A, federatedCredentials: credentials },
      { tenantId: TENANT, clientId: APP_B, federatedCredentials: credentials },
    ],
  });
  brokerConfig = {
    tenantId: TENANT,
    clientId: APP_A,
    scopes: { graph: GRAPH, 'graph-again': GRAPH, storage: { scope: STORAGE, clientId: APP_B }, management: MANAGEMENT },
    authorityHost: entra.url,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tableName: uniqueTableName('e2e'),
  };
  broker = await startBroker(brokerConfig, mainPort);
});

afterAll(async () => {
  await broker?.stop();
  await entra?.close();
});

describe('discovery and JWKS', () => {
  it('publishes a discovery document whose issuer is the broker URL byte for byte', async () => {
    const { status, headers, body } = await getJson(`${broker.url}/.well-known/openid-configuration`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(body.issuer).toBe(issuerOf(mainPort));
    expect(body.jwks_uri).toBe(`${issuerOf(mainPort)}/jwks`);
    expect(body.id_token_signing_alg_values_supported).toEqual(['RS256']);
    expect(body.response_types_supported).toEqual(['id_token']);
    expect(body.subject_types_supported).toEqual(['public']);
  });

  it('publishes RSA signing keys with kid, n and e', async () => {
    const { status, headers, body } = await getJson(`${broker.url}/jwks`);
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of body.keys) {
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: expect.stringMatching(/^[\w-]{43}$/), e: 'AQAB' });
      expect(Buffer.from(key.n, 'base64url').length).toBeGreaterThanOrEqual(256);
    }
  });
});

describe('tokens', () => {
  it('exchanges on the first call and serves the second from the cache', async () => {
    entra.resetCounters();
    const first = await token(broker.url, 'graph');
    const second = await token(broker.url, 'graph');

    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body).toMatchObject({
      token_type: 'Bearer',
      scope: GRAPH,
      expires_in: expect.any(Number),
      expires_on: expect.any(Number),
    });
    expect(first.body.expires_in).toBeGreaterThan(3500);
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(entra.countsFor(APP_A, GRAPH).exchanges).toBe(1);

    // Entra's own signature on the token it issued checks out, for the right resource and app.
    const { payload } = await jwtVerify(first.body.access_token, createRemoteJWKSet(new URL(entra.jwksUri(TENANT))));
    expect(payload).toMatchObject({ aud: 'https://graph.microsoft.com', appid: APP_A, tid: TENANT });
  });

  it('shares one cached token between two aliases of the same scope and app', async () => {
    entra.resetCounters();
    const again = await token(broker.url, 'graph-again');
    expect(again.status).toBe(200);
    expect(entra.requests.attempts).toBe(0);
  });

  it("uses the alias's own Entra app when it names a different clientId", async () => {
    entra.resetCounters();
    const storage = await token(broker.url, 'storage');
    expect(storage.status).toBe(200);
    expect(decodeJwt(storage.body.access_token)).toMatchObject({ appid: APP_B, aud: 'https://storage.azure.com' });
    expect(entra.countsFor(APP_B, STORAGE).exchanges).toBe(1);
    expect(entra.countsFor(APP_A, STORAGE).attempts).toBe(0);
  });

  it('serves the cached token after a restart on the same DynamoDB table, without an exchange', async () => {
    const before = await token(broker.url, 'graph');
    expect(await broker.stop()).toBe(0);
    entra.resetCounters();
    broker = await startBroker(brokerConfig, mainPort);

    const after = await token(broker.url, 'graph');
    expect(after.body.access_token).toBe(before.body.access_token);
    expect(entra.requests.attempts).toBe(0);
  });

  it('answers 404 unknown_scope for an alias that is not configured, without listing the ones that are', async () => {
    const { status, body, text } = await token(broker.url, 'keyvault');
    expect(status).toBe(404);
    expect(body).toMatchObject({ error: 'unknown_scope', alias: 'keyvault', message: expect.stringContaining('"keyvault"') });
    expect(text).not.toMatch(/graph|storage|management/);
  });

  it('answers 503 within seconds while Entra fails, then recovers', async () => {
    entra.injectFault({ status: 503, times: 3 });
    const started = Date.now();
    const down = await token(broker.url, 'management');
    const elapsed = Date.now() - started;

    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: 'upstream_unavailable', upstream: 'entra' });
    expect(elapsed).toBeLessThan(10_000);

    const recovered = await token(broker.url, 'management');
    expect(recovered.status).toBe(200);
  });
});

describe('misconfiguration and expiry', () => {
  it('answers 502 with AADSTS700213 when the subject does not match the federated credential', async () => {
    const wrong = await startBroker({ ...brokerConfig, subject: 'someone-else', dynamodbEndpoint: undefined }, wrongSubjectPort);
    try {
      const { status, body } = await token(wrong.url, 'graph');
      expect(status).toBe(502);
      expect(body).toMatchObject({
        error: 'entra_rejected',
        aadsts: 'AADSTS700213',
        correlation_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        trace_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        message: expect.stringContaining(
          `has the subject "someone-else" (compared exactly); create one: az ad app federated-credential create`,
        ),
      });
    } finally {
      await wrong.stop();
    }
  });

  it('refreshes a token close to expiry instead of serving it', async () => {
    const short = await startBroker({ ...brokerConfig, refreshMarginSeconds: 2, dynamodbEndpoint: undefined }, shortMarginPort);
    entra.setTokenLifetime(4);
    try {
      entra.resetCounters();
      const first = await token(short.url, 'graph');
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // 1.5 s left: under the 2 s margin
      const second = await token(short.url, 'graph');

      expect(second.body.access_token).not.toBe(first.body.access_token);
      expect(second.body.expires_in).toBeGreaterThan(2);
      expect(entra.countsFor(APP_A, GRAPH).exchanges).toBe(2);
    } finally {
      entra.setTokenLifetime(3599);
      await short.stop();
    }
  });
});

describe('output', () => {
  it("keeps stdout for the runtime's announcements: the log and metric lines, one JSON object each, go to stderr", () => {
    expect(broker.stdoutLines).toStrictEqual([`listening on ${broker.url}`]);
    const json = broker.lines.filter((line) => line.startsWith('{'));
    expect(json.some((line) => line.includes('"message":"token served"'))).toBe(true);
    expect(json.some((line) => line.includes('"_aws"'))).toBe(true);
  });
});

describe('secrets', () => {
  it('never writes an access token or a client assertion to the broker log', () => {
    expect(issuedTokens.length).toBeGreaterThan(3);
    expect(brokerLogLines.length).toBeGreaterThan(5);
    const log = brokerLogLines.join('\n');
    for (const issued of issuedTokens) expect(log).not.toContain(issued);
    expect(log).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no JWT of any kind: tokens and assertions are JWTs
    expect(log).not.toMatch(/client_assertion=/);
  });
});

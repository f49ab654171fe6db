/**
 * Faults on real local parts: what the caller gets, how long it takes, and that nothing wrong is cached.
 * Entra faults are injected at the emulator (the broker as a process); DynamoDB Local is really stopped and
 * restarted and clock skew is the broker's clock against the emulator's (the broker in this process, its clock
 * injected).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local/launcher';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { parseLocalConfig, type LocalConfig } from '../../local/runtime/local-config';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/local-runtime';
import { STORE_BACKOFF_MS } from '../../lambda/core/token-cache';
import { brokerLogLines, getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { captureLogsForFile } from '../support/log-capture';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const SUBJECT = 'aws-token-broker';
const AUDIENCE = 'api://AzureADTokenExchange';
/** One alias per test, so each starts cold and no test's cache helps another. */
const ALIASES = [
  'throttled',
  'throttled-long',
  'flaky',
  'down',
  'hanging',
  'slow',
  'garbled',
  'skew-ahead',
  'skew-behind',
  'skew-far',
  'ddb-a',
  'ddb-b',
  'ddb-c',
];
const scopes = Object.fromEntries(ALIASES.map((alias) => [alias, `api://${alias}/.default`]));
const scopeOf = (alias: string) => `api://${alias}/.default`;

const issuedTokens: string[] = [];
const errorBodies: string[] = [];
/** The lines of the brokers this file runs in-process (this process's streams). */
const inProcessLog = captureLogsForFile().lines;

async function call(base: string, alias: string) {
  const started = Date.now();
  const answer = await getJson(`${base}/token/${alias}`);
  if (answer.status === 200) issuedTokens.push(answer.body.access_token);
  else errorBodies.push(answer.text);
  return { ...answer, ms: Date.now() - started };
}

describe('Entra faults', () => {
  let entra: EntraEmulator;
  let broker: BrokerProcess;

  beforeAll(async () => {
    const port = await reservePort();
    entra = await startEntraEmulator({
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: [{ issuer: `http://127.0.0.1:${port}`, subject: SUBJECT, audiences: [AUDIENCE] }],
        },
      ],
    });
    broker = await startBroker({ tenantId: TENANT, clientId: CLIENT, scopes, authorityHost: entra.url }, port);
  });

  afterAll(async () => {
    await broker?.stop();
    await entra?.close();
  });

  const attempts = (alias: string) => entra.countsFor(CLIENT, scopeOf(alias)).attempts;

  it('429 with Retry-After: 1 → waits a second, retries, 200; the token is then cached', async () => {
    entra.injectFault({ status: 429, headers: { 'Retry-After': '1' } });
    const answer = await call(broker.url, 'throttled');

    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThanOrEqual(1000);
    expect(attempts('throttled')).toBe(2);
    expect((await call(broker.url, 'throttled')).body.access_token).toBe(answer.body.access_token);
    expect(attempts('throttled')).toBe(2);
  });

  it('429 with a Retry-After beyond the budget → 503 at once with retry_after_seconds; nothing cached', async () => {
    entra.injectFault({ status: 429, headers: { 'Retry-After': '120' } });
    const answer = await call(broker.url, 'throttled-long');

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: 'upstream_unavailable', upstream: 'entra', retry_after_seconds: 120 });
    expect(answer.ms).toBeLessThan(1500);
    expect(attempts('throttled-long')).toBe(1);
    expect((await call(broker.url, 'throttled-long')).status).toBe(200);
    expect(attempts('throttled-long')).toBe(2);
  });

  it('500 twice, then success → 200 after bounded backoff', async () => {
    entra.injectFault({ status: 500, times: 2 });
    const answer = await call(broker.url, 'flaky');
    expect(answer.status).toBe(200);
    expect(attempts('flaky')).toBe(3);
    expect(answer.ms).toBeLessThan(5000);
  });

  it('503 on every attempt → 503 upstream_unavailable within the 8 s budget; nothing cached', async () => {
    entra.injectFault({ status: 503, times: 10 });
    const answer = await call(broker.url, 'down');
    entra.clearFaults();

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      error: 'upstream_unavailable',
      upstream: 'entra',
      message: expect.stringMatching(/3 attempt\(s\)/),
    });
    expect(answer.ms).toBeLessThan(8500);
    expect(attempts('down')).toBe(3);
    expect((await call(broker.url, 'down')).status).toBe(200);
  });

  it('Entra that never answers → 503 when the 8 s budget ends, not a hang', async () => {
    entra.injectFault({ hang: true, times: 10 });
    const answer = await call(broker.url, 'hanging');
    entra.clearFaults();

    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ error: 'upstream_unavailable', message: expect.stringMatching(/no answer within/) });
    expect(answer.ms).toBeGreaterThanOrEqual(5000);
    // Ended by the 8 s budget, not by the token function's 15 s timeout. The budget to the millisecond is checked on
    // a manual clock (test/lambda/core/entra-client.test.ts); a bound this close to it would fail on a loaded machine.
    expect(answer.ms).toBeLessThan(12_000);
  });

  it('a slow Entra (1.5 s) within the attempt timeout → 200', async () => {
    entra.injectFault({ delayMs: 1500 });
    const answer = await call(broker.url, 'slow');
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThanOrEqual(1500);
    expect(attempts('slow')).toBe(1);
  });

  it('200 with malformed JSON → retried, then 503; the next good answer is what gets cached', async () => {
    entra.injectFault({ malformedJson: true, times: 3 });
    const garbled = await call(broker.url, 'garbled');
    expect(garbled.status).toBe(503);
    expect(garbled.body).toMatchObject({ error: 'upstream_unavailable', message: expect.stringMatching(/without a usable access token/) });

    const good = await call(broker.url, 'garbled');
    const again = await call(broker.url, 'garbled');
    expect(good.status).toBe(200);
    expect(again.body.access_token).toBe(good.body.access_token);
    await expect(jwtVerify(good.body.access_token, createRemoteJWKSet(new URL(entra.jwksUri(TENANT))))).resolves.toBeDefined();
  });
});

describe('clock skew between the broker and Entra', () => {
  const skewed = async (alias: string, skewMs: number) => {
    const port = await reservePort();
    const entra = await startEntraEmulator({
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: [{ issuer: `http://127.0.0.1:${port}`, subject: SUBJECT, audiences: [AUDIENCE] }],
        },
      ],
    });
    const runtime = await startLocalRuntime({
      config: parseLocalConfig({ tenantId: TENANT, clientId: CLIENT, scopes, authorityHost: entra.url }),
      port,
      clock: () => Date.now() + skewMs,
    });
    try {
      return { first: await call(runtime.url, alias), second: await call(runtime.url, alias), entra: entra.requests };
    } finally {
      await runtime.close();
      await entra.close();
    }
  };

  it("a broker clock 3 minutes ahead is within Entra's tolerance → 200", async () => {
    const { first } = await skewed('skew-ahead', 3 * 60_000);
    expect(first.status).toBe(200);
  });

  it('a broker clock 3 minutes behind → 200', async () => {
    const { first } = await skewed('skew-behind', -3 * 60_000);
    expect(first.status).toBe(200);
  });

  it('a broker clock 7 minutes ahead → 502 AADSTS700024 naming the clock; the failure is not cached', async () => {
    const { first, second, entra } = await skewed('skew-far', 7 * 60_000);
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({
      error: 'entra_rejected',
      aadsts: 'AADSTS700024',
      message: expect.stringMatching(/check the clock/),
    });
    expect(second.status).toBe(502);
    expect(entra.attempts).toBe(2);
  });
});

describe('DynamoDB Local stopped and restarted mid-run', () => {
  // After a store failure the cache leaves the store alone for STORE_BACKOFF_MS. The broker runs in this process
  // here so that its clock can be moved past that backoff instead of sleeping through it.
  let dynamodb: DynamoDbLocal;
  let entra: EntraEmulator;
  let runtime: LocalRuntime;
  let config: LocalConfig;
  let port: number;
  let clockOffsetMs = 0;
  const startRuntime = () =>
    startLocalRuntime({
      config,
      port,
      clock: () => Date.now() + clockOffsetMs,
    });

  beforeAll(async () => {
    dynamodb = await startDynamoDbLocal({ dbPath: mkdtempSync(join(tmpdir(), 'ddb-faults-')) });
    port = await reservePort();
    entra = await startEntraEmulator({
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: [{ issuer: `http://127.0.0.1:${port}`, subject: SUBJECT, audiences: [AUDIENCE] }],
        },
      ],
    });
    config = parseLocalConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      scopes,
      authorityHost: entra.url,
      dynamodbEndpoint: dynamodb.endpoint,
      tableName: uniqueTableName('faults'),
    });
    runtime = await startRuntime();
  }, 90_000);

  afterAll(async () => {
    await runtime?.close();
    await entra?.close();
    await dynamodb?.stop();
  });

  it('keeps serving (memory hits, direct exchanges) while DynamoDB is down, and uses it again once it is back', async () => {
    const cached = await call(runtime.url, 'ddb-a');
    expect(cached.status).toBe(200);

    await dynamodb.stop();
    const hit = await call(runtime.url, 'ddb-a');
    const miss = await call(runtime.url, 'ddb-b');
    expect(hit.body.access_token).toBe(cached.body.access_token);
    expect(miss.status).toBe(200);
    expect(miss.ms).toBeLessThan(5000);
    expect(inProcessLog.join('\n')).toMatch(/token cache store unavailable/);

    await dynamodb.start();
    clockOffsetMs += STORE_BACKOFF_MS + 1; // the backoff is over: the next miss goes to the store again
    expect((await call(runtime.url, 'ddb-c')).status).toBe(200);

    const client = localDynamoDbClient(dynamodb.endpoint);
    const items = await client.send(new ScanCommand({ TableName: config.tableName }));
    client.destroy();
    // ddb-a (before the outage) and ddb-c (after) are in the table; ddb-b was served without it.
    expect(items.Items?.filter((item) => item.pk?.S?.startsWith('token#'))).toHaveLength(2);
  }, 60_000);

  it('a restarted broker serves the token stored before the outage, without an exchange', async () => {
    await runtime.close();
    entra.resetCounters();
    runtime = await startRuntime();
    expect((await call(runtime.url, 'ddb-a')).status).toBe(200);
    expect(entra.requests.attempts).toBe(0);
  });
});

describe('secrets', () => {
  it('no access token, JWT, private key or signature in any log line or error body', () => {
    const everything = [...brokerLogLines, ...inProcessLog, ...errorBodies].join('\n');
    expect(issuedTokens.length).toBeGreaterThan(8);
    expect(errorBodies.length).toBeGreaterThan(4);
    for (const token of issuedTokens) expect(everything).not.toContain(token);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(everything).not.toMatch(/PRIVATE KEY/);
    expect(everything).not.toMatch(/client_assertion=|AWS4-HMAC-SHA256/);
    expect(errorBodies.join('\n')).not.toMatch(/\n\s+at |\.ts:\d/);
  });
});

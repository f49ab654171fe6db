/**
 * Entra's refusals end to end: transient metadata failures retried, throttling honoured, misconfigurations answered
 * with the exact fix, and a hostile error body turned into a clean, bounded 502 (issue 11), in the answer and in the
 * log. The broker runs as a process (`npm start`) against the Entra emulator; the variants that need another
 * configuration run in this process on a second issuer the emulator also trusts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { federatedCredentialCreateCommand } from '../../contract/federated-credential';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { plainTextThrottle } from '../../local/entra-emulator/faults';
import { parseLocalConfig } from '../../local/runtime/local-config';
import { startLocalRuntime } from '../../local/runtime/local-runtime';
import { tapLogLines } from '../../local/runtime/log-tap';
import { getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
/** An app registration without any federated credential. */
const BARE_CLIENT = '33333333-3333-4333-8333-333333333333';
const SUBJECT = 'aws-token-broker';
const AUDIENCE = 'api://AzureADTokenExchange';
const ALIASES = ['oidc-once', 'oidc-twice', 'throttled-text', 'hostile', 'misconfigured'];
const scopes = Object.fromEntries(ALIASES.map((alias) => [alias, `api://${alias}/.default`]));
const scopeOf = (alias: string) => `api://${alias}/.default`;

const JWT = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdG9sZW4iLCJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLXN0b2xlbi10b2tlbg';

let entra: EntraEmulator;
let broker: BrokerProcess;
/** A second issuer the emulator trusts, for the runtimes started in this process. */
let secondPort: number;
/** An issuer the emulator trusts but nothing answers at: its metadata can never be read. */
let deadPort: number;
const inProcessLog: string[] = [];

beforeAll(async () => {
  const port = await reservePort();
  secondPort = await reservePort();
  deadPort = await reservePort();
  entra = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: CLIENT,
        federatedCredentials: [port, secondPort, deadPort].map((p) => ({
          issuer: `http://127.0.0.1:${p}`,
          subject: SUBJECT,
          audiences: [AUDIENCE],
        })),
      },
      { tenantId: TENANT, clientId: BARE_CLIENT, federatedCredentials: [] },
    ],
  });
  broker = await startBroker({ tenantId: TENANT, clientId: CLIENT, scopes, authorityHost: entra.url }, port);
});

afterAll(async () => {
  await broker?.stop();
  await entra?.close();
});

async function call(base: string, alias: string) {
  const started = Date.now();
  const answer = await getJson(`${base}/token/${alias}`);
  return { ...answer, ms: Date.now() - started };
}

const attempts = (alias: string) => entra.countsFor(CLIENT, scopeOf(alias)).attempts;

/** A runtime in this process on the second issuer, with `overrides` in its configuration. */
async function withRuntime<T>(overrides: Record<string, unknown>, port: number, run: (url: string) => Promise<T>): Promise<T> {
  const restore = tapLogLines((line) => void inProcessLog.push(line));
  const runtime = await startLocalRuntime({
    config: parseLocalConfig({ tenantId: TENANT, clientId: CLIENT, scopes, authorityHost: entra.url, ...overrides }),
    port,
  }).catch((error: unknown) => {
    restore();
    throw error;
  });
  try {
    return await run(runtime.url);
  } finally {
    restore();
    await runtime.close();
  }
}

describe('transient refusals: Entra could not read the issuer metadata', () => {
  it('AADSTS50166 once → retried after at least 500 ms → 200, and the token is cached', async () => {
    entra.injectFault({ aadsts: 50166 });
    const answer = await call(broker.url, 'oidc-once');

    expect(answer.status).toBe(200);
    expect(attempts('oidc-once')).toBe(2);
    expect(answer.ms).toBeGreaterThanOrEqual(500);
    expect((await call(broker.url, 'oidc-once')).body.access_token).toBe(answer.body.access_token);
    expect(attempts('oidc-once')).toBe(2);
  });

  it('AADSTS501661 then AADSTS90061 → 200 on the third attempt', async () => {
    entra.injectFaults([{ aadsts: 501661 }, { aadsts: 90061 }]);
    const answer = await call(broker.url, 'oidc-twice');
    expect(answer.status).toBe(200);
    expect(attempts('oidc-twice')).toBe(3);
  });

  it('metadata that Entra can never read (nothing listens at the issuer) → 502 AADSTS90061 after the retries, naming broker-doctor', async () => {
    const deadIssuer = `http://127.0.0.1:${deadPort}`;
    const answer = await withRuntime({ issuer: deadIssuer }, secondPort, (url) => call(url, 'misconfigured'));

    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({
      error: 'entra_rejected',
      aadsts: 'AADSTS90061',
      message: expect.stringContaining(`AADSTS90061: Request to External OIDC endpoint failed. (the same answer to 3 attempts over `),
    });
    expect(answer.body.message).toContain(`Check as Entra reads them: npx --no-install broker-doctor --issuer ${deadIssuer}.`);
    expect(answer.ms).toBeLessThan(8500);
    expect(entra.lastError).toMatchObject({ errorCode: 90061, detail: expect.stringContaining(deadIssuer) });
  });
});

describe('throttling', () => {
  it('plain-text 429 "Too Many Requests" with Retry-After: 1 → waits a second, retries, 200', async () => {
    entra.injectFault(plainTextThrottle(1));
    const answer = await call(broker.url, 'throttled-text');
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThanOrEqual(1000);
    expect(attempts('throttled-text')).toBe(2);
  });
});

describe('misconfigurations answered with the exact fix', () => {
  it('a subject that differs only in case → 502 AADSTS7002138 saying so', async () => {
    const answer = await withRuntime({ subject: 'AWS-Token-Broker' }, secondPort, (url) => call(url, 'misconfigured'));
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'entra_rejected', aadsts: 'AADSTS7002138' });
    expect(answer.body.message).toContain(
      'Fix: the federated credential\'s subject differs from the broker\'s subject "AWS-Token-Broker" only in upper/lower case',
    );
  });

  it('an app without any federated credential → 502 AADSTS70025 with the command that creates it', async () => {
    const issuer = `http://127.0.0.1:${secondPort}`;
    const answer = await withRuntime({ clientId: BARE_CLIENT }, secondPort, (url) => call(url, 'misconfigured'));
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'entra_rejected', aadsts: 'AADSTS70025' });
    expect(answer.body.message).toContain(
      federatedCredentialCreateCommand({ clientId: BARE_CLIENT, issuer, subject: SUBJECT, audience: AUDIENCE }),
    );
  });
});

describe('a hostile error body (issue 11)', () => {
  const hostileBody = JSON.stringify({
    error: '<img src=x onerror=alert(1)>',
    error_description: `AADSTS700213: <html><body><script>alert("x")</script>${JWT}\u0000\u202E${'A'.repeat(100_000)}</body></html>`,
    error_codes: [700213],
    correlation_id: '<b>not-a-guid</b>',
    trace_id: JWT,
  });

  it('Entra answering HTML, a JWT, a 100 KB description and ids that are not GUIDs → a clean, bounded 502 entra_rejected', async () => {
    const linesBefore = broker.lines.length;
    entra.injectFault({ status: 400, body: hostileBody });
    const answer = await call(broker.url, 'hostile');

    expect(answer.status).toBe(502);
    expect(Object.keys(answer.body).sort()).toStrictEqual(['aadsts', 'entra_error', 'error', 'error_codes', 'message']);
    expect(answer.body).toMatchObject({ error: 'entra_rejected', entra_error: 'http_400', aadsts: 'AADSTS700213', error_codes: [700213] });
    expect(answer.body.message).toMatch(
      /^Entra ID rejected the token request for alias "hostile": AADSTS700213: alert\("x"\) \[redacted-jwt\] A+\.\.\. Fix: /,
    );
    expect(answer.text.length).toBeLessThan(1500);
    // eslint-disable-next-line no-control-regex -- asserting none is left
    expect(answer.text).not.toMatch(/[<>\u0000\u202E]|eyJ|script|not-a-guid|A{300}/);

    await new Promise((resolve) => setTimeout(resolve, 200)); // the process's log lines arrive over a pipe
    const logged = broker.lines.slice(linesBefore).join('\n');
    expect(logged).toContain('AADSTS700213');
    expect(logged).not.toMatch(/<script|<img|eyJ|not-a-guid|A{300}|\\u0000|\\u202e/i);
  });
});

describe('secrets', () => {
  it('no JWT in any log line of the broker process or the in-process runtimes', () => {
    const everything = [...broker.lines, ...inProcessLog].join('\n');
    expect(everything.length).toBeGreaterThan(0);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});

/**
 * Proactive refresh end to end: the local runtime's refresher (its timer hands the token handler the refresh event, as
 * the deployment's schedule does) against the Entra emulator, with callers throughout. A 25-second Entra outage that
 * begins the moment the token is due for renewal stays invisible to them: every request is answered 200 from the
 * cache, none waits on an exchange, and the refresher renews the token once Entra is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { parseLocalConfig } from '../../local/runtime/local-config';
import { startLocalRuntime, type LocalRuntime } from '../../local/runtime/local-runtime';
import { getJson, reservePort } from '../support/broker-process';
import { captureLogsForFile } from '../support/log-capture';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const SCOPE = 'api://outage/.default';
/** Short tokens, so the test sees a renewal: due at half life (45 s), servable until 10 s before expiry. */
const LIFETIME_SECONDS = 90;
const MARGIN_SECONDS = 10;
const PERIOD_SECONDS = 2;
const OUTAGE_MS = 25_000;

const logs = captureLogsForFile();
const until = async (condition: () => boolean, what: string, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe('proactive refresh: an Entra outage shorter than the servable life left', () => {
  let entra: EntraEmulator;
  let runtime: LocalRuntime;

  beforeAll(async () => {
    const port = await reservePort();
    entra = await startEntraEmulator({
      tokenLifetimeSeconds: LIFETIME_SECONDS,
      apps: [
        {
          tenantId: TENANT,
          clientId: CLIENT,
          federatedCredentials: [
            { issuer: `http://127.0.0.1:${port}`, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] },
          ],
        },
      ],
    });
    runtime = await startLocalRuntime({
      config: parseLocalConfig({
        tenantId: TENANT,
        clientId: CLIENT,
        scopes: { outage: SCOPE },
        authorityHost: entra.url,
        refreshMarginSeconds: MARGIN_SECONDS,
        proactiveRefresh: { periodSeconds: PERIOD_SECONDS },
      }),
      port,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    await entra?.close();
  });

  it('is invisible to callers: every request 200 from the cache, none waits on Entra; the refresher renews after it', async () => {
    // The timer's first run warms the alias before any caller asks.
    await until(() => entra.countsFor(CLIENT, SCOPE).exchanges === 1, 'the warm-up refresh');
    const first = await getJson(`${runtime.url}/token/outage`);
    expect(first.status).toBe(200);
    const dueAtMs = (first.body.expires_on - Math.ceil(LIFETIME_SECONDS / 2)) * 1000;

    const statuses: number[] = [];
    const tokens = new Set<string>();
    let calling = true;
    const callers = (async () => {
      while (calling) {
        const answer = await getJson(`${runtime.url}/token/outage`);
        statuses.push(answer.status);
        if (answer.status === 200) tokens.add(answer.body.access_token);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    // Entra goes down just before the token is due, the worst moment: the whole outage eats into its servable life.
    await until(() => Date.now() >= dueAtMs - 1000, 'the token to come due', LIFETIME_SECONDS * 1000);
    entra.injectFault({ status: 503, times: 1_000_000 });
    const outageStarted = Date.now();
    await until(() => Date.now() - outageStarted >= OUTAGE_MS, 'the outage to last', OUTAGE_MS + 5_000);
    entra.clearFaults();
    const failedAttempts = entra.countsFor(CLIENT, SCOPE).attempts - 1;
    await until(() => entra.countsFor(CLIENT, SCOPE).exchanges === 2, 'the refresher to renew after the outage', 15_000);
    await until(() => tokens.size === 2, 'callers to get the renewed token', 5_000);
    calling = false;
    await callers;

    expect(failedAttempts).toBeGreaterThan(0);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((status) => status !== 200)).toStrictEqual([]);
    const audit = logs.entries().filter((line) => line.message === 'token served');
    expect(audit.length).toBe(statuses.length + 1);
    expect(new Set(audit.map((line) => line.cache))).toStrictEqual(new Set(['l1']));
    expect(logs.metricEntries().filter((line) => 'CallerWaits' in line)).toStrictEqual([]);
    expect(
      logs.entries().some((line) => line.message === 'proactive refresh failed; callers keep the previous token while it is servable'),
    ).toBe(true);
  }, 150_000);
});

import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseBrokerConfig } from '../../../contract/broker-config';
import { REFRESH_EVENT, type RefreshEvent } from '../../../contract/refresh-event';
import { fixedSigningKey } from '../../../lambda/adapters/local-key-signer';
import { MemoryTokenStore } from '../../../lambda/adapters/memory-token-store';
import { createTokenObservability } from '../../../lambda/adapters/observability';
import { createTokenFunction } from '../../../lambda/composition/token-function';
import { jwksDocument } from '../../../lambda/core/discovery';
import type { Fetch } from '../../../lambda/core/ports';
import { rotatingAssertions, rotationPublicKeys } from '../../../lambda/core/rotating-assertions';
import { httpEvent, jsonBody, lambdaContext, TEST_API } from '../../support/http-events';
import { captureLogs } from '../../support/log-capture';
import { rsaKeyPair } from '../../support/rsa-keys';

const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const ISSUER = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';
const LIFETIME = 3599;

const signingKey = await fixedSigningKey(rsaKeyPair('active').privateKeyPem, 'signing-key.pem', Math.floor(T0 / 1000));

/**
 * The token function as deployed (composition root, Powertools middlewares) with proactive refresh as configured, in
 * front of a fake Entra that verifies each client assertion against the broker's JWKS, then issues an hour's token.
 */
function broker(proactiveRefresh: { periodSeconds: number } | false = { periodSeconds: 60 }) {
  const config = parseBrokerConfig({
    tenantId: TENANT,
    clientId: CLIENT,
    scopes: { graph: GRAPH, storage: STORAGE },
    proactiveRefresh,
  }).runtime;
  const clock = () => Date.now();
  const entra = { down: false, scopes: [] as string[] };
  const fetch: Fetch = async (_url, init) => {
    const form = new URLSearchParams(String(init?.body));
    if (entra.down) return new Response('upstream connect error', { status: 503 });
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
    entra.scopes.push(form.get('scope') ?? '');
    return Response.json({ token_type: 'Bearer', expires_in: LIFETIME, access_token: `entra-token-${entra.scopes.length}` });
  };
  const logs = captureLogs();
  const handler = createTokenFunction({
    config,
    assertions: rotatingAssertions(
      { issuer: ISSUER, subject: config.subject, audience: config.audience, lifetimeSeconds: config.assertionLifetimeSeconds },
      { state: signingKey.state, signer: signingKey.signer, clock },
    ),
    store: new MemoryTokenStore({ clock }),
    api: TEST_API,
    observability: createTokenObservability({ deployment: 'TestStack/Broker' }),
    clock,
    fetch,
    // Entra's retries wait on the fake clock.
    sleep: async (ms) => void vi.setSystemTime(Date.now() + ms),
  });
  const refresh = (event: RefreshEvent | Record<string, unknown> = REFRESH_EVENT) => handler(event as RefreshEvent, lambdaContext());
  const get = (alias: string) => handler(httpEvent({ routeKey: `GET /token/${alias}` }), lambdaContext());
  const audits = () => logs.entries().filter((entry) => entry.message === 'token served');
  return { refresh, get, entra, logs, audits };
}

/** The sum of one metric over the EMF lines written (Powertools writes several counts of one invocation as an array). */
function metricSum(logs: ReturnType<typeof captureLogs>, name: string): number {
  return logs
    .metricEntries()
    .flatMap((entry) => [entry[name] ?? []].flat() as number[])
    .reduce((sum, value) => sum + value, 0);
}

const at = (seconds: number) => vi.setSystemTime(T0 + seconds * 1000);

beforeEach(() => {
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

describe('the refresh event (proactive refresh)', () => {
  it('warms every alias on its first run, so callers never wait on Entra; RefreshesAhead counts it', async () => {
    const { refresh, get, entra, logs, audits } = broker();
    const answer = await refresh();
    expect(jsonBody(answer)).toStrictEqual({ refreshed: 2, notDue: 0, elsewhere: 0, failed: 0 });
    expect(entra.scopes.sort()).toStrictEqual([GRAPH, STORAGE]);
    expect([metricSum(logs, 'RefreshesAhead'), metricSum(logs, 'EntraExchanges')]).toStrictEqual([2, 2]);

    logs.clear();
    // Until the margin: the old refresh window no longer makes a caller exchange.
    for (const seconds of [1, 1799, LIFETIME - 301]) {
      at(seconds);
      const response = await get('graph');
      expect(response.statusCode).toBe(200);
    }
    expect(entra.scopes).toHaveLength(2);
    expect(audits().map((line) => line.cache)).toStrictEqual(['l1', 'l1', 'l1']);
    expect(metricSum(logs, 'CallerWaits')).toBe(0);
  });

  it('renews each token at half its life, one exchange per token, and callers get the new one', async () => {
    const { refresh, get, entra } = broker();
    await refresh();
    at(1799); // ceil(3599 / 2) = 1800 s before expiry: due from 1799 s
    expect(jsonBody(await refresh())).toStrictEqual({ refreshed: 2, notDue: 0, elsewhere: 0, failed: 0 });
    at(1859);
    expect(jsonBody(await refresh())).toStrictEqual({ refreshed: 0, notDue: 2, elsewhere: 0, failed: 0 });
    expect(entra.scopes).toHaveLength(4);
    expect(jsonBody(await get('graph')).access_token).toMatch(/^entra-token-[34]$/);
  });

  it('keeps callers served through an Entra outage shorter than the servable life left, and counts RefreshFailures', async () => {
    const { refresh, get, entra, logs, audits } = broker();
    await refresh();
    entra.down = true;
    logs.clear();
    let runs = 0;
    for (let seconds = 1800; seconds < LIFETIME - 300; seconds += 60) {
      runs += 1;
      at(seconds);
      expect(jsonBody(await refresh())).toMatchObject({ refreshed: 0, failed: 2 });
      expect((await get('graph')).statusCode).toBe(200);
    }
    expect(audits().every((line) => line.cache === 'l1')).toBe(true);
    const failures = logs
      .entries()
      .filter((entry) => entry.message === 'proactive refresh failed; callers keep the previous token while it is servable');
    expect(failures[0]).toMatchObject({ level: 'WARN', aliases: ['graph'], error: 'upstream_unavailable' });
    expect(metricSum(logs, 'RefreshFailures')).toBe(2 * runs);
    expect(JSON.stringify(logs.lines)).not.toMatch(/eyJ|entra-token-/);
    entra.down = false;
    at(LIFETIME - 301);
    expect(jsonBody(await refresh())).toMatchObject({ refreshed: 2, failed: 0 });
  });

  it('a forged refresh event can do no more than the schedule: nothing while the tokens are not due', async () => {
    const { refresh, entra } = broker();
    await refresh();
    for (let i = 0; i < 5; i++)
      expect(jsonBody(await refresh({ brokerEvent: 'aws-azure-token-broker/proactive-refresh' }))).toMatchObject({ refreshed: 0 });
    expect(entra.scopes).toHaveLength(2);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an extra field', { ...REFRESH_EVENT, force: true }],
    ['another value', { brokerEvent: 'refresh' }],
    ['an EventBridge scheduled event', { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} }],
  ])('refuses %s like any event that did not come through the API: 403, counted, no exchange', async (_, event) => {
    const { refresh, entra, logs } = broker();
    const response = await refresh(event);
    expect(response.statusCode).toBe(403);
    expect(entra.scopes).toStrictEqual([]);
    expect(logs.metricEntries().at(-1)).toMatchObject({ ForeignInvocationsRefused: 1 });
  });

  it('is refused by the tripwire when proactiveRefresh is off, and callers refresh as before', async () => {
    const { refresh, get, entra, logs, audits } = broker(false);
    expect((await refresh()).statusCode).toBe(403);
    expect(entra.scopes).toStrictEqual([]);
    await get('graph');
    at(LIFETIME - 301); // in the refresh window: this caller exchanges
    await get('graph');
    expect(audits().map((line) => line.cache)).toStrictEqual(['exchange', 'exchange']);
    expect(metricSum(logs, 'CallerWaits')).toBe(2);
  });

  it('counts CallerWaits for a caller that exchanged because the refresher had not run yet', async () => {
    const { get, logs, audits } = broker();
    await get('storage');
    await get('storage');
    expect(audits().map((line) => line.cache)).toStrictEqual(['exchange', 'l1']);
    expect(metricSum(logs, 'CallerWaits')).toBe(1);
  });
});

/**
 * The local runtime's logs: the deployment's logger (scrubbed Powertools JSON lines), and an id per request on
 * every line about it, even while other requests are served in between.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Fetch } from '../../../lambda/core/ports';
import { parseLocalConfig } from '../../../local/runtime/local-config';
import { startLocalRuntime, type LocalRuntime } from '../../../local/runtime/local-runtime';
import { rsaKeyPair } from '../../support/rsa-keys';
import { getWithHost } from '../../support/get-with-host';
import { captureLogs } from '../../support/log-capture';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-4333-8444-555555555555';
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const keyDir = mkdtempSync(join(tmpdir(), 'broker-local-runtime-'));
const signingKeyFile = join(keyDir, 'signing-key.pem');
writeFileSync(signingKeyFile, rsaKeyPair().privateKeyPem, { mode: 0o600 });
afterAll(() => {
  rmSync(keyDir, { recursive: true, force: true });
});

const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const ACCESS_TOKEN = `${part({ typ: 'JWT', alg: 'RS256' })}.${part({ aud: 'https://graph.microsoft.com', uti: 'm4xTQZ2KvUuhC3hMnQ0AAA' })}.c2lnbmF0dXJl`;

/**
 * A fake Entra: storage is refused at once; the first graph exchange waits for `release()` (so other requests
 * are served meanwhile) and is refused too; later graph exchanges succeed.
 */
function slowEntra() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const graphEntered = new Promise<void>((resolve) => (entered = resolve));
  let graphCalls = 0;
  const refuse = () =>
    new Response(JSON.stringify({ error: 'invalid_client', error_codes: [7000215], error_description: 'AADSTS7000215: no.' }), {
      status: 401,
    });
  const fetch: Fetch = async (_url, init) => {
    const scope = new URLSearchParams(String(init?.body)).get('scope');
    if (scope === STORAGE) return refuse();
    if (++graphCalls > 1)
      return new Response(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: ACCESS_TOKEN }), { status: 200 });
    entered();
    await released;
    return refuse();
  };
  return { fetch, release, graphEntered };
}

const runtimes: LocalRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
});

async function start(options: { fetch?: Fetch; localCredentials?: boolean; issuer?: string } = {}) {
  const { lines } = captureLogs();
  const runtime = await startLocalRuntime({
    config: parseLocalConfig({
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { graph: GRAPH, storage: STORAGE },
      // A loopback "emulator" (the fake fetch answers): open mode is refused in front of real Entra.
      authorityHost: 'http://127.0.0.1:9',
      signingKeyFile,
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.localCredentials ? { localCredentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret-key-value' } } : {}),
    }),
    port: 0,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  runtimes.push(runtime);
  const startup = lines.length;
  return { runtime, requestLines: () => lines.slice(startup).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('local runtime logs', () => {
  it('gives each request an id on every line about it, while other requests are served in between', async () => {
    const entra = slowEntra();
    const { runtime, requestLines } = await start({ fetch: entra.fetch });

    const graph = fetch(`${runtime.url}/token/graph`);
    await entra.graphEntered; // the graph request now waits for Entra
    const storage = await fetch(`${runtime.url}/token/storage`);
    const discovery = await fetch(`${runtime.url}/.well-known/openid-configuration`);
    entra.release();
    const graphRefused = await graph;
    const served = await fetch(`${runtime.url}/token/graph`);

    expect([graphRefused.status, storage.status, discovery.status, served.status]).toStrictEqual([502, 502, 200, 200]);
    const all = requestLines();
    // Metric lines (Embedded Metric Format, as CloudWatch reads them) are not log lines about a request.
    const metricLines = all.filter((line) => '_aws' in line);
    expect(metricLines.map((line) => Object.keys(line).filter((key) => key !== '_aws' && key !== 'Deployment'))).toContainEqual([
      'EntraExchanges',
      // The request that exchanged waited on it.
      'CallerWaits',
    ]);
    const lines = all.filter((line) => !('_aws' in line));
    for (const line of lines) expect(line.function_request_id).toMatch(UUID);
    const failed = (alias: string) =>
      lines.filter((line) => line.message === 'request failed' && String(line.reason).includes(`"${alias}"`));
    const [storageLine] = failed('storage');
    const [graphLine] = failed('graph');
    // The graph request's line was written last, after the storage and discovery requests had set their own context.
    expect(graphLine?.function_request_id).toMatch(UUID);
    expect(storageLine?.function_request_id).toMatch(UUID);
    expect(graphLine?.function_request_id).not.toBe(storageLine?.function_request_id);
    expect(graphLine).toMatchObject({ status: 502, error: 'entra_rejected', function_name: 'broker-token', runtime: 'local' });

    const audit = lines.filter((line) => line.message === 'token served');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      alias: 'graph',
      cache: 'exchange',
      apiRequestId: served.headers.get('apigw-requestid'),
      uti: 'm4xTQZ2KvUuhC3hMnQ0AAA',
    });
    expect(new Set(lines.map((line) => line.function_request_id)).size).toBe(lines.length);
    expect(storage.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(JSON.stringify(lines)).not.toContain(ACCESS_TOKEN);
  });

  it("puts the request's id on the runtime's own lines too, such as a refused signature", async () => {
    const { runtime, requestLines } = await start({ localCredentials: true });
    const refused = await fetch(`${runtime.url}/token/graph`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/garbage' },
    });
    expect(refused.status).toBe(403);
    const lines = requestLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      message: 'request refused: SigV4 check failed',
      function_name: 'broker-local-runtime',
      function_request_id: expect.stringMatching(UUID),
      runtime: 'local',
      service: 'aws-azure-token-broker',
    });
    expect(JSON.stringify(lines)).not.toContain('local-secret-key-value');
  });
});

describe('local runtime Host check (DNS rebinding)', () => {
  it.each(['attacker.example', 'attacker.example:8787', '127.0.0.1.nip.io', 'localhost.attacker.example', '10.0.0.5', 'evil@127.0.0.1'])(
    'refuses Host %j on every route with 403 and a warning, before any handler runs',
    async (host) => {
      const entra = slowEntra();
      const { runtime, requestLines } = await start({ fetch: entra.fetch });
      for (const path of ['/token/graph', '/jwks', '/.well-known/openid-configuration']) {
        const refused = await getWithHost(`${runtime.url}${path}`, host);
        expect(refused.status).toBe(403);
        expect(JSON.parse(refused.body)).toStrictEqual({
          message:
            'Forbidden: the local runtime answers only requests addressed to 127.0.0.1, localhost or [::1] (or to the configured issuer)',
        });
      }
      const lines = requestLines();
      expect(lines).toHaveLength(3);
      for (const line of lines) {
        expect(line).toMatchObject({ level: 'WARN', message: 'request refused: Host is not a loopback name or address (DNS rebinding?)' });
      }
    },
  );

  it('serves loopback names and addresses with any port, and the configured issuer host', async () => {
    const { runtime } = await start({ issuer: 'https://broker-tunnel.example.net' });
    const port = new URL(runtime.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST`, `[::1]:${port}`, `127.0.0.1`, 'broker-tunnel.example.net']) {
      expect((await getWithHost(`${runtime.url}/jwks`, host)).status, host).toBe(200);
    }
    expect((await getWithHost(`${runtime.url}/jwks`, 'broker-tunnel.example.net:8443')).status).toBe(403);
    expect((await getWithHost(`${runtime.url}/jwks`, 'other-tunnel.example.net')).status).toBe(403);
  });
});

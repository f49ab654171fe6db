/**
 * The client against the real local runtime with `localCredentials`: every /token call is checked for a
 * SigV4 signature made with those keys, as API Gateway's IAM authorization checks it.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fetchBrokerToken } from '../../client/broker-client';
import { BrokerCredential } from '../../client/broker-credential';
import { EXIT } from '../../client/cli';
import { signRequest } from '../../client/sign-request';
import type { EntraEmulator } from '../../local/entra-emulator/emulator';
import { brokerLogLines, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { startEntraTrustingBroker } from '../support/entra-trusting-broker';

const run = promisify(execFile);
const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const GRAPH = 'https://graph.microsoft.com/.default';
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDLOCALTEST000001', secretAccessKey: 'local-test-secret-key-0123456789abcdefghij' };

let entra: EntraEmulator;
let broker: BrokerProcess;
const servedTokens: string[] = [];

beforeAll(async () => {
  const port = await reservePort();
  entra = await startEntraTrustingBroker(port, { tenantId: TENANT, clientId: CLIENT });
  broker = await startBroker(
    {
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { graph: GRAPH, storage: 'https://storage.azure.com/.default' },
      authorityHost: entra.url,
      region: REGION,
      localCredentials: credentials,
    },
    port,
  );
});

afterAll(async () => {
  await broker?.stop();
  await entra?.close();
});

const signedHeaders = (path: string, now = Date.now(), creds = credentials) =>
  signRequest({ method: 'GET', url: new URL(`${broker.url}${path}`), region: REGION, service: 'execute-api', credentials: creds, now });

describe('SigV4 on the local runtime', () => {
  it('serves a token to a request signed with the configured credentials', async () => {
    const token = await fetchBrokerToken({ url: broker.url, alias: 'graph', region: REGION, credentials, identify: false });
    servedTokens.push(token.accessToken);
    expect(token).toMatchObject({ tokenType: 'Bearer', scope: GRAPH });
    expect(token.expiresIn).toBeGreaterThan(3000);
  });

  it('answers 403 {"message":"Forbidden"} to a wrong secret, and the client says forbidden', async () => {
    const wrong = { ...credentials, secretAccessKey: 'not-the-secret' };
    await expect(
      fetchBrokerToken({ url: broker.url, alias: 'graph', region: REGION, credentials: wrong, identify: false }),
    ).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('/token/graph'),
    });
    const response = await fetch(`${broker.url}/token/graph`, { headers: await signedHeaders('/token/graph', Date.now(), wrong) });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('refuses a valid signature replayed on another path', async () => {
    const headers = await signedHeaders('/token/graph');
    expect((await fetch(`${broker.url}/token/graph`, { headers })).status).toBe(200);
    expect((await fetch(`${broker.url}/token/storage`, { headers })).status).toBe(403);
  });

  it('refuses a signature dated more than 5 minutes ago', async () => {
    const headers = await signedHeaders('/token/graph', Date.now() - 6 * 60_000);
    expect((await fetch(`${broker.url}/token/graph`, { headers })).status).toBe(403);
  });

  it('refuses an unsigned request but keeps discovery and JWKS public', async () => {
    expect((await fetch(`${broker.url}/token/graph`)).status).toBe(403);
    expect((await fetch(`${broker.url}/.well-known/openid-configuration`)).status).toBe(200);
    expect((await fetch(`${broker.url}/jwks`)).status).toBe(200);
  });
});

describe('BrokerCredential on the local runtime', () => {
  it('caches, and shares one request among concurrent callers', async () => {
    let requests = 0;
    const countingFetch = (input: string, init?: RequestInit) => (requests++, fetch(input, init));
    const credential = new BrokerCredential({
      url: broker.url,
      scopes: { [GRAPH]: 'graph' },
      region: REGION,
      credentials,
      fetch: countingFetch,
      identify: false,
    });

    const concurrent = await Promise.all(Array.from({ length: 10 }, () => credential.getToken(GRAPH)));
    const later = await credential.getToken(GRAPH);

    expect(requests).toBe(1);
    expect(new Set([...concurrent, later].map((t) => t.token)).size).toBe(1);
    expect(later.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    servedTokens.push(later.token);
  });
});

describe('broker-token CLI on the local runtime', () => {
  // The built CLI, as the package installs it (test/support/package-global-setup.ts).
  const { workloadDir, bins } = inject('builtPackage');
  const cli = (args: string[], secret = credentials.secretAccessKey, region = REGION) =>
    run(process.execPath, [bins['broker-token']!, ...args], {
      cwd: workloadDir,
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: secret,
        AWS_REGION: region,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
    );

  it('prints the bare token, signed with the default credential chain', async () => {
    const { code, stdout, stderr } = await cli(['graph', '--url', broker.url]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
    servedTokens.push(stdout.trim());
  });

  it('exits 4 when IAM (here: the SigV4 check) refuses, without printing a token', async () => {
    const { code, stdout, stderr } = await cli(['graph', '--url', broker.url], 'wrong-secret');
    expect(code).toBe(EXIT.forbidden);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^broker-token: .*forbidden|Forbidden|403/i);
  });

  it('exits 3 for an alias the broker does not serve', async () => {
    const { code, stderr } = await cli(['keyvault', '--url', broker.url]);
    expect(code).toBe(EXIT.unknownAlias);
    expect(stderr).toContain('keyvault');
  });

  it('exits 2, sending nothing, for a region that is not a region name (from --region or AWS_REGION)', async () => {
    let requests = 0;
    const listener = createServer((_request, response) => {
      requests++;
      response.writeHead(500).end();
    });
    await new Promise<void>((ready) => listener.listen(0, '127.0.0.1', ready));
    const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    try {
      const flag = await cli(['graph', '--url', url, '--region', 'attacker.example/x']);
      expect(flag).toMatchObject({ code: EXIT.usage, stdout: '' });
      expect(flag.stderr).toBe(
        'broker-token: The region from --region is not an AWS region name such as eu-west-1 (received "attacker.example/x"); nothing was sent.\n',
      );
      const env = await cli(['graph', '--url', url], credentials.secretAccessKey, 'sts.attacker.example#');
      expect(env).toMatchObject({ code: EXIT.usage, stdout: '' });
      expect(env.stderr).toMatch(/^broker-token: The region from AWS_REGION is not an AWS region name/);
      expect(requests).toBe(0);
    } finally {
      await new Promise((closed) => listener.close(closed));
    }
  });

  it('exits 2 for an http:// broker URL that is not loopback: the signed request and the token would cross the network in clear', async () => {
    const { code, stdout, stderr } = await cli(['graph', '--url', 'http://broker.example.com']);
    expect({ code, stdout }).toEqual({ code: EXIT.usage, stdout: '' });
    expect(stderr).toBe(
      'broker-token: The broker URL is not usable: expected an https:// URL (the answer carries an access token), received "http://broker.example.com".\n',
    );
  });

  it("gets no more than Entra's 28-hour maximum when Entra's answer claims more: the broker caps it (the client would refuse it)", async () => {
    entra.setTokenLifetime(29 * 3600);
    try {
      const { code, stdout } = await cli(['storage', '--url', broker.url, '--json']);
      expect(code).toBe(EXIT.ok);
      const answer = JSON.parse(stdout) as { expires_in: number; expires_on: number };
      expect(answer.expires_in).toBeLessThanOrEqual(28 * 3600);
      expect(answer.expires_on - Date.now() / 1000).toBeLessThanOrEqual(28 * 3600 + 5);
    } finally {
      entra.setTokenLifetime(3599);
    }
  });
});

describe('secrets', () => {
  it('keeps tokens, signatures and the secret key out of the broker log', () => {
    const log = brokerLogLines.join('\n');
    expect(servedTokens.length).toBeGreaterThanOrEqual(3);
    for (const token of servedTokens) expect(log).not.toContain(token);
    expect(log).not.toContain(credentials.secretAccessKey);
    expect(log).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(log).not.toMatch(/AWS4-HMAC-SHA256/);
  });
});

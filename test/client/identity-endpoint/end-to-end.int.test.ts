/**
 * End to end with no stand-in for the broker: an unchanged Python program (`DefaultAzureCredential()`, the real
 * azure-identity) gets a token through the identity endpoint from the local runtime as a process (SigV4 required
 * with `localCredentials`), which got it from the Entra emulator with a client assertion it signed. The token is
 * verified against the emulator's published keys.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBrokerToken } from '../../../client/broker-client';
import { startIdentityEndpoint, type IdentityEndpoint } from '../../../client/identity-endpoint/identity-endpoint';
import type { EntraEmulator } from '../../../local/entra-emulator/emulator';
import { reservePort, startBroker, type BrokerProcess } from '../../support/broker-process';
import { SDK_CACHE, SDK_DIR, runProbe, sha256 } from './sdk-cases';
import { startEntraTrustingBroker } from '../../support/entra-trusting-broker';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDLOCALTEST000002', secretAccessKey: 'local-test-secret-key-identity-endpoint-0' };
const python = join(SDK_CACHE, 'python-venv/bin/python');

let entra: EntraEmulator;
let broker: BrokerProcess;
let endpoint: IdentityEndpoint;
let home: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'identity-endpoint-e2e-'));
  const port = await reservePort();
  entra = await startEntraTrustingBroker(port, { tenantId: TENANT, clientId: CLIENT });
  broker = await startBroker(
    {
      tenantId: TENANT,
      clientId: CLIENT,
      scopes: { storage: 'https://storage.azure.com/.default' },
      authorityHost: entra.url,
      region: REGION,
      localCredentials: credentials,
    },
    port,
  );
  endpoint = await startIdentityEndpoint({
    brokerUrl: broker.url,
    resources: { 'https://storage.azure.com': 'storage' },
    region: REGION,
    credentials,
    identify: false,
  });
});

afterAll(async () => {
  await endpoint?.close();
  await broker?.stop();
  await entra?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('Python DefaultAzureCredential → identity endpoint → local broker → Entra emulator', () => {
  it('gets the Entra token for the resource, as issued by Entra to the broker', async () => {
    const result = await runProbe(
      { name: 'python', command: [python, join(SDK_DIR, 'python/probe.py')], requires: [python] },
      ['default', 'https://storage.azure.com/.default'],
      {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        IDENTITY_ENDPOINT: endpoint.url,
        IDENTITY_HEADER: endpoint.identityHeader,
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { sha256: string; expires_on: number };

    // The broker serves its cached token until the refresh margin: the one the endpoint handed to Python.
    const token = await fetchBrokerToken({ url: broker.url, alias: 'storage', region: REGION, credentials, identify: false });
    expect(printed).toEqual({ sha256: sha256(token.accessToken), expires_on: token.expiresOn });
    const keys = createRemoteJWKSet(new URL(entra.jwksUri(TENANT)));
    const { payload } = await jwtVerify(token.accessToken, keys, {
      issuer: `https://sts.windows.net/${TENANT}/`,
      audience: 'https://storage.azure.com',
    });
    expect(payload.appid).toBe(CLIENT);
    expect(entra.countsFor(CLIENT, 'https://storage.azure.com/.default')).toEqual({ attempts: 1, exchanges: 1 });
  });
});

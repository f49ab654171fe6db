/**
 * The local runtime with `endpoint: {"type": "private"}`: the token routes move under the private REST API's stage
 * (`/broker/token/{alias}`, as a private API's URL has its stage) and reach the same token function as REST API
 * (payload 1.0) events; discovery and JWKS stay at the root, where Entra reads them. The client signs for the stage
 * path, as it would against `https://{apiId}.execute-api.{region}.amazonaws.com/broker`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBrokerToken } from '../../client/broker-client';
import { BrokerCredential } from '../../client/broker-credential';
import { signRequest } from '../../client/sign-request';
import type { EntraEmulator } from '../../local/entra-emulator/emulator';
import { reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { startEntraTrustingBroker } from '../support/entra-trusting-broker';

const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const GRAPH = 'https://graph.microsoft.com/.default';
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDLOCALTEST000002', secretAccessKey: 'local-test-secret-key-private-0123456789' };

let entra: EntraEmulator;
let broker: BrokerProcess;
let tokenBase: string;

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
      endpoint: { type: 'private', vpcEndpointIds: ['vpce-0123456789abcdef0'] },
    },
    port,
  );
  tokenBase = `${broker.url}/broker`;
});

afterAll(async () => {
  await broker?.stop();
  await entra?.close();
});

/** The JSON log lines of the broker process. */
const jsonLines = () => broker.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('local runtime, private endpoint', () => {
  it('announces the private token API under its stage', () => {
    expect(broker.stdoutLines).toContain(`private token API ${tokenBase}`);
  });

  it('serves a token at the stage path to the client, which signs for that path (Entra verified the assertion)', async () => {
    const token = await fetchBrokerToken({ url: tokenBase, alias: 'graph', region: REGION, credentials, identify: false });
    expect(token).toMatchObject({ tokenType: 'Bearer', scope: GRAPH });
    expect(token.accessToken).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const credential = new BrokerCredential({ url: tokenBase, scopes: { [GRAPH]: 'graph' }, region: REGION, credentials, identify: false });
    const viaSdk = await credential.getToken(GRAPH);
    expect(viaSdk?.token).toBe(token.accessToken);
  });

  it('audits the token with the caller the REST event carried in requestContext.identity', async () => {
    await fetchBrokerToken({ url: tokenBase, alias: 'storage', region: REGION, credentials, identify: false });
    const audit = jsonLines().filter((line) => line.message === 'token served' && line.alias === 'storage');
    expect(audit.at(-1)).toMatchObject({ callerArn: 'arn:aws:iam::000000000000:user/local', callerAccount: '000000000000' });
  });

  it('answers 404 unknown_scope through the REST catch-all, naming the alias', async () => {
    const url = new URL(`${tokenBase}/token/keyvault`);
    const headers = await signRequest({ method: 'GET', url, region: REGION, service: 'execute-api', credentials, now: Date.now() });
    const response = await fetch(url, { headers });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'unknown_scope', alias: 'keyvault' });
  });

  it('refuses an unsigned request as API Gateway IAM authorization does', async () => {
    const response = await fetch(`${tokenBase}/token/graph`);
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ message: 'Forbidden' });
  });

  it('has no token route at the root any more: the public API serves discovery and JWKS only', async () => {
    const url = new URL(`${broker.url}/token/graph`);
    const headers = await signRequest({ method: 'GET', url, region: REGION, service: 'execute-api', credentials, now: Date.now() });
    const response = await fetch(url, { headers });
    expect(response.status).toBe(404);
    const discovery = await fetch(`${broker.url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(await discovery.json()).toMatchObject({ issuer: broker.url, jwks_uri: `${broker.url}/jwks` });
  });
});

/**
 * Signer "aws-sts" end to end on real local parts: the broker as a process (`npm start`'s command) runs the local STS
 * outbound-federation stand-in and asks it for every assertion through the real STS client; the Entra emulator
 * (jsonwebtoken, not jose) validates those assertions as Entra does, fetching the stand-in's discovery and JWKS.
 * The cache is DynamoDB Local, sealed, as with the kms signer.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { LOCAL_TOKEN_ROLE_ARN } from '../../local/runtime/local-runtime';
import { brokerLogLines, getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { uniqueTableName } from '../support/dynamodb';

const TENANT = '11111111-1111-1111-1111-111111111111';
const APP = '22222222-2222-2222-2222-222222222222';
const OTHER_APP = '33333333-3333-3333-3333-333333333333';
const GRAPH = 'https://graph.microsoft.com/.default';
const AUDIENCE = 'api://AzureADTokenExchange';

let entra: EntraEmulator;
let broker: BrokerProcess;
let awsIssuer: string;

/** The value of a `<prefix> <value>` line the broker printed on stdout. */
async function printed(prefix: string): Promise<string | undefined> {
  for (let i = 0; i < 50; i++) {
    const line = broker.lines.find((l) => l.startsWith(`${prefix} `));
    if (line) return line.slice(prefix.length + 1).trim();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

beforeAll(async () => {
  const [brokerPort, issuerPort] = [await reservePort(), await reservePort()];
  awsIssuer = `http://127.0.0.1:${issuerPort}`;
  entra = await startEntraEmulator({
    apps: [
      // What the stack's FederatedCredentialCommand output creates: AWS's issuer, the token role's ARN, the audience.
      {
        tenantId: TENANT,
        clientId: APP,
        federatedCredentials: [{ issuer: awsIssuer, subject: LOCAL_TOKEN_ROLE_ARN, audiences: [AUDIENCE] }],
      },
      // A credential for another role of the same issuer: Entra must refuse this broker's assertions for it.
      {
        tenantId: TENANT,
        clientId: OTHER_APP,
        federatedCredentials: [{ issuer: awsIssuer, subject: 'arn:aws:iam::000000000000:role/someone-else', audiences: [AUDIENCE] }],
      },
    ],
  });
  broker = await startBroker(
    {
      tenantId: TENANT,
      clientId: APP,
      scopes: { graph: GRAPH, other: { scope: GRAPH, clientId: OTHER_APP } },
      authorityHost: entra.url,
      signer: 'aws-sts',
      issuer: awsIssuer,
      assertionLifetimeSeconds: 120,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
      tableName: uniqueTableName('e2e-sts'),
    },
    brokerPort,
  );
});

afterAll(async () => {
  await broker?.stop();
  await entra?.close();
});

describe('the local runtime with signer "aws-sts"', () => {
  it('prints the stand-in issuer and the role ARN Entra must trust', async () => {
    expect(await printed('aws issuer')).toBe(awsIssuer);
    expect(await printed('aws subject')).toBe(LOCAL_TOKEN_ROLE_ARN);
  });

  it('serves no discovery document and no JWKS of its own; the stand-in serves both', async () => {
    expect((await getJson(`${broker.url}/.well-known/openid-configuration`)).status).toBe(404);
    expect((await getJson(`${broker.url}/jwks`)).status).toBe(404);
    const discovery = await getJson(`${awsIssuer}/.well-known/openid-configuration`);
    expect(discovery.body).toMatchObject({ issuer: awsIssuer, jwks_uri: `${awsIssuer}/.well-known/jwks.json` });
  });

  it('exchanges an STS-issued assertion at Entra, then serves the cached token', async () => {
    entra.resetCounters();
    const first = await getJson(`${broker.url}/token/graph`);
    expect(first.status, JSON.stringify({ body: first.body, entra: entra.lastError })).toBe(200);
    expect(first.body).toMatchObject({ token_type: 'Bearer', scope: GRAPH });
    expect(entra.requests.exchanges).toBe(1);
    // Entra read the issuer's discovery and keys to verify the assertion, as it reads AWS's.
    expect(entra.requests.issuerMetadataFetches).toBeGreaterThanOrEqual(1);

    const second = await getJson(`${broker.url}/token/graph`);
    expect(second.status).toBe(200);
    expect(second.body.access_token).toBe(first.body.access_token);
    expect(entra.requests.exchanges).toBe(1);
  });

  it("answers 502 entra_rejected when the app's credential names another role, with a hint naming this role's ARN", async () => {
    const answer = await getJson(`${broker.url}/token/other`);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'entra_rejected', aadsts: expect.stringMatching(/^AADSTS70021/) });
    expect(answer.body.message).toContain(LOCAL_TOKEN_ROLE_ARN);
    expect(answer.body.message).toContain(awsIssuer);
  });

  it('never writes an assertion or an access token to its output', () => {
    const jwtLike = /ey[\w-]{10,}\.ey[\w-]{10,}\.[\w-]{10,}/;
    expect(brokerLogLines.filter((line) => jwtLike.test(line))).toEqual([]);
  });
});

/**
 * The sealed token cache and the local runtime's guards, end to end: broker processes (`npm start`'s command) on
 * DynamoDB Local, the Entra emulator, and the table edited as someone with DynamoDB access would edit it.
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { brokerLogLines, getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';
import { getWithHost } from '../support/get-with-host';

const TENANT = '11111111-1111-1111-1111-111111111111';
const APP = '22222222-2222-2222-2222-222222222222';
const GRAPH = 'https://graph.microsoft.com/.default';
const STORAGE = 'https://storage.azure.com/.default';
const dynamodbEndpoint = inject('dynamodbEndpoint');
const dynamodb = localDynamoDbClient(dynamodbEndpoint);

let entra: EntraEmulator;
let ports: number[];
const running: BrokerProcess[] = [];
const served: string[] = [];

const configFor = (tableName: string) => ({
  tenantId: TENANT,
  clientId: APP,
  scopes: { graph: GRAPH, storage: STORAGE },
  authorityHost: entra.url, // a loopback emulator: open mode is allowed
  dynamodbEndpoint,
  tableName,
});

async function start(tableName: string, port: number): Promise<BrokerProcess> {
  const broker = await startBroker(configFor(tableName), port);
  running.push(broker);
  return broker;
}

async function token(broker: BrokerProcess, alias: string) {
  const answer = await getJson(`${broker.url}/token/${alias}`);
  if (answer.status === 200) served.push(answer.body.access_token as string);
  return answer;
}

async function scan(tableName: string): Promise<Record<string, AttributeValue>[]> {
  return (await dynamodb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items ?? [];
}

const tokenItems = async (tableName: string) => (await scan(tableName)).filter((item) => item.pk?.S?.startsWith('token#'));

/** Entra's own signature on a token it issued, for the expected resource. */
async function expectGenuine(accessToken: string, audience: string): Promise<void> {
  const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(entra.jwksUri(TENANT))));
  expect(payload).toMatchObject({ aud: audience, appid: APP, tid: TENANT });
}

beforeAll(async () => {
  ports = await Promise.all(Array.from({ length: 8 }, () => reservePort()));
  entra = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: APP,
        federatedCredentials: ports.map((port) => ({
          issuer: `http://127.0.0.1:${port}`,
          subject: 'aws-token-broker',
          audiences: ['api://AzureADTokenExchange'],
        })),
      },
    ],
  });
});

afterAll(async () => {
  await Promise.all(running.map((broker) => broker.stop()));
  await entra?.close();
  dynamodb.destroy();
});

describe('the token cache table', () => {
  const tableName = uniqueTableName('sealed');

  it('holds no token after one was served: only sealed bytes and a TTL', async () => {
    const broker = await start(tableName, ports[0]!);
    const answer = await token(broker, 'graph');
    expect(answer.status).toBe(200);
    const accessToken = answer.body.access_token as string;
    const { uti } = decodeJwt(accessToken) as { uti: string };

    const items = await scan(tableName);
    const [item] = await tokenItems(tableName);
    expect(Object.keys(item!).sort()).toEqual(['pk', 'sealed', 'ttl']);
    expect(Number(item!.ttl!.N)).toBe(answer.body.expires_on);
    // No token, no part of one, no JWT at all, in any encoding a scan could show.
    const views = items.flatMap((scanned) =>
      Object.values(scanned).map((value) =>
        value.B ? Buffer.from(value.B).toString('latin1') + Buffer.from(value.B).toString('base64') : JSON.stringify(value),
      ),
    );
    for (const view of views) {
      expect(view).not.toContain(accessToken.split('.')[1]!.slice(0, 24));
      expect(view).not.toContain(accessToken.split('.')[2]!.slice(0, 24));
      expect(view).not.toContain(uti);
      expect(view).not.toMatch(/eyJ[\w-]{10,}/);
    }
  });

  it('treats an item with every attribute overwritten as a miss: a fresh process exchanges once and serves a real token', async () => {
    const [original] = await tokenItems(tableName);
    const overwritten = { pk: original!.pk!, sealed: { B: randomBytes(original!.sealed!.B!.length) }, ttl: { N: '4102444800' } };
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: overwritten }));
    await Promise.all(running.splice(0).map((broker) => broker.stop()));

    entra.resetCounters();
    const fresh = await start(tableName, ports[1]!);
    const answer = await token(fresh, 'graph');
    expect(answer.status).toBe(200);
    expect(entra.countsFor(APP, GRAPH).exchanges).toBe(1);
    await expectGenuine(answer.body.access_token as string, 'https://graph.microsoft.com');
    const warnings = fresh.lines.filter((line) => line.includes('rejected a cached token item'));
    expect(warnings).toHaveLength(1);
    // Random bytes: whichever check they fail first (version, length, KMS-style unwrap, or AES-GCM).
    expect(JSON.parse(warnings[0]!)).toMatchObject({
      level: 'WARN',
      reason: expect.stringMatching(/^(malformed|unsupported-version|data-key-rejected|not-authentic)$/),
    });

    // The garbage was replaced by a good sealed item: the next fresh process opens it, no exchange.
    const [replaced] = await tokenItems(tableName);
    expect(Buffer.from(replaced!.sealed!.B!)).not.toEqual(Buffer.from(overwritten.sealed.B));
    entra.resetCounters();
    const next = await start(tableName, ports[2]!);
    const again = await token(next, 'graph');
    expect(again.body.access_token).toBe(answer.body.access_token);
    expect(entra.requests.attempts).toBe(0);
  });

  it('serves neither of two items swapped between aliases: each alias exchanges for its own token', async () => {
    const [running1] = running;
    expect((await token(running1!, 'storage')).status).toBe(200);
    const items = await tokenItems(tableName);
    expect(items).toHaveLength(2);
    const [a, b] = items as [Record<string, AttributeValue>, Record<string, AttributeValue>];
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...a, sealed: b.sealed!, ttl: b.ttl! } }));
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: { ...b, sealed: a.sealed!, ttl: a.ttl! } }));
    await Promise.all(running.splice(0).map((broker) => broker.stop()));

    entra.resetCounters();
    const fresh = await start(tableName, ports[3]!);
    const graph = await token(fresh, 'graph');
    const storage = await token(fresh, 'storage');
    expect([graph.status, storage.status]).toEqual([200, 200]);
    await expectGenuine(graph.body.access_token as string, 'https://graph.microsoft.com');
    await expectGenuine(storage.body.access_token as string, 'https://storage.azure.com');
    expect([entra.countsFor(APP, GRAPH).exchanges, entra.countsFor(APP, STORAGE).exchanges]).toEqual([1, 1]);
    expect(fresh.lines.filter((line) => line.includes('rejected a cached token item'))).toHaveLength(2);
  });
});

describe('three processes starting at once on one table', () => {
  it('share the generated sealing key: a burst of cold requests across them costs one exchange', async () => {
    const tableName = uniqueTableName('stampede');
    const brokers = await Promise.all(ports.slice(5, 8).map((port) => startBroker(configFor(tableName), port)));
    running.push(...brokers);
    entra.resetCounters();
    entra.injectFault({ delayMs: 300, times: 30 }); // a slow Entra: every process misses while the first exchanges
    const answers = await Promise.all(brokers.flatMap((broker) => Array.from({ length: 5 }, () => token(broker, 'graph'))));
    entra.clearFaults();

    expect(answers.map((answer) => answer.status)).toEqual(Array(15).fill(200));
    expect(new Set(answers.map((answer) => answer.body.access_token)).size).toBe(1);
    expect(entra.countsFor(APP, GRAPH).exchanges).toBe(1);
    for (const broker of brokers) expect(broker.lines.join('\n')).not.toContain('rejected a cached token item');
  });
});

describe('the local runtime and its Host header', () => {
  it('refuses a foreign Host on the token route and the public routes, and serves 127.0.0.1', async () => {
    const [broker] = running;
    for (const path of ['/token/graph', '/jwks', '/.well-known/openid-configuration']) {
      const refused = await getWithHost(`${broker!.url}${path}`, 'attacker.example');
      expect(refused.status).toBe(403);
      expect(refused.body).not.toMatch(/eyJ|access_token/);
    }
    expect((await getWithHost(`${broker!.url}/token/graph`, new URL(broker!.url).host)).status).toBe(200);
  });
});

describe('secrets', () => {
  it('never writes a token to any broker log', () => {
    expect(served.length).toBeGreaterThan(5);
    const log = brokerLogLines.join('\n');
    for (const issued of served) expect(log).not.toContain(issued);
    expect(log).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});

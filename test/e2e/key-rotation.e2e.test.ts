/**
 * Keys that rotate themselves, end to end: two broker processes (`npm start`'s command) on one DynamoDB Local table
 * and one signingKeyDir, rotating every 15 seconds, against the Entra emulator caching each issuer's discovery and
 * JWKS without refetching on an unknown kid (the strict behaviour a rotation must survive: publish first, sign later).
 * Dozens of exchanges across several rotations: none refused, the JWKS stays small, retired keys are deleted.
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KEY_ROTATION_ITEM } from '../../contract/aws-names';
import { parseRotationState } from '../../contract/key-rotation-state';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { brokerLogLines, getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

const TENANT = '11111111-1111-1111-1111-111111111111';
const APP = '22222222-2222-2222-2222-222222222222';
const SCOPES = { graph: 'https://graph.microsoft.com/.default', storage: 'https://storage.azure.com/.default' };
const ROTATION = { intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 };
/** Shorter than the lead minus what the brokers add (state kept 1 s, JWKS max-age 0): the rule the rotation keeps. */
const ENTRA_JWKS_CACHE_SECONDS = 4;
const RUN_MS = 50_000;

const dynamodbEndpoint = inject('dynamodbEndpoint');
const dynamodb = localDynamoDbClient(dynamodbEndpoint);
const tableName = uniqueTableName('rotation-e2e');
const signingKeyDir = join(mkdtempSync(join(tmpdir(), 'broker-rotation-')), 'keys');
let entra: EntraEmulator;
const brokers: BrokerProcess[] = [];

const emulators: EntraEmulator[] = [];

/** The Entra emulator and two brokers on one table and key folder, both presenting the first one's URL as issuer. */
async function startWorld(options: { entraCacheSeconds: number; tableName: string; signingKeyDir: string }) {
  const [portA, portB] = [await reservePort(), await reservePort()];
  const issuer = `http://127.0.0.1:${String(portA)}`;
  const emulator = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: APP,
        federatedCredentials: [{ issuer, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] }],
      },
    ],
    // Short-lived tokens, so that nearly every few requests make a real exchange (a new assertion).
    tokenLifetimeSeconds: 2,
    issuerMetadataCache: { seconds: options.entraCacheSeconds, refetchOnUnknownKid: false },
  });
  emulators.push(emulator);
  const config = {
    tenantId: TENANT,
    clientId: APP,
    scopes: SCOPES,
    authorityHost: emulator.url,
    // Both stand behind one issuer, as a deployment's functions do; A serves what Entra reads, from the shared state.
    issuer,
    dynamodbEndpoint,
    tableName: options.tableName,
    signingKeyDir: options.signingKeyDir,
    keyRotation: ROTATION,
  };
  const pair = [await startBroker(config, portA), await startBroker(config, portB)];
  brokers.push(...pair);
  return { emulator, pair };
}

beforeAll(async () => {
  const world = await startWorld({ entraCacheSeconds: ENTRA_JWKS_CACHE_SECONDS, tableName, signingKeyDir });
  entra = world.emulator;
}, 60_000);

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.stop()));
  await Promise.all(emulators.map((emulator) => emulator.close()));
  dynamodb.destroy();
});

async function rotationState() {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: KEY_ROTATION_ITEM.partitionKey } }, ConsistentRead: true }),
  );
  return parseRotationState(Item?.[KEY_ROTATION_ITEM.stateAttribute]?.S ?? '{"keys":[]}');
}

describe('key rotation across two local brokers on one table', () => {
  it(
    'serves every request through several rotations: no exchange refused, the JWKS bounded, retired keys deleted',
    async () => {
      const statuses: number[] = [];
      const jwksSizes: number[] = [];
      const kids = new Set<string>();
      const cacheControls = new Set<string>();
      const started = Date.now();
      let i = 0;
      while (Date.now() - started < RUN_MS) {
        const broker = brokers[i % 2]!;
        const alias = i % 4 < 2 ? 'graph' : 'storage';
        const [answer, jwks] = await Promise.all([getJson(`${broker.url}/token/${alias}`), getJson(`${brokers[0]!.url}/jwks`)]);
        statuses.push(answer.status);
        if (answer.status !== 200) throw new Error(`request ${String(i)} refused: ${answer.text}`);
        const keys = (jwks.body as { keys: Array<{ kid: string }> }).keys;
        jwksSizes.push(keys.length);
        for (const key of keys) kids.add(key.kid);
        cacheControls.add(jwks.headers.get('cache-control') ?? '');
        i += 1;
        await new Promise((done) => setTimeout(done, 150));
      }
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(entra.lastError).toBeUndefined();
      expect(entra.requests.attempts).toBe(entra.requests.exchanges);
      expect(entra.requests.exchanges).toBeGreaterThanOrEqual(24);
      // The strict cache was in use: far fewer metadata fetches than exchanges.
      expect(entra.requests.issuerMetadataFetches).toBeLessThan(entra.requests.exchanges);
      // At least three rotations: the initial key and three more were published.
      expect(kids.size).toBeGreaterThanOrEqual(4);
      // Active, next and the one retired within retireAfterSeconds, never more.
      expect(Math.max(...jwksSizes)).toBeLessThanOrEqual(3);
      expect(Math.min(...jwksSizes)).toBeGreaterThanOrEqual(1);
      expect([...cacheControls]).toEqual(['public, max-age=0']);

      const state = await rotationState();
      expect(state.keys.filter((key) => key.status === 'active')).toHaveLength(1);
      expect(state.keys.filter((key) => key.status === 'deletion-scheduled').length).toBeGreaterThanOrEqual(2);
      for (const key of state.keys.filter((k) => k.activatedAt !== undefined && k.reason === 'schedule')) {
        expect(key.activatedAt! - key.publishedAt).toBeGreaterThanOrEqual(ROTATION.publishLeadSeconds);
      }
      // Deleted keys are gone from the folder; what is left is private.
      const files = readdirSync(signingKeyDir).filter((name) => name.endsWith('.pem'));
      expect(files.length).toBeLessThanOrEqual(3 + 1); // + a key one process may be creating in vain right now
      expect(statSync(signingKeyDir).mode & 0o777).toBe(0o700);
      for (const file of files) expect(statSync(join(signingKeyDir, file)).mode & 0o777).toBe(0o600);
    },
    RUN_MS + 30_000,
  );

  it('logs the rotation steps and never a key or an assertion', () => {
    const steps = brokerLogLines.filter((line) => line.includes('key rotation step'));
    expect(steps.some((line) => line.includes('"step":"activate"'))).toBe(true);
    expect(steps.some((line) => line.includes('"step":"schedule-deletion"'))).toBe(true);
    for (const line of brokerLogLines) {
      expect(line).not.toMatch(/PRIVATE KEY|eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    }
  });
});

describe('key rotation: the e2e can fail', () => {
  it('an Entra that keeps the JWKS longer than the whole interval refuses the second key with AADSTS7000272', async () => {
    // The emulator reads the JWKS once (before the next key exists) and keeps it 30 s, past the first activation (15 s).
    const world = await startWorld({
      entraCacheSeconds: 30,
      tableName: uniqueTableName('rotation-e2e-control'),
      signingKeyDir: join(mkdtempSync(join(tmpdir(), 'broker-rotation-control-')), 'keys'),
    });
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < 22_000) {
      await getJson(`${world.pair[i % 2]!.url}/token/graph`);
      i += 1;
      await new Promise((done) => setTimeout(done, 200));
    }
    await Promise.all(world.pair.map((broker) => broker.stop()));
    expect(world.emulator.requests.attempts).toBeGreaterThan(world.emulator.requests.exchanges);
    expect(world.emulator.lastError?.errorCode).toBe(7000272);
  }, 60_000);
});

/**
 * The security review's attack, end to end: a broker process rotating its keys (`signingKeyDir` + `keyRotation`) on
 * DynamoDB Local, and someone with PutItem on the table appending their own public key to the rotation state item,
 * published and due to activate, with the version bumped (the old MAC kept, or none). Before the state carried a MAC,
 * that key was served at /jwks within seconds and the next rotation step activated it. Now: it never appears at
 * /jwks, nothing is signed with it (Entra, which reads the JWKS, accepts every assertion), the rotation leaves the item
 * as the attacker wrote it, and the refusal is logged and counted.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KEY_ROTATION_ITEM } from '../../contract/aws-names';
import { parseRotationState, type RotationKey } from '../../contract/key-rotation-state';
import { rsaPublicKeyToJwk } from '../../lambda/core/jwk';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { getJson, reservePort, startBroker, type BrokerProcess } from '../support/broker-process';
import { localDynamoDbClient, uniqueTableName } from '../support/dynamodb';

const TENANT = '11111111-1111-1111-1111-111111111111';
const APP = '22222222-2222-2222-2222-222222222222';
const ROTATION = { intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 };
/** Longer than the lead (the attacker key is due at once) and several rotation ticks (1 s) and state reads (1 s). */
const WATCH_MS = 9_000;

const dynamodb = localDynamoDbClient(inject('dynamodbEndpoint'));
const brokers: BrokerProcess[] = [];
const emulators: EntraEmulator[] = [];

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.stop()));
  await Promise.all(emulators.map((emulator) => emulator.close()));
  dynamodb.destroy();
});

async function readItem(tableName: string): Promise<Record<string, AttributeValue>> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: KEY_ROTATION_ITEM.partitionKey } }, ConsistentRead: true }),
  );
  if (!Item) throw new Error('no rotation state item');
  return Item;
}

/** A broker rotating on its own table and key folder, trusted by the emulator, with one token served. */
async function rotatingBroker() {
  const port = await reservePort();
  const issuer = `http://127.0.0.1:${String(port)}`;
  const entra = await startEntraEmulator({
    apps: [
      {
        tenantId: TENANT,
        clientId: APP,
        federatedCredentials: [{ issuer, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] }],
      },
    ],
    // Short-lived tokens: most requests make a real exchange, with a freshly signed assertion.
    tokenLifetimeSeconds: 2,
  });
  emulators.push(entra);
  const folder = mkdtempSync(join(tmpdir(), 'broker-forgery-'));
  const stateKeyFile = join(folder, 'rotation-state-key');
  writeFileSync(stateKeyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const tableName = uniqueTableName('rotation-forgery');
  const signingKeyDir = join(folder, 'keys');
  const broker = await startBroker(
    {
      tenantId: TENANT,
      clientId: APP,
      scopes: { graph: 'https://graph.microsoft.com/.default' },
      authorityHost: entra.url,
      issuer,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
      tableName,
      signingKeyDir,
      rotationStateKeyFile: stateKeyFile,
      keyRotation: ROTATION,
    },
    port,
  );
  brokers.push(broker);
  expect((await getJson(`${broker.url}/token/graph`)).status).toBe(200);
  return { broker, entra, tableName, signingKeyDir };
}

describe.each(['the old MAC kept', 'no MAC'] as const)('a rotation state item forged with %s', (macCase) => {
  it(
    'never reaches /jwks or signing, is not activated by the rotation, and is logged and counted',
    async () => {
      const { broker, entra, tableName, signingKeyDir } = await rotatingBroker();
      const item = await readItem(tableName);
      const version = Number(item[KEY_ROTATION_ITEM.versionAttribute]?.N);
      const state = parseRotationState(item[KEY_ROTATION_ITEM.stateAttribute]?.S ?? '');
      const legitKids = state.keys.map((key) => key.jwk.kid);

      // The attacker's key, its private half even placed where the broker finds its keys: only the state decides.
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const attackerKeyId = `${randomUUID()}.pem`;
      writeFileSync(join(signingKeyDir, attackerKeyId), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
      const attackerJwk = await rsaPublicKeyToJwk(publicKey);
      const now = Math.floor(Date.now() / 1000);
      const attackerKey: RotationKey = {
        keyId: attackerKeyId,
        jwk: attackerJwk,
        status: 'published',
        reason: 'schedule',
        publishedAt: now - ROTATION.publishLeadSeconds,
        activatesAt: now,
      };
      const { [KEY_ROTATION_ITEM.macAttribute]: oldMac, ...rest } = item;
      const forged: Record<string, AttributeValue> = {
        ...rest,
        ...(macCase === 'no MAC' || !oldMac ? {} : { [KEY_ROTATION_ITEM.macAttribute]: oldMac }),
        [KEY_ROTATION_ITEM.versionAttribute]: { N: String(version + 1) },
        [KEY_ROTATION_ITEM.stateAttribute]: { S: JSON.stringify({ keys: [...state.keys, attackerKey] }) },
      };
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: forged }));
      entra.resetCounters();

      const seenKids = new Set<string>();
      const statuses: number[] = [];
      const started = Date.now();
      while (Date.now() - started < WATCH_MS) {
        const [jwks, token] = await Promise.all([getJson(`${broker.url}/jwks`), getJson(`${broker.url}/token/graph`)]);
        for (const key of (jwks.body as { keys: Array<{ kid: string }> }).keys) seenKids.add(key.kid);
        statuses.push(jwks.status, token.status);
        await new Promise((done) => setTimeout(done, 300));
      }

      expect(seenKids.has(attackerJwk.kid)).toBe(false);
      expect([...seenKids].every((kid) => legitKids.includes(kid))).toBe(true);
      expect(statuses.every((status) => status === 200)).toBe(true);
      // Every assertion Entra saw verified against the JWKS it read, which never held the attacker's key.
      expect(entra.requests.attempts).toBe(entra.requests.exchanges);
      expect(entra.lastError).toBeUndefined();
      // The rotation neither activated the attacker's key nor rewrote the item with a MAC of its own.
      expect(await readItem(tableName)).toEqual(forged);

      const entries = broker.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
      const refusals = entries.filter(
        (entry) => entry.message === 'refused the key rotation state item: it was not written by the broker, its keys are not used',
      );
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals[0]).toMatchObject({ level: 'WARN', reason: macCase === 'no MAC' ? 'no-mac' : 'mac-mismatch', version: version + 1 });
      const counted = entries
        .filter((entry) => '_aws' in entry)
        .flatMap((entry) => [entry.RotationStateRejected ?? []].flat())
        .reduce((sum: number, value) => sum + Number(value), 0);
      expect(counted).toBeGreaterThan(0);
      // No key material in what was logged about it.
      for (const line of broker.lines) {
        expect(line).not.toContain(attackerJwk.n);
        expect(line).not.toMatch(/PRIVATE KEY/);
      }
    },
    WATCH_MS + 30_000,
  );
});

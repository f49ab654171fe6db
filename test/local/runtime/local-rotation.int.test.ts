/**
 * The local rotation on DynamoDB Local when the state item does not verify with this process's rotation state key:
 * the case a developer meets (another process on the table with its own key file, or the default key file generated
 * again). The runtime does not start, and says which table and key file, and how to start afresh.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KEY_ROTATION_ITEM } from '../../../contract/aws-names';
import { parseLocalConfig } from '../../../local/runtime/local-config';
import { startLocalRuntime } from '../../../local/runtime/local-runtime';
import { getJson } from '../../support/broker-process';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { captureLogsForFile } from '../../support/log-capture';

const dynamodbEndpoint = inject('dynamodbEndpoint');
const dynamodb = localDynamoDbClient(dynamodbEndpoint);
const folder = mkdtempSync(join(tmpdir(), 'broker-local-rotation-'));
afterAll(() => {
  dynamodb.destroy();
  rmSync(folder, { recursive: true, force: true });
});
captureLogsForFile(); // the runtimes' lines, kept out of the test output

const stateKeyFile = (name: string): string => {
  const file = join(folder, name);
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  return file;
};

describe('local rotation: a state item written with another rotation state key', () => {
  it('refuses to start, naming the table, the key file and the way out; starts a new state once the item is gone', async () => {
    const tableName = uniqueTableName('local-rotation');
    const config = (rotationStateKeyFile: string) =>
      parseLocalConfig({
        tenantId: '11111111-1111-1111-1111-111111111111',
        clientId: '22222222-2222-2222-2222-222222222222',
        scopes: { graph: 'https://graph.microsoft.com/.default' },
        authorityHost: 'http://127.0.0.1:9',
        dynamodbEndpoint,
        tableName,
        signingKeyDir: join(folder, 'keys'),
        rotationStateKeyFile,
        keyRotation: { intervalSeconds: 3600, publishLeadSeconds: 600, retireAfterSeconds: 600 },
      });
    const first = await startLocalRuntime({ config: config(stateKeyFile('key-a')), port: 0 });
    const firstKids = ((await getJson(`${first.url}/jwks`)).body as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
    await first.close();
    expect(firstKids).toHaveLength(1);

    const otherKey = stateKeyFile('key-b');
    await expect(startLocalRuntime({ config: config(otherKey), port: 0 })).rejects.toThrow(
      new RegExp(
        `^the key rotation state item in table ${tableName} does not verify with rotationStateKeyFile ${otherKey} \\(mac-mismatch\\): .*` +
          'Use the key file it was written with, or delete the item \\(partition key "key-rotation#state"\\) or set a new tableName',
      ),
    );

    await dynamodb.send(new DeleteItemCommand({ TableName: tableName, Key: { pk: { S: KEY_ROTATION_ITEM.partitionKey } } }));
    const second = await startLocalRuntime({ config: config(otherKey), port: 0 });
    try {
      const jwks = await getJson(`${second.url}/jwks`);
      expect(jwks.status).toBe(200);
      const kids = (jwks.body as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
      expect(kids).toHaveLength(1);
      expect(kids).not.toEqual(firstKids);
    } finally {
      await second.close();
    }
  });
});

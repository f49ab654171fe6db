/**
 * Start-up against a slow or dead DynamoDB: the table is bootstrapped patiently (bounded), requests are
 * served with the Lambda's tight client. DynamoDB Local is the suite's; the slowness is a real TCP proxy.
 */
import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createDynamoDbClient } from '../../../lambda/adapters/aws-clients';
import { UpstreamUnavailableError } from '../../../lambda/core/errors';
import { freePort } from '../../../local/free-port';
import { ensureTokenTable } from '../../../local/runtime/ensure-table';
import { parseLocalConfig, type LocalConfig } from '../../../local/runtime/local-config';
import { startLocalRuntime } from '../../../local/runtime/local-runtime';
import { openTokenStore } from '../../../local/runtime/token-store';
import { localDynamoDbClient, uniqueTableName } from '../../support/dynamodb';
import { captureLogsForFile } from '../../support/log-capture';
import { startDelayingProxy, startSilentServer } from '../../support/tcp-proxy';

const dynamodbEndpoint = inject('dynamodbEndpoint');
const direct = localDynamoDbClient(dynamodbEndpoint);
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  direct.destroy();
});

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const logger = silent;
captureLogsForFile(); // the runtimes' lines, kept out of the test output
/** Longer than the serving client's 1 s request timeout. */
const DELAY_MS = 1_500;

const configFor = (endpoint: string, tableName: string): LocalConfig =>
  parseLocalConfig({
    tenantId: '11111111-1111-1111-1111-111111111111',
    clientId: '22222222-2222-2222-2222-222222222222',
    scopes: { graph: 'https://graph.microsoft.com/.default' },
    dynamodbEndpoint: endpoint,
    tableName,
    // Real Entra's authority: the runtime starts only behind a SigV4 check (no request is made here).
    localCredentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret-key-value' },
  });

async function failureOf(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, ms: Date.now() - started };
}

describe('start-up with a slow DynamoDB', () => {
  it('three runtimes start at once while every DynamoDB answer is held back 1.5 s (the Lambda client would time out)', async () => {
    const proxy = await startDelayingProxy(dynamodbEndpoint, DELAY_MS);
    cleanup.push(() => proxy.close());

    // What start-up did before: the serving client gives up on such a DynamoDB.
    const tight = createDynamoDbClient({
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const before = await failureOf(ensureTokenTable(tight, uniqueTableName('startup-control')));
    tight.destroy();
    expect((before.error as Error).message).toMatch(/^The token cache table "startup-control-\w+" is unavailable: timed out\.$/);

    const tableName = uniqueTableName('startup-slow');
    const started = Date.now();
    const runtimes = await Promise.all([1, 2, 3].map(() => startLocalRuntime({ config: configFor(proxy.url, tableName), port: 0 })));
    cleanup.push(() => Promise.all(runtimes.map((runtime) => runtime.close())));
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * DELAY_MS); // describe, create (or describe) ...: each held back

    for (const runtime of runtimes) expect((await fetch(`${runtime.url}/jwks`)).status).toBe(200);
    const { Table } = await direct.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    const { TimeToLiveDescription } = await direct.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(TimeToLiveDescription).toEqual({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
  }, 60_000);

  it('serves with the tight client: once started, a 1.5 s DynamoDB answer is a timeout within about 2 s', async () => {
    const proxy = await startDelayingProxy(dynamodbEndpoint, DELAY_MS);
    cleanup.push(() => proxy.close());
    const opened = await openTokenStore(configFor(proxy.url, uniqueTableName('startup-serving')), logger);
    cleanup.push(async () => {
      opened.close();
    });
    if (opened.kind !== 'dynamodb') throw new Error('expected the DynamoDB store');
    const store = opened.sealed;

    const { error, ms } = await failureOf(store.get('graph'));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toMatch(/timed out/);
    expect(ms).toBeLessThan(5_000); // 2 attempts of 1 s, not the start-up patience

    proxy.delayMs = 0;
    await expect(store.get('graph')).resolves.toBeUndefined();
  }, 60_000);
});

describe('start-up with a dead DynamoDB', () => {
  it('gives up on an endpoint that never answers when the bound passes, naming the table and the endpoint', async () => {
    const silent = await startSilentServer();
    cleanup.push(() => silent.close());

    const { error, ms } = await failureOf(openTokenStore(configFor(silent.url, 'never-answered'), logger, { startupTimeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe(
      `The token cache table "never-answered" at ${silent.url} is unavailable: no answer within 2000 ms, with retries.`,
    );
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(5_000);
  });

  it('reports a refused connection after its retries, naming the table and the endpoint', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const { error, ms } = await failureOf(openTokenStore(configFor(nobody, 'refused-table'), logger));
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect((error as Error).message).toBe(`The token cache table "refused-table" at ${nobody} is unavailable: connection refused.`);
    expect(ms).toBeLessThan(15_000);
  });
});

// Section 1: how many exchanges reach Entra when 150 cold requests for one scope hit 3 broker processes at once.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { DynamoDbLocal } from '../dynamodb-local/launcher';
import type { EntraEmulator } from '../entra-emulator/emulator';
import { startWorker, writeTempFile, writeTempJson } from './processes';

export const TENANT = '11111111-1111-1111-1111-111111111111';
export const CLIENT = '22222222-2222-2222-2222-222222222222';
export const GRAPH = 'https://graph.microsoft.com/.default';
/** Entra's token endpoint takes 100+ ms; the emulator answers in a few, so each exchange is slowed to this. */
export const ENTRA_LATENCY_MS = 150;

export interface ExchangeRun {
  readonly mode: 'coordinated' | 'uncoordinated';
  readonly exchanges: number;
  readonly ok: number;
  readonly failed: number;
  readonly wallMs: number;
}

/**
 * Runs the burst once in the given mode, on a fresh table, and counts exchanges at the emulator.
 * All processes present the first one's URL as issuer and sign with one key file: in a deployment they
 * stand behind one address and share one KMS key.
 */
export async function runExchangeBurst(
  mode: ExchangeRun['mode'],
  deps: { dynamodb: DynamoDbLocal; entra: EntraEmulator; ports: readonly number[]; requests: number },
): Promise<ExchangeRun> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = writeTempFile('key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const issuer = `http://127.0.0.1:${deps.ports[0]}`;
  const config = writeTempJson('config.json', {
    tenantId: TENANT,
    clientId: CLIENT,
    scopes: { graph: GRAPH },
    authorityHost: deps.entra.url,
    issuer,
    signingKeyFile: keyFile,
    dynamodbEndpoint: deps.dynamodb.endpoint,
    tableName: `bench-${mode}-${randomUUID().slice(0, 8)}`,
  });
  const workers = await Promise.all(deps.ports.map((port) => startWorker(config, port, mode)));
  try {
    deps.entra.resetCounters();
    deps.entra.clearFaults();
    deps.entra.injectFault({ delayMs: ENTRA_LATENCY_MS, times: deps.requests });
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: deps.requests }, (_, i) =>
        fetch(`${workers[i % workers.length]!.url}/token/graph`).then(async (r) => (await r.arrayBuffer(), r.status)),
      ),
    );
    const wallMs = performance.now() - started;
    deps.entra.clearFaults();
    const ok = statuses.filter((s) => s === 200).length;
    return { mode, exchanges: deps.entra.requests.exchanges, ok, failed: statuses.length - ok, wallMs };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

// Section "short-tokens": how many exchanges 70 requests cost when Entra issues 10-minute tokens (the shortest
// access-token lifetime a tenant can configure), over 3 broker processes sharing one table.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { DynamoDbLocal } from '../dynamodb-local/launcher';
import { startEntraEmulator } from '../entra-emulator/emulator';
import { CLIENT, ENTRA_LATENCY_MS, GRAPH, TENANT } from './exchanges';
import { startWorker, writeTempFile, writeTempJson } from './processes';

/** Entra's shortest configurable access-token lifetime: 10 minutes. */
export const TEN_MINUTES = 600;
export const SHORT_TOKEN_REQUESTS = 70;
/**
 * Requests go out in waves, one request to each process at once, one wave after the other: steady traffic on every
 * container rather than one burst (section 1's case). Every wave finds the token of the previous one in the store.
 */

export interface ShortTokenRun {
  readonly requests: number;
  readonly exchanges: number;
  readonly ok: number;
  readonly failed: number;
  readonly wallMs: number;
}

/**
 * Starts its own emulator issuing 10-minute tokens (each exchange slowed to ENTRA_LATENCY_MS, as in section 1) and
 * 3 processes on a fresh table, sends the requests in waves and counts the tokens the emulator issued.
 */
export async function runShortLivedTokens(deps: { dynamodb: DynamoDbLocal; ports: readonly number[] }): Promise<ShortTokenRun> {
  const issuer = `http://127.0.0.1:${deps.ports[0]}`;
  const entra = await startEntraEmulator({
    tokenLifetimeSeconds: TEN_MINUTES,
    apps: [
      {
        tenantId: TENANT,
        clientId: CLIENT,
        federatedCredentials: [{ issuer, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] }],
      },
    ],
  });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = writeTempFile('key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const config = writeTempJson('config.json', {
    tenantId: TENANT,
    clientId: CLIENT,
    scopes: { graph: GRAPH },
    authorityHost: entra.url,
    issuer,
    signingKeyFile: keyFile,
    dynamodbEndpoint: deps.dynamodb.endpoint,
    tableName: `bench-short-${randomUUID().slice(0, 8)}`,
  });
  try {
    const workers = await Promise.all(deps.ports.map((port) => startWorker(config, port, 'coordinated')));
    try {
      entra.resetCounters();
      entra.injectFault({ delayMs: ENTRA_LATENCY_MS, times: SHORT_TOKEN_REQUESTS });
      const statuses: number[] = [];
      const started = performance.now();
      for (let sent = 0; sent < SHORT_TOKEN_REQUESTS; sent += workers.length) {
        const wave = Array.from({ length: Math.min(workers.length, SHORT_TOKEN_REQUESTS - sent) }, (_, i) => {
          const worker = workers[(sent + i) % workers.length]!;
          return fetch(`${worker.url}/token/graph`).then(async (r) => (await r.arrayBuffer(), r.status));
        });
        statuses.push(...(await Promise.all(wave)));
      }
      const wallMs = performance.now() - started;
      const ok = statuses.filter((s) => s === 200).length;
      return { requests: statuses.length, exchanges: entra.requests.exchanges, ok, failed: statuses.length - ok, wallMs };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  } finally {
    await entra.close();
  }
}

// Section "proactive": 3 broker processes on one DynamoDB Local table with proactive refresh on and short tokens, callers
// on every process throughout, and an Entra outage that begins when the token comes due. Counts the requests that waited
// on an exchange after the warm-up, the requests that failed during the outage, and the exchanges per refresh.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { DynamoDbLocal } from '../dynamodb-local/launcher';
import { startEntraEmulator } from '../entra-emulator/emulator';
import { CLIENT, ENTRA_LATENCY_MS, GRAPH, TENANT } from './exchanges';
import { startWorker, writeTempFile, writeTempJson } from './processes';

/** Tokens of 2 minutes: a refresh every minute (half their life), so a run of a few minutes sees several. */
export const PROACTIVE_TOKEN_SECONDS = 120;
/** A margin well inside the token's life: servable until 10 s before expiry. */
const MARGIN_SECONDS = 10;
/** The refresher's period in each process. */
export const PROACTIVE_PERIOD_SECONDS = 5;
/** The outage: shorter than what is left of the token's servable life when it begins (half its life less the margin). */
export const OUTAGE_SECONDS = 25;
/** Each caller's pause between requests. */
const CALLER_PAUSE_MS = 20;
/** Exchanges further apart than this belong to different refreshes. */
const SAME_REFRESH_MS = 15_000;

export interface ProactiveRun {
  readonly requests: number;
  /** Requests answered from an exchange (their own or shared) after the warm-up: the audit line's `cache`. */
  readonly waitedAfterWarmUp: number;
  readonly failed: number;
  readonly requestsDuringOutage: number;
  readonly failedDuringOutage: number;
  readonly exchanges: number;
  /** Exchanges grouped by time: one group per refresh. */
  readonly refreshes: number;
  readonly wallMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts its own emulator (2-minute tokens, each exchange slowed to ENTRA_LATENCY_MS) and 3 processes with
 * `proactiveRefresh` on a fresh table; waits for the warm-up refresh, then runs callers through a regular refresh and
 * through an outage that starts when the next one is due, until the refresher has renewed the token after it.
 */
export async function runProactiveRefresh(deps: { dynamodb: DynamoDbLocal; ports: readonly number[] }): Promise<ProactiveRun> {
  const issuer = `http://127.0.0.1:${deps.ports[0]}`;
  const entra = await startEntraEmulator({
    tokenLifetimeSeconds: PROACTIVE_TOKEN_SECONDS,
    apps: [
      {
        tenantId: TENANT,
        clientId: CLIENT,
        federatedCredentials: [{ issuer, subject: 'aws-token-broker', audiences: ['api://AzureADTokenExchange'] }],
      },
    ],
  });
  entra.injectFault({ delayMs: ENTRA_LATENCY_MS, times: 1_000 });
  const exchangeTimes: number[] = [];
  const watcher = setInterval(() => {
    while (exchangeTimes.length < entra.requests.exchanges) exchangeTimes.push(Date.now());
  }, 50);
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
    tableName: `bench-proactive-${randomUUID().slice(0, 8)}`,
    refreshMarginSeconds: MARGIN_SECONDS,
    proactiveRefresh: { periodSeconds: PROACTIVE_PERIOD_SECONDS },
  });
  let warm = false;
  let waitedAfterWarmUp = 0;
  const onLine = (line: string) => {
    if (!line.includes('"token served"')) return;
    const cache = (JSON.parse(line) as { cache?: string }).cache;
    if (warm && (cache === 'exchange' || cache === 'shared')) waitedAfterWarmUp += 1;
  };
  try {
    const workers = await Promise.all(deps.ports.map((port) => startWorker(config, port, 'coordinated', onLine)));
    try {
      const started = performance.now();
      // The first timer run in each process warms the alias; the lease leaves one exchange to one of them.
      while (entra.requests.exchanges < 1) await sleep(50);
      warm = true;
      const first = (await (await fetch(`${workers[0]!.url}/token/graph`)).json()) as { expires_on: number };
      let requests = 0;
      let failed = 0;
      const outage = { from: Infinity, to: -Infinity };
      let requestsDuringOutage = 0;
      let failedDuringOutage = 0;
      let calling = true;
      const callers = workers.map(async (worker) => {
        while (calling) {
          const status = await fetch(`${worker.url}/token/graph`).then(async (r) => (await r.arrayBuffer(), r.status));
          requests += 1;
          if (status !== 200) failed += 1;
          const now = Date.now();
          if (now >= outage.from && now <= outage.to) {
            requestsDuringOutage += 1;
            if (status !== 200) failedDuringOutage += 1;
          }
          await sleep(CALLER_PAUSE_MS);
        }
      });
      // A regular refresh at half life; the next one is due half a life later, when the first token expires: Entra
      // goes down then.
      const secondDueMs = first.expires_on * 1000;
      while (Date.now() < secondDueMs) await sleep(100);
      entra.clearFaults();
      entra.injectFault({ status: 503, times: 1_000_000 });
      outage.from = Date.now();
      outage.to = outage.from + OUTAGE_SECONDS * 1000;
      await sleep(OUTAGE_SECONDS * 1000);
      entra.clearFaults();
      entra.injectFault({ delayMs: ENTRA_LATENCY_MS, times: 1_000 });
      const before = entra.requests.exchanges;
      while (entra.requests.exchanges === before) await sleep(100);
      await sleep(2_000);
      calling = false;
      await Promise.all(callers);
      const wallMs = performance.now() - started;
      let refreshes = 0;
      for (let i = 0; i < exchangeTimes.length; i++) {
        if (i === 0 || exchangeTimes[i]! - exchangeTimes[i - 1]! > SAME_REFRESH_MS) refreshes += 1;
      }
      return {
        requests,
        waitedAfterWarmUp,
        failed,
        requestsDuringOutage,
        failedDuringOutage,
        exchanges: entra.requests.exchanges,
        refreshes,
        wallMs,
      };
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  } finally {
    clearInterval(watcher);
    await entra.close();
  }
}

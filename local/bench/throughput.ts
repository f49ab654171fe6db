// Section 4: requests per second the local runtime serves on cache hits, measured with autocannon.
import autocannon from 'autocannon';
import type { EntraEmulator } from '../entra-emulator/emulator';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { startWorker, writeTempJson } from './processes';

export interface ThroughputFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly connections: number;
  readonly durationSeconds: number;
}

/** One broker process with the memory cache, primed with one exchange, then loaded on `GET /token/graph`. */
export async function measureThroughput(
  entra: EntraEmulator,
  port: number,
  durationSeconds: number,
  connections: number,
): Promise<ThroughputFigures> {
  const config = writeTempJson('config.json', { tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH }, authorityHost: entra.url });
  const worker = await startWorker(config, port, 'coordinated');
  try {
    const primed = await fetch(`${worker.url}/token/graph`);
    if (primed.status !== 200) throw new Error(`priming request answered ${primed.status}: ${await primed.text()}`);
    const result = await autocannon({ url: `${worker.url}/token/graph`, connections, duration: durationSeconds });
    return {
      requestsPerSecond: result.requests.average,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      connections,
      durationSeconds,
    };
  } finally {
    await worker.stop();
  }
}

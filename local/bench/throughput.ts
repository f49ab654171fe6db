// Section 4: requests per second the local runtime serves on cache hits, measured with autocannon, beside two
// yardsticks on the same machine and port (local/bench/empty-server.ts), alternately, so the ratios show a regression
// whatever the machine's load: an empty node:http server, and the same server writing the token route's audit line per
// request (the least a cache hit can cost while the log accounts for every token served); with each server process's
// CPU time per request (Linux /proc).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { EntraEmulator } from '../entra-emulator/emulator';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { repoRoot, startWorker, writeTempJson } from './processes';

export interface RunFigures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  /** The server process's CPU time (user + system) per request, in µs; undefined where /proc is not there. */
  readonly cpuUsPerRequest: number | undefined;
}

export interface ThroughputFigures {
  /** The local runtime, median run by requests per second. */
  readonly runtime: RunFigures;
  /** The empty server, median run. */
  readonly empty: RunFigures;
  /** The empty server writing the audit line of each request, median run. */
  readonly emptyWithAudit: RunFigures;
  readonly rounds: number;
  readonly connections: number;
  readonly durationSeconds: number;
}

/** User + system CPU time of a process so far, in ms (fields 14 and 15 of /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
      .split(') ')[1]!
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function load(url: string, pid: number | undefined, connections: number, durationSeconds: number): Promise<RunFigures> {
  const before = cpuMs(pid);
  const result = await autocannon({ url, connections, duration: durationSeconds });
  const after = cpuMs(pid);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    cpuUsPerRequest: before === undefined || after === undefined ? undefined : ((after - before) * 1000) / result.requests.total,
  };
}

/** Starts the empty server on `port`, with the audit line of each request or without, and waits for its line. */
async function startEmptyServer(port: number, audit: boolean): Promise<{ pid: number | undefined; stop(): Promise<void> }> {
  const args = ['--import', 'tsx', 'local/bench/empty-server.ts', String(port), ...(audit ? ['--audit'] : [])];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`empty server exited with ${String(code)}`)));
    let head = '';
    const untilListening = (chunk: string) => {
      head += chunk;
      if (!head.includes('listening on')) return;
      // Its audit lines from then on are drained unread, as the broker worker's are (./processes.ts).
      child.stdout.off('data', untilListening).resume();
      ready();
    };
    child.stdout.setEncoding('utf8').on('data', untilListening);
  });
  return {
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const median = (runs: RunFigures[]): RunFigures =>
  [...runs].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond)[Math.floor(runs.length / 2)]!;

/**
 * `rounds` times, alternately: one broker process with the memory cache, primed with one exchange, then loaded on
 * `GET /token/graph`; the empty server on the same port; and the empty server writing the audit line.
 */
export async function measureThroughput(
  entra: EntraEmulator,
  port: number,
  durationSeconds: number,
  connections: number,
  rounds = 3,
): Promise<ThroughputFigures> {
  const config = writeTempJson('config.json', { tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH }, authorityHost: entra.url });
  const runtime: RunFigures[] = [];
  const empty: RunFigures[] = [];
  const emptyWithAudit: RunFigures[] = [];
  for (let round = 0; round < rounds; round++) {
    const worker = await startWorker(config, port, 'coordinated');
    try {
      const primed = await fetch(`${worker.url}/token/graph`);
      if (primed.status !== 200) throw new Error(`priming request answered ${primed.status}: ${await primed.text()}`);
      runtime.push(await load(`${worker.url}/token/graph`, worker.pid, connections, durationSeconds));
    } finally {
      await worker.stop();
    }
    for (const [audit, runs] of [
      [false, empty],
      [true, emptyWithAudit],
    ] as const) {
      const server = await startEmptyServer(port, audit);
      try {
        runs.push(await load(`http://127.0.0.1:${port}/token/graph`, server.pid, connections, durationSeconds));
      } finally {
        await server.stop();
      }
    }
  }
  return { runtime: median(runtime), empty: median(empty), emptyWithAudit: median(emptyWithAudit), rounds, connections, durationSeconds };
}

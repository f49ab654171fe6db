import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WorkerProcess {
  readonly url: string;
  /** The worker's process id (the throughput section reads its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Writes a file into a fresh temp dir (mode 0600: one of them is a private key). */
export function writeTempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'broker-bench-')), name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

export const writeTempJson = (name: string, value: unknown): string => writeTempFile(name, JSON.stringify(value));

/**
 * Starts a broker worker process and waits for its `listening on` line.
 * @throws Error with its stderr when it exits or does not start within 30 s
 */
export function startWorker(
  configFile: string,
  port: number,
  mode: 'coordinated' | 'uncoordinated',
  /** Receives each line the worker writes on stdout (its audit and metric lines) once it listens. @default - ignored */
  onLine?: (line: string) => void,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/bench/broker-worker.ts', configFile, String(port), mode], {
    cwd: repoRoot,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker did not start in 30 s: ${stderr}`)), 30_000);
    child.once('exit', (code) => fail(new Error(`worker exited with ${code}: ${stderr}`)));
    let stdout = '';
    let listening = false;
    const decoder = new StringDecoder('utf8');
    child.stdout.on('data', (chunk: Buffer) => {
      // Once it listens, the worker's stdout is its audit and metric lines, one per request: kept only for `onLine`, so
      // this process (which also drives the load) neither decodes, accumulates nor rescans them.
      if (listening && !onLine) return;
      stdout += decoder.write(chunk);
      if (listening) {
        const lines = stdout.split('\n');
        stdout = lines.pop() ?? '';
        if (onLine) for (const line of lines) onLine(line);
        return;
      }
      const match = /listening on (\S+)/.exec(stdout);
      if (match?.[1]) {
        listening = true;
        stdout = stdout.slice(stdout.indexOf('\n', match.index) + 1);
        clearTimeout(timer);
        ready({
          url: match[1],
          pid: child.pid,
          stop: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    });
  });
}

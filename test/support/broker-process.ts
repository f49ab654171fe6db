/**
 * The local runtime as a real child process (`node --import tsx local/runtime/main.ts --config FILE --port N`),
 * exactly as `npm start` runs it, with every line it writes kept for the secrets checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../local/free-port';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every line every broker process of this test file wrote, stdout and stderr. */
export const brokerLogLines: string[] = [];

export interface BrokerProcess {
  readonly url: string;
  readonly port: number;
  readonly configFile: string;
  /** This process's lines only, stdout and stderr. */
  readonly lines: readonly string[];
  /** This process's stdout lines only. */
  readonly stdoutLines: readonly string[];
  /** SIGTERM; resolves with the exit code once it has exited. */
  stop(): Promise<number | null>;
}

/** A port for a broker that is not started yet (its issuer must be known to the Entra emulator first). */
export const reservePort = freePort;

/** Writes a config file in a fresh temp dir. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'broker-e2e-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Starts the broker and resolves once it printed `listening on …`.
 * @throws Error with the process's output when it exits or stays silent for 20 s
 */
export async function startBroker(config: Record<string, unknown>, port: number): Promise<BrokerProcess> {
  const configFile = writeConfig(config);
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/runtime/main.ts', '--config', configFile, '--port', String(port)],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const stdoutLines: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const collect = (stream: NodeJS.ReadableStream | null, only?: string[]) => {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        only?.push(line);
        brokerLogLines.push(line);
      }
    });
  };
  collect(child.stdout, stdoutLines);
  collect(child.stderr);

  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`broker did not start within 20 s:\n${lines.join('\n')}`)), 20_000);
    const poll = setInterval(() => {
      const line = lines.find((l) => l.startsWith('listening on '));
      if (line) {
        clearInterval(poll);
        clearTimeout(timer);
        ready(line.slice('listening on '.length).trim());
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      fail(new Error(`broker exited with ${code} before listening:\n${lines.join('\n')}`));
    });
  });

  return {
    url,
    port,
    configFile,
    lines,
    stdoutLines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** GET as a workload would, returning status, headers and the parsed JSON (or the raw text). */
export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body, text };
}

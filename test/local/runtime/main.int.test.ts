/**
 * `npm start`'s command line as a user meets it: run through npm from another directory, stopped with
 * `kill -TERM`, started on a port in use, and on a Node.js release the AWS SDK warns about.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../../support/broker-process';

const CONFIG = {
  tenantId: '11111111-1111-1111-1111-111111111111',
  clientId: '22222222-2222-2222-2222-222222222222',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
  authorityHost: 'http://127.0.0.1:9',
};

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDirWithConfig(config: Record<string, unknown> = CONFIG): string {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The user's environment: without the variable the test runner sets to silence the SDK. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  delete env.INIT_CWD;
  return env;
}

/** Starts `command args` in its own process group, killed with the group at the end of the test whatever happened. */
function start(command: string, args: readonly string[], cwd: string): Started {
  const child = spawn(command, args, { cwd, env: userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  cleanups.push(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });
  return { child, output: () => out + err, stdout: () => out, stderr: () => err, exited };
}

/** Waits for `listening on <url>` and returns the url; fails with the output when the process exits first. */
async function listeningUrl(started: Started): Promise<string> {
  for (;;) {
    const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(started.output());
    if (match?.[1]) return match[1];
    const code = await Promise.race([started.exited, new Promise((wait) => setTimeout(wait, 50, 'running'))]);
    if (code !== 'running') throw new Error(`exited with ${String(code)} before listening:\n${started.output()}`);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

/** True once no process of the group is left. */
function groupGone(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return false;
  } catch {
    return true;
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, started: Started): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}; output:\n${started.output()}`);
    await new Promise((wait) => setTimeout(wait, 50));
  }
}

describe('npm start', () => {
  it('reads a relative --config from the directory npm was run in, not the repository root', async () => {
    const dir = tempDirWithConfig();
    const broker = start('npm', ['--prefix', repoRoot, 'start', '--', '--config', 'config.json', '--port', '0'], dir);
    const url = await listeningUrl(broker);
    const discovery = await fetch(`${url}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
  }, 90_000);

  it('stdout carries only the announcements; every log and metric line is on stderr, whole', async () => {
    const dir = tempDirWithConfig();
    const broker = start('npm', ['--prefix', repoRoot, 'start', '--', '--config', 'config.json', '--port', '0'], dir);
    const url = await listeningUrl(broker);
    // Entra is unreachable at port 9: the request is answered 503, with a log line and a metric line about it.
    expect((await fetch(`${url}/token/graph`)).status).toBe(503);
    await waitFor(() => broker.stderr().includes('"_aws"'), 'no metric line on stderr', broker);
    const npmBanner = (line: string) => line === '' || line.startsWith('> ');
    expect(
      broker
        .stdout()
        .split('\n')
        .filter((line) => !npmBanner(line)),
    ).toEqual([`listening on ${url}`]);
    const jsonLines = broker
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(jsonLines).toContainEqual(expect.objectContaining({ level: 'WARN', route: 'local-runtime' }));
    expect(jsonLines).toContainEqual(expect.objectContaining({ route: 'token', function_name: 'broker-token' }));
    expect(jsonLines.some((line) => '_aws' in line)).toBe(true);
  }, 90_000);

  it('kill -TERM on the npm process stops the broker: the port is closed and no process is left', async () => {
    const dir = tempDirWithConfig();
    const broker = start('npm', ['--prefix', repoRoot, 'start', '--', '--config', join(dir, 'config.json'), '--port', '0'], dir);
    const port = Number(new URL(await listeningUrl(broker)).port);
    expect(await accepts(port)).toBe(true);

    process.kill(broker.child.pid ?? 0, 'SIGTERM');
    await waitFor(async () => !(await accepts(port)), `port ${String(port)} still accepts connections after SIGTERM to npm`, broker);
    await waitFor(() => groupGone(broker.child.pid ?? 0), 'a process of npm start is still running after SIGTERM to npm', broker);
    expect(broker.output()).toContain('SIGTERM: stopping');
  }, 90_000);
});

describe('local/runtime/main.ts', () => {
  let holder: Server | undefined;
  afterEach(() => {
    holder?.close();
    holder = undefined;
  });

  it('on a port in use: exit 1 with one line that names the port and the --port flag', async () => {
    holder = createServer();
    const server = holder;
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const port = (server.address() as { port: number }).port;
    const dir = tempDirWithConfig();
    const broker = start(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'local/runtime/main.ts'), '--config', join(dir, 'config.json'), '--port', String(port)],
      repoRoot,
    );
    expect(await broker.exited).toBe(1);
    const lines = broker
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('cannot start'));
    expect(lines).toEqual([
      `cannot start the local runtime: port ${String(port)} on 127.0.0.1 is in use (another npm start?). ` +
        'Pass --port N for another port (--port 0 picks a free one), or stop the process that holds it.',
    ]);
  }, 60_000);

  it('with DynamoDB Local: no AWS SDK notice about Node.js versions on stderr (the SDK prints one on Node.js < 22)', async () => {
    const dir = tempDirWithConfig({ ...CONFIG, dynamodbEndpoint: inject('dynamodbEndpoint'), tableName: 'npm-start-warning' });
    const broker = start(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'local/runtime/main.ts'), '--config', join(dir, 'config.json'), '--port', '0'],
      repoRoot,
    );
    await listeningUrl(broker);
    expect(broker.stderr()).not.toContain('NodeVersionSupportWarning');
    expect(broker.stderr()).not.toContain('AWS SDK for JavaScript');
  }, 60_000);
});

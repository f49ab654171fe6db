/**
 * `broker-identity-endpoint` as workloads run it: the built package's bin file as a child process of plain `node`,
 * stopped by real signals; `npx broker-identity-endpoint` in a workload that installed the package; and the shell
 * pattern docs/any-language.md gives (read the two lines, export them, run the application).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IDENTITY_ENDPOINT_HELP } from '../../../client/identity-endpoint/cli';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker, type FakeBroker } from '../fake-broker';
import { SDK_DIR, sha256 } from './sdk-cases';

const { workloadDir, bins } = inject('builtPackage');
const BIN = bins['broker-identity-endpoint']!;

let broker: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_REGION: REGION,
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_STS: `${broker.url}/sts/`,
    ...extra,
  };
}

interface Running {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves with the two variables once both lines are out. */
  readonly ready: Promise<{ IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string }>;
}

function start(
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  command: readonly string[] = [process.execPath, BIN],
  detached = false,
): Running {
  const [file, ...prefix] = command as [string, ...string[]];
  const child = spawn(file, [...prefix, ...args], { cwd: workloadDir, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'], detached });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<{ IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string }>((resolve, reject) => {
    const check = () => {
      const match = /^IDENTITY_ENDPOINT=(\S+)\nIDENTITY_HEADER=(\S+)\n/.exec(out);
      if (match) resolve({ IDENTITY_ENDPOINT: match[1]!, IDENTITY_HEADER: match[2]! });
    };
    child.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`exited with ${code} before it was ready:\n${err}`)));
  });
  // Tests of a process that never gets ready await `exited` instead.
  ready.catch(() => {});
  return { child, stdout: () => out, stderr: () => err, exited, ready };
}

async function tokenFrom(variables: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string }, resource: string) {
  const response = await fetch(`${variables.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`, {
    headers: { 'X-IDENTITY-HEADER': variables.IDENTITY_HEADER },
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

describe('broker-identity-endpoint (child process)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('prints exactly the two lines, serves tokens, and exits 0 on %s', async (signal) => {
    const running = start(['--url', broker.url, '--resource', 'https://storage.azure.com=storage']);
    const variables = await running.ready;
    expect(variables.IDENTITY_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    expect(variables.IDENTITY_HEADER).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const answer = await tokenFrom(variables, 'https://storage.azure.com');
    expect(answer.status).toBe(200);
    expect(answer.body.access_token).toMatch(new RegExp(`^${TOKEN_PREFIX}-storage-`));
    running.child.kill(signal);
    expect(await running.exited).toBe(0);
    expect(running.stdout()).toBe(`IDENTITY_ENDPOINT=${variables.IDENTITY_ENDPOINT}\nIDENTITY_HEADER=${variables.IDENTITY_HEADER}\n`);
    expect(running.stderr()).toMatch(/200 ok resource=https:\/\/storage\.azure\.com alias=storage \d+ms\n/);
    expect(running.stderr()).toMatch(/stopped\n$/);
    expect(running.stderr()).not.toContain(TOKEN_PREFIX);
    expect(running.stderr()).not.toContain(variables.IDENTITY_HEADER);
    await expect(fetch(variables.IDENTITY_ENDPOINT)).rejects.toThrow();
  });

  it('uses $IDENTITY_HEADER and --port as given, and exits 1 naming the port when it is taken', async () => {
    const first = start(['--url', broker.url, '--resource', 'https://storage.azure.com=storage', '--port', '0'], {
      IDENTITY_HEADER: 'a-header-the-operator-chose-0001',
    });
    const variables = await first.ready;
    expect(variables.IDENTITY_HEADER).toBe('a-header-the-operator-chose-0001');
    const port = new URL(variables.IDENTITY_ENDPOINT).port;
    const second = start(['--url', broker.url, '--resource', 'https://storage.azure.com=storage', '--port', port]);
    expect(await second.exited).toBe(1);
    expect(second.stdout()).toBe('');
    expect(second.stderr()).toBe(
      `broker-identity-endpoint: cannot listen on 127.0.0.1:${port} (EADDRINUSE): the port is in use, choose another one or 0 for any\n`,
    );
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  });

  it('starts without loading the AWS SDK or the signer: the built bin imports only Node built-ins up front', () => {
    // A Lambda extension's start-up adds to every cold start; the signer (about 150 ms to load) and the credential
    // chain load on the first token request instead.
    const staticImports = [...readFileSync(BIN, 'utf8').matchAll(/^import\s.*?from\s+"([^"]+)";$/gm)].map((match) => match[1]);
    expect(staticImports.length).toBeGreaterThan(0);
    expect(staticImports.filter((specifier) => !specifier!.startsWith('node:'))).toEqual([]);
  });

  it('exits 2 for a usage error and prints --help', async () => {
    const usage = start(['--url', broker.url]);
    expect(await usage.exited).toBe(2);
    expect(usage.stderr()).toBe('broker-identity-endpoint: no resource: pass --resource <azure resource>=<alias> (see --help)\n');
    const help = start(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toBe(IDENTITY_ENDPOINT_HELP);
  });

  it('runs as `npx broker-identity-endpoint` in a workload that installed the package', async () => {
    const npx = [process.platform === 'win32' ? 'npx.cmd' : 'npx', 'broker-identity-endpoint'];
    // In its own process group, as a shell job or a systemd unit runs it: npm does not pass a SIGTERM sent to npx
    // alone on to the endpoint (docs/any-language.md says to run the bin itself under a supervisor), so the
    // signal goes to the group, as Ctrl-C and systemd's stop send it.
    const running = start(['--url', broker.url, '--resource', 'https://vault.azure.net=vault'], {}, npx, true);
    const variables = await running.ready;
    expect((await tokenFrom(variables, 'https://vault.azure.net/')).body.access_token).toMatch(new RegExp(`^${TOKEN_PREFIX}-vault-`));
    process.kill(-running.child.pid!, 'SIGTERM');
    await running.exited;
    await expect
      .poll(
        () =>
          fetch(variables.IDENTITY_ENDPOINT).then(
            () => 'listening',
            () => 'stopped',
          ),
        { timeout: 20_000 },
      )
      .toBe('stopped');
  }, 60_000);

  it('works with the shell pattern of docs/any-language.md: read the two lines, export them, run the application', async () => {
    // The application is the Node.js probe (any SDK reads the same two variables).
    const script = `
      set -euo pipefail
      coproc ENDPOINT { exec node "$BIN" --url "$BROKER_URL" --resource https://storage.azure.com=storage; }
      read -r line <&"\${ENDPOINT[0]}" && export "$line"
      read -r line <&"\${ENDPOINT[0]}" && export "$line"
      node "$PROBE" default https://storage.azure.com/.default
      kill "$ENDPOINT_PID"
      wait "$ENDPOINT_PID"
    `;
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', script],
        { cwd: workloadDir, env: env({ BIN, BROKER_URL: broker.url, PROBE: join(SDK_DIR, 'node/probe.mjs') }), timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
    const { sha256: digest } = JSON.parse(result.stdout) as { sha256: string };
    const served = broker.requests.filter((request) => request.alias === 'storage' && request.verdict === 'ok').length;
    expect(digest).toBe(sha256(`${TOKEN_PREFIX}-storage-${served}`));
  });
});

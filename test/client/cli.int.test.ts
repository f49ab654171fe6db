/**
 * The `broker-token` CLI as scripts run it: the built package's bin file as a child process of plain `node`
 * (no TypeScript loader), and `npx broker-token` in a workload that installed the package (see
 * test/support/package-global-setup.ts).
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELP } from '../../client/cli';
import type { FakeBroker } from './fake-broker';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, closedPort, startFakeBroker } from './fake-broker';

const { workloadDir, bins } = inject('builtPackage');
const BIN = bins['broker-token']!;

let broker: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean environment: static keys only, no profile files, STS pointed at the fake (for the 403 principal lookup). */
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

/** Async on purpose: the fake broker lives in this process, so a sync spawn would deadlock it. */
function run(
  args: readonly string[],
  extraEnv: Record<string, string> = {},
  command: readonly string[] = [process.execPath, BIN],
): Promise<Run> {
  const [file, ...prefix] = command as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(file, [...prefix, ...args], { cwd: workloadDir, env: env(extraEnv), timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function expectNoToken(result: Run) {
  expect(result.stderr).not.toContain(TOKEN_PREFIX);
  expect(result.stderr).not.toContain(SECRET_ACCESS_KEY);
}

/** Error output is one line, prefixed. */
function expectErrorLine(result: Run, code: number, pattern: RegExp) {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^broker-token: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expectNoToken(result);
}

describe('broker-token (child process)', () => {
  it('prints the bare token and a newline', async () => {
    const result = await run(['graph', '--url', broker.url]);
    expect(result).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^${TOKEN_PREFIX}-graph-\\d+\\n$`)), stderr: '' });
  });

  it('prints the broker JSON with --json', async () => {
    const result = await run(['graph', '--url', broker.url, '--json']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      access_token: expect.stringMatching(new RegExp(`^${TOKEN_PREFIX}-graph-\\d+$`)),
      token_type: 'Bearer',
      expires_in: 3600,
      expires_on: expect.any(Number),
      scope: 'https://graph.example/.default',
    });
  });

  it('prints a shell export with --env, and takes the URL from BROKER_URL', async () => {
    const result = await run(['graph', '--env'], { BROKER_URL: broker.url });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^export AZURE_ACCESS_TOKEN='${TOKEN_PREFIX}-graph-\\d+'\\n$`));
  });

  it('exits 3 for an unknown alias', async () => {
    expectErrorLine(
      await run(['missing', '--url', broker.url]),
      3,
      /^broker-token: Unknown alias "missing" at .*No scope is configured under the alias "missing"\. Check the alias .*\.\n$/,
    );
  });

  it('exits 4 when IAM refuses the request (wrong secret)', async () => {
    expectErrorLine(
      await run(['graph', '--url', broker.url], { AWS_SECRET_ACCESS_KEY: 'wrong-secret' }),
      4,
      /^broker-token: Forbidden: AWS IAM refused GET .*\/token\/graph \(alias "graph"\)\. The calling AWS principal needs execute-api:Invoke/,
    );
  });

  it('exits 5 when the broker is unreachable', async () => {
    const port = await closedPort();
    expectErrorLine(await run(['graph', '--url', `http://127.0.0.1:${port}`]), 5, /\(ECONNREFUSED\)/);
    expectErrorLine(await run(['slow', '--url', broker.url, '--timeout-ms', '300']), 5, /\(no answer within 300 ms\)/);
  });

  it('exits 6 when Entra rejected the broker, with the AADSTS code and correlation id', async () => {
    expectErrorLine(
      await run(['rejected', '--url', broker.url]),
      6,
      /\(AADSTS700213, correlation id 0b1c2d3e-0000-4000-8000-000000000001, trace id [^)]+\)/,
    );
  });

  it('exits 7 when an upstream is unavailable', async () => {
    expectErrorLine(await run(['down', '--url', broker.url]), 7, /could not get a token for alias "down" right now \(kms unavailable\)/);
  });

  it('exits 1 for anything else', async () => {
    expectErrorLine(await run(['partial', '--url', broker.url]), 1, /not with a token response \(expires_on is not unix seconds\)/);
    expectErrorLine(await run(['crash', '--url', broker.url]), 1, /answered 500 for alias "crash" \(internal\)/);
  });

  it('exits 2 for usage errors', async () => {
    expectErrorLine(await run([]), 2, /^broker-token: expected exactly one alias, got 0 \(see --help\)\n$/);
    expectErrorLine(await run(['graph']), 2, /^broker-token: no broker URL: pass --url or set BROKER_URL \(see --help\)\n$/);
    expectErrorLine(
      await run(['graph', '--url', broker.url, '--json', '--env']),
      2,
      /^broker-token: --json and --env cannot be combined\n$/,
    );
    expectErrorLine(
      await run(['graph', '--url', broker.url, '--timeout-ms', 'soon']),
      2,
      /^broker-token: --timeout-ms must be a positive integer, got "soon"\n$/,
    );
    expectErrorLine(await run(['graph', '--url', broker.url, '--bogus']), 2, /^broker-token: Unknown option '--bogus'/);
    expectErrorLine(
      await run(['graph', '--url', 'https://broker.example.com'], { AWS_REGION: '' }),
      2,
      /^broker-token: Cannot tell the region of https:\/\/broker\.example\.com\/: pass --region or set AWS_REGION\.\n$/,
    );
  });

  it('prints help with the exit codes', async () => {
    const result = await run(['--help']);
    expect(result).toEqual({ code: 0, stdout: HELP, stderr: '' });
    for (const line of [
      '2  usage error',
      '3  unknown alias',
      '4  forbidden',
      '5  broker unreachable',
      '6  Entra ID rejected',
      '7  upstream unavailable',
    ]) {
      expect(result.stdout).toContain(line);
    }
  });

  it('runs as `npx broker-token` in a workload that installed the package', async () => {
    const npx = [process.platform === 'win32' ? 'npx.cmd' : 'npx', 'broker-token'];
    const help = await run(['--help'], {}, npx);
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(HELP);
    const token = await run(['graph', '--url', broker.url], {}, npx);
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(new RegExp(`^${TOKEN_PREFIX}-graph-\\d+\\n$`));
    expectNoToken(token);
    const forbidden = await run(['graph', '--url', broker.url], { AWS_SECRET_ACCESS_KEY: 'wrong-secret' }, npx);
    expect(forbidden.code).toBe(4);
    expectNoToken(forbidden);
  }, 90_000); // three npm startups: slow on a loaded machine
});

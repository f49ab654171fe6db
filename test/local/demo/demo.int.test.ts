/**
 * `npm run demo` on a machine without a usable Java: the real demo as a child process, with a PATH that
 * holds no `java` (or a Java 11 one) and no JAVA_HOME.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/broker-process';
import { JAVA_11 } from '../../support/fake-java';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function pathDir(java?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'demo-path-'));
  dirs.push(dir);
  if (java) {
    await writeFile(path.join(dir, 'java'), java);
    await chmod(path.join(dir, 'java'), 0o755);
  }
  return dir;
}

function runDemo(pathEnv: string, args: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathEnv };
  delete env.JAVA_HOME;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'local/demo/main.ts', ...args],
      { cwd: repoRoot, env, timeout: 60_000 },
      (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

const INSTALL = 'For the DynamoDB part, install Java 17+ (e.g. apt-get install -y default-jre-headless) and run the demo again.';

/** The demo's usual walkthrough, whatever caches the tokens. */
function expectUsualOutput(stdout: string): void {
  expect(stdout).toContain('AWS-to-Azure token broker: local demo');
  for (const step of [
    '1. Entra reads the discovery document (public)',
    '2. Entra reads the signing keys (public)',
    '3. A workload asks for a Graph token (SigV4-signed GET /token/graph)',
    '4. The same request again',
    '5. An unsigned request',
    '6. What the access token says (decoded claims)',
  ]) {
    expect(stdout).toContain(`\n${step}\n`);
  }
  expect(stdout).toMatch(/200 in \d+ ms: the same token, from the cache/);
  expect(stdout).toContain('Entra token requests so far: 1 (no new exchange)');
  expect(stdout).toContain('GET /token/graph without SigV4 → 403 {"message":"Forbidden"}');
  expect(stdout).toContain('"aud": "https://graph.microsoft.com"');
  expect(stdout).toMatch(/\nDone\. Stopping everything\.\n$/);
}

describe('npm run demo without a usable Java', () => {
  it('with no java on PATH: one line on what is skipped and how to get it, the usual walkthrough, exit 0', async () => {
    const { code, stdout, stderr } = await runDemo(await pathDir());
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const skipped = stdout.split('\n').filter((line) => /DynamoDB|Java/.test(line));
    expect(skipped).toEqual([
      'Starting DynamoDB Local, the Entra ID emulator and the broker on 127.0.0.1 ...',
      `Skipping DynamoDB Local (it needs Java 17+, and "java" was not found): tokens are cached in memory. ${INSTALL}`,
    ]);
    expect(stdout).toContain('   token cache     in memory\n');
    expectUsualOutput(stdout);
  }, 60_000);

  it('with Java 11 on PATH: the same, naming the version found', async () => {
    const { code, stdout, stderr } = await runDemo(await pathDir(JAVA_11));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout.split('\n').filter((line) => line.startsWith('Skipping'))).toEqual([
      `Skipping DynamoDB Local (it needs Java 17+, and "java" is Java 11): tokens are cached in memory. ${INSTALL}`,
    ]);
    expectUsualOutput(stdout);
  }, 60_000);
});

describe('npm run demo -- --signer aws-sts', () => {
  it("walks the same flow with AWS STS signing: Entra reads AWS's issuer, trusts the role ARN, and the broker has no public route", async () => {
    const { code, stdout, stderr } = await runDemo(await pathDir(), ['--signer', 'aws-sts']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('AWS-to-Azure token broker: local demo (signer aws-sts)');
    expect(stdout).toMatch(
      /trusts issuer (http:\/\/127\.0\.0\.1:\d+), subject arn:aws:iam::000000000000:role\/broker-local-token-function\)\n {3}AWS STS \(local\) \1 /,
    );
    expect(stdout).toContain("\n1. Entra reads the discovery document (public, AWS's issuer)\n");
    expect(stdout).toMatch(/"jwks_uri": "http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json"/);
    expect(stdout).toMatch(/RSA 2048-bit {2}RS256/);
    expect(stdout).toMatch(/the broker itself: GET http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration → 404/);
    expect(stdout).toContain(
      'the broker got a client assertion from AWS STS (GetWebIdentityToken, sub = its role ARN) and exchanged it at Entra',
    );
    expect(stdout).toMatch(/200 in \d+ ms: the same token, from the cache/);
    expect(stdout).toContain('GET /token/graph without SigV4 → 403 {"message":"Forbidden"}');
    expect(stdout).toMatch(/\nDone\. Stopping everything\.\n$/);
  }, 60_000);

  it('refuses another signer, naming it', async () => {
    const { code, stderr } = await runDemo(await pathDir(), ['--signer', 'hsm']);
    expect(code).toBe(2);
    expect(stderr).toContain('--signer: expected "kms" or "aws-sts", received "hsm"');
  }, 60_000);
});

describe('npm run demo -- --help', () => {
  it('prints what each option shows and exits 0', async () => {
    const { code, stdout, stderr } = await runDemo(process.env.PATH ?? '', ['--help']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^usage: npm run demo \[-- --signer kms\|aws-sts \| --rotation \| --reverse \| --help\]\n/);
    for (const option of ['--signer aws-sts', '--rotation', '--reverse', '--help'])
      expect(stdout).toMatch(new RegExp(`\\n {2}${option} +\\S`));
  }, 60_000);
});

describe('npm run demo -- --reverse', () => {
  it('an Azure managed identity gets the AWS role through credential_process run by the real AWS SDK, the second time from the cache', async () => {
    const { code, stdout, stderr } = await runDemo(await pathDir(), ['--reverse']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('credential_process = entra-aws-credentials --role-arn arn:aws:iam::123456789012:role/');
    const arns = [...stdout.matchAll(/Arn: (arn:aws:sts::123456789012:assumed-role\/\S+)/g)].map((match) => match[1]);
    expect(arns).toHaveLength(2);
    expect(arns[1]).toBe(arns[0]);
    expect(stdout).toContain('managed-identity tokens so far: 1, AssumeRoleWithWebIdentity calls so far: 1\n');
    expect(stdout).toContain('managed-identity tokens so far: 1, AssumeRoleWithWebIdentity calls so far: 1 (none new)\n');
    expect(stdout).toMatch(/entra-aws-credentials\/[0-9a-f]+\.json {2}mode 0600, \d+ bytes\n/);
    // The cached session's secret never reaches the output.
    expect(stdout).not.toMatch(/SecretAccessKey|SessionToken/);
    expect(stdout).toMatch(/\nDone\. Stopping everything\.\n$/);
  }, 120_000);

  it('goes alone', async () => {
    const { code, stderr } = await runDemo(await pathDir(), ['--reverse', '--rotation']);
    expect(code).toBe(2);
    expect(stderr).toContain('--reverse: goes alone');
  }, 60_000);
});

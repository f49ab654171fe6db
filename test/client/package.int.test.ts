/**
 * The package as a workload depends on it: the built library and CLI run on plain Node from a workload that has
 * only the runtime dependencies (test/support/package-global-setup.ts), the declarations type-check under
 * nodenext, and `npm pack` ships the build (with the identity endpoint layer's prebuilt extension and the script that
 * completes it at synth) and nothing of the sources or tests.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HELP } from '../../client/cli';
import { LAMBDA_ENTRIES } from '../../lib/lambda-bundling';
import { DOCTOR_HELP } from '../../client/doctor/cli';
import { publicJwk, startFakeIssuer } from '../support/fake-issuer';
import { rsaKeyPair } from '../support/rsa-keys';
import { repoRoot } from '../support/broker-process';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker, type FakeBroker } from './fake-broker';

const run = promisify(execFile);
const { workloadDir, name, bins } = inject('builtPackage');
/** No NODE_OPTIONS (vitest's or a loader's): the workload runs plain `node`. */
const env = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: 'true' };

let broker: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});

describe('the built package in a workload', () => {
  it('runs the broker-token CLI with plain node and prints --help', async () => {
    const { stdout, stderr } = await run(process.execPath, [bins['broker-token']!, '--help'], { cwd: workloadDir, env });
    expect({ stdout, stderr }).toEqual({ stdout: HELP, stderr: '' });
  });

  it('runs the broker-doctor CLI with plain node: --help, exit 0 for a sound issuer, exit 1 naming the problem', async () => {
    const doctor = bins['broker-doctor']!;
    expect(await run(process.execPath, [doctor, '--help'], { cwd: workloadDir, env })).toEqual({ stdout: DOCTOR_HELP, stderr: '' });
    const issuer = await startFakeIssuer([publicJwk(rsaKeyPair().publicKey, 'k1')]);
    try {
      const sound = await run(process.execPath, [doctor, '--issuer', issuer.url], { cwd: workloadDir, env });
      expect(sound.stdout).toContain(`Entra would accept ${issuer.url}: 1 RS256 signing key: k1 (2048 bits)`);
      issuer.discoveryIssuer = `${issuer.url}/`;
      const refused = run(process.execPath, [doctor, '--issuer', issuer.url], { cwd: workloadDir, env });
      await expect(refused).rejects.toMatchObject({ code: 1, stdout: expect.stringContaining('they differ by a trailing slash') });
    } finally {
      await issuer.close();
    }
  });

  it('exports BrokerCredential and fetchBrokerToken from the package name, and fetches a token with them', async () => {
    // An ES module in the workload, importing the package by name as a workload's code does.
    const script = `
      import { BrokerCredential, fetchBrokerToken } from '${name}';
      const credentials = { accessKeyId: '${ACCESS_KEY_ID}', secretAccessKey: '${SECRET_ACCESS_KEY}' };
      const options = { url: '${broker.url}', region: '${REGION}', credentials, identify: false };
      const token = await fetchBrokerToken({ ...options, alias: 'graph' });
      const credential = new BrokerCredential({ ...options, scopes: { 'https://storage.example/.default': 'storage' } });
      const access = await credential.getToken('https://storage.example/.default');
      console.log(JSON.stringify({ fetched: token.accessToken, credential: access.token }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script], { cwd: workloadDir, env });
    expect(JSON.parse(stdout)).toEqual({
      fetched: expect.stringMatching(new RegExp(`^${TOKEN_PREFIX}-graph-\\d+$`)),
      credential: expect.stringMatching(new RegExp(`^${TOKEN_PREFIX}-storage-\\d+$`)),
    });
  });

  it('has type declarations a TypeScript workload on moduleResolution nodenext can use', async () => {
    const dir = join(workloadDir, 'ts-check');
    mkdirSync(dir, { recursive: true });
    // A TypeScript workload brings its own @types/node.
    mkdirSync(join(workloadDir, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules/@types/node'), join(workloadDir, 'node_modules/@types/node'), 'dir');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: true,
        },
        files: ['check.ts'],
      }),
    );
    // skipLibCheck hides errors inside .d.ts files, an unresolved import among them; each @ts-expect-error below
    // then fails the check, because the types it relies on resolved to `any`.
    writeFileSync(
      join(dir, 'check.ts'),
      `import { BrokerClientError, BrokerCredential, fetchBrokerToken, type BrokerToken } from '${name}';
       const credential = new BrokerCredential({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com', scopes: { 'api://x/.default': 'x' } });
       export const token: Promise<BrokerToken> = fetchBrokerToken({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com', alias: 'x' });
       export const expires: Promise<number | undefined> = credential.getToken('api://x/.default').then((t) => t?.expiresOnTimestamp);
       export const code = (e: BrokerClientError): string => e.code;
       // @ts-expect-error: url is required
       new BrokerCredential({ scopes: {} });
       // @ts-expect-error: an access token is a string
       export const wrong: Promise<number> = token.then((t) => t.accessToken);
      `,
    );
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir], { cwd: dir, env }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(result).toEqual({ code: 0, stdout: '' });
  });
});

describe('npm pack', () => {
  it('builds (prepare) and ships dist/ with package.json, the README, LICENSE and CHANGELOG, and no sources or tests', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: repoRoot, env: { ...env, npm_config_loglevel: 'error' } });
    const [packed] = JSON.parse(stdout) as [{ files: { path: string; mode: number }[] }];
    const files = packed.files.map((file) => file.path).sort();

    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'CHANGELOG.md',
        'dist/bin/broker-token.js',
        'dist/client/index.js',
        'dist/client/index.d.ts',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        ...LAMBDA_ENTRIES.map((entry) => `dist/functions/${entry}/index.mjs`),
        // The identity endpoint layer's architecture-independent part, and the script that adds Node.js at synth.
        'dist/layers/identity-endpoint/extensions/broker-identity-endpoint',
        'dist/layers/identity-endpoint/broker-identity-endpoint/main.mjs',
        'dist/scripts/build-identity-layer.mjs',
        'dist/scripts/identity-layer-node.json',
      ]),
    );
    for (const file of files) {
      expect(file).toMatch(
        new RegExp(
          [
            /^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/,
            /^dist\/(bin|client|lib|contract)\/[\w-]+\.(js|d\.ts)$/,
            // Declarations keep the sources' folders (client/reverse-direction/).
            /^dist\/(client|lib|contract)\/([\w-]+\/)+[\w-]+\.d\.ts$/,
            /^dist\/functions\/[\w-]+\/index\.mjs$/,
            /^dist\/layers\/identity-endpoint\/(extensions\/broker-identity-endpoint|broker-identity-endpoint\/(main|chunks\/[\w-]+)\.mjs)$/,
            /^dist\/scripts\/(build-identity-layer\.mjs|identity-layer-node\.json)$/,
          ]
            .map((pattern) => pattern.source)
            .join('|'),
        ),
      );
    }
    // Lambda starts only executables from /opt/extensions: the tarball keeps the launcher's mode.
    expect(packed.files.find((file) => file.path === 'dist/layers/identity-endpoint/extensions/broker-identity-endpoint')?.mode).toBe(
      0o755,
    );
  }, 180_000);
});

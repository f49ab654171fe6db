/**
 * The package as a CDK app gets it: a copy of examples/cdk-app/ with the packed tarball, aws-cdk-lib, constructs and
 * aws-cdk installed by npm (from its cache where it can) and nothing else of this repository: no esbuild, TypeScript,
 * tsx or cdk-nag. `cdk synth` runs the app with Node alone (Node's type stripping: 22.18 or later, Lambda's Node 24 when
 * the suite runs on 20) and deploys the functions from the package's prebuilt bundles, and the example's Python
 * function's identity endpoint layer from the package's prebuilt extension and the pinned Node.js from npm (its cache,
 * which .ci/run fills); tsc --strict type-checks a consumer of both entry points under each module resolution an app
 * may use.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LambdaEntry } from '../../lib/lambda-bundling';
import { TokenBroker } from '../../lib/token-broker';
import { repoRoot } from '../support/broker-process';
import { typeStrippingNode } from '../support/lambda-node';

const run = promisify(execFile);
const { tarball, name } = inject('builtPackage');
const repoManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
/** What the app installs besides the package: the versions this repository tests against. */
const CDK_PACKAGES = ['aws-cdk-lib', 'constructs', 'aws-cdk'].map((pkg) => `${pkg}@${repoManifest.devDependencies[pkg]!}`);
/** The broker functions of the example's stack, by the construct id the template's `aws:cdk:path` ends with. */
const FUNCTION_ENTRIES: Record<string, LambdaEntry> = {
  DiscoveryFunction: 'discovery',
  JwksFunction: 'jwks',
  KeyRotatorFunction: 'rotator',
  TokenFunction: 'token',
};
const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
/** The identity endpoint extension's name: its launcher under extensions/, and its folder in the layer. */
const EXTENSION = 'broker-identity-endpoint';
const NODE_PIN = JSON.parse(readFileSync(join(repoRoot, 'scripts/identity-layer-node.json'), 'utf8')) as {
  version: string;
  packages: Record<'arm64' | 'x64', { name: string; integrity: string }>;
};
/**
 * The machine's environment (proxy, CA bundle) without what the runner adds (NODE_OPTIONS, npm_*, VITEST*), and no AWS
 * call from the CLI (notices, telemetry, version check).
 */
const env: Record<string, string | undefined> = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_OPTIONS$|VITEST)/i.test(key))),
  CDK_DISABLE_VERSION_CHECK: 'true',
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  AWS_EC2_METADATA_DISABLED: 'true',
};

let temp: string;
let appDir: string;
/** A Node that runs bin/app.ts itself. */
let node: string;
let installWarnings: string[];
/** The environment the app, npm and the CDK CLI run with: the type-stripping Node first on PATH. */
let appEnv: Record<string, string | undefined>;
/** What `cdk synth` printed on stderr. */
let synthStderr: string;
/** What `cdk synth` wrote for the example's stack. */
let template: Template;

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'broker-cdk-app-'));
  appDir = join(temp, 'app');
  // The example as committed: not what an `npm install` or `cdk synth` run in place left there.
  const leftovers = /\/(node_modules|cdk\.out|package-lock\.json)$/;
  cpSync(join(repoRoot, 'examples/cdk-app'), appDir, { recursive: true, filter: (source) => !leftovers.test(source) });
  // The app runs on a Node that strips types (cdk.json: `node bin/app.ts`); npm and the CLI run on it too (first on PATH).
  node = typeStrippingNode();
  // npm finds its global npmrc (registry, CA file) by its Node's location: keep the one this machine's npm uses.
  const globalconfig = (await run('npm', ['config', 'get', 'globalconfig'], { env })).stdout.trim();
  appEnv = { ...env, PATH: `${dirname(node)}${delimiter}${env.PATH ?? ''}`, npm_config_globalconfig: globalconfig };
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...CDK_PACKAGES], {
    cwd: appDir,
    env: appEnv,
  });
  installWarnings = install.stderr.split('\n').filter((line) => line.startsWith('npm warn'));
  const synth = await run(node, [join(appDir, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--no-notices'], {
    cwd: appDir,
    env: appEnv,
  });
  synthStderr = synth.stderr;
  template = JSON.parse(readFileSync(join(appDir, 'cdk.out/TokenBrokerExample.template.json'), 'utf8')) as Template;
}, 600_000);

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

describe('a CDK app with the packed package', () => {
  it('installs only the package, aws-cdk-lib, constructs and aws-cdk: esbuild, TypeScript, tsx and cdk-nag cannot be resolved', () => {
    const manifest = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    expect(Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).sort()).toEqual([
      name,
      'aws-cdk',
      'aws-cdk-lib',
      'constructs',
    ]);
    const requireFromApp = createRequire(join(appDir, 'bin/app.ts'));
    for (const absent of ['esbuild', 'typescript', 'tsx', 'cdk-nag']) {
      expect(() => requireFromApp.resolve(absent), absent).toThrow(`Cannot find module '${absent}'`);
    }
    expect(requireFromApp.resolve(`${name}/cdk`)).toBe(join(appDir, 'node_modules', name, 'dist/lib/index.js'));
    // Only the note the example's README explains: npm 11 lists the package's prepare script, which builds a git
    // checkout; npm does not run it for a tarball, which holds the build.
    const explained = [
      /^npm warn install-scripts 1 package has install scripts not yet covered by allowScripts:$/,
      /^npm warn install-scripts {3}aws-azure-token-broker@[\d.]+ \(prepare: node --import tsx scripts\/build\.mjs\)$/,
      /^npm warn install-scripts$/,
      /^npm warn install-scripts Run `npm install-scripts ls` to review, /,
    ];
    const unexplained = installWarnings.filter((line) => !explained.some((pattern) => pattern.test(line)));
    expect(unexplained).toEqual([]);
  });

  it('synthesizes the broker with `cdk synth` and Node alone (beforeAll), deploying the prebuilt bundles the package ships', () => {
    const deployed: Record<string, string> = {};
    for (const resource of Object.values(template.Resources)) {
      const id = /\/TokenBroker\/(\w+)\/Resource$/.exec(String(resource.Metadata?.['aws:cdk:path']))?.[1];
      if (resource.Type !== 'AWS::Lambda::Function' || !id || !(id in FUNCTION_ENTRIES)) continue;
      const entry = FUNCTION_ENTRIES[id]!;
      expect(resource.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      const asset = readFileSync(join(appDir, 'cdk.out', String(resource.Metadata?.['aws:asset:path']), 'index.mjs'));
      const shipped = readFileSync(join(appDir, 'node_modules', name, 'dist/functions', entry, 'index.mjs'));
      expect(asset.length, entry).toBeGreaterThan(10_000);
      expect(asset.equals(shipped), `${entry}: the asset is the package's bundle`).toBe(true);
      deployed[id] = entry;
    }
    expect(deployed).toEqual(FUNCTION_ENTRIES);
  });

  it('gives the same template as the constructs built from source, but for where the function code comes from', () => {
    const packaged = structuredClone(template);
    // The example's app, from this repository's sources (bundling off: the code is the one difference expected).
    const { context } = JSON.parse(readFileSync(join(appDir, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const app = new App({ context: { ...context, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'TokenBrokerExample');
    const broker = new TokenBroker(stack, 'TokenBroker', {
      config: {
        tenantId: '11111111-1111-1111-1111-111111111111',
        clientId: '22222222-2222-2222-2222-222222222222',
        scopes: { graph: 'https://graph.microsoft.com/.default' },
      },
    });
    const workload = new iam.Role(stack, 'WorkloadRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    broker.grantToken(workload, 'graph');
    const reader = new lambda.Function(stack, 'GraphReader', {
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      handler: 'index.handler',
      code: lambda.Code.fromInline('def handler(event, context): pass'),
    });
    broker.addIdentityEndpoint(reader, { resources: { 'https://graph.microsoft.com': 'graph' } });
    new CfnOutput(stack, 'IssuerUrl', { value: broker.issuerUrl });
    new CfnOutput(stack, 'TokenUrlGraph', { value: `${broker.apiUrl}/token/graph` });
    new CfnOutput(stack, 'WorkloadRoleArn', { value: workload.roleArn });
    const fromSource = app.synth().getStackByName('TokenBrokerExample').template as Template;

    // The code of the functions and the layer's content (bundling is off here: the layer's build is the next test's).
    const withoutCode = (template: Template) =>
      Object.fromEntries(
        Object.entries(template.Resources).map(([id, { Type, Properties }]) => {
          const { Code: _code, Content: _content, ...rest } = Properties as { Code?: unknown; Content?: unknown };
          return [
            id,
            Type === 'AWS::Lambda::Function' || Type === 'AWS::Lambda::LayerVersion' ? { Type, Properties: rest } : { Type, Properties },
          ];
        }),
      );
    // The CLI adds its version-reporting resource (CDKMetadata); an App in a test has none.
    delete packaged.Resources.CDKMetadata;
    expect(Object.keys(packaged.Resources).sort()).toEqual(Object.keys(fromSource.Resources).sort());
    expect(withoutCode(packaged)).toEqual(withoutCode(fromSource));
  });

  it('builds the Python function’s identity endpoint layer at synth with no esbuild: the extension the package ships, Node.js for arm64 from the pinned npm package', () => {
    const layers = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::LayerVersion');
    expect(layers).toHaveLength(1);
    const [[layerId, layer]] = layers as [[string, Template['Resources'][string]]];
    expect(layer.Properties).toMatchObject({ CompatibleArchitectures: ['arm64'] });
    const reader = Object.values(template.Resources).find((resource) =>
      String(resource.Metadata?.['aws:cdk:path']).endsWith('/GraphReader/Resource'),
    );
    expect(reader?.Properties).toMatchObject({
      Runtime: 'python3.13',
      Architectures: ['arm64'],
      Layers: [{ Ref: layerId }],
      Environment: {
        Variables: {
          IDENTITY_ENDPOINT: 'http://127.0.0.1:41991/msi/token',
          BROKER_IDENTITY_RESOURCES: JSON.stringify({ 'https://graph.microsoft.com': 'graph' }),
        },
      },
    });

    const layerDir = join(appDir, 'cdk.out', String(layer.Metadata?.['aws:asset:path']));
    const shipped = join(appDir, 'node_modules', name, 'dist/layers/identity-endpoint');
    expect(readdirSync(layerDir).sort()).toEqual([EXTENSION, 'extensions']);
    const launcher = join(layerDir, 'extensions', EXTENSION);
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    expect(readFileSync(launcher, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    // The launcher, main.mjs and its chunks: the package's prebuilt files, byte for byte; besides them only Node.js,
    // its licence and the build's record.
    const extensionFiles = filesUnder(shipped);
    expect(extensionFiles).toEqual(expect.arrayContaining([`extensions/${EXTENSION}`, `${EXTENSION}/main.mjs`]));
    expect(filesUnder(layerDir)).toEqual(
      [...extensionFiles, `${EXTENSION}/LICENSE.node`, `${EXTENSION}/layer.json`, `${EXTENSION}/node`].sort(),
    );
    for (const file of extensionFiles) {
      expect(readFileSync(join(layerDir, file)).equals(readFileSync(join(shipped, file))), file).toBe(true);
    }
    expect(synthStderr).toContain(`arm64 layer in `);
    expect(synthStderr).toContain(`the extension prebuilt, from ${shipped}`);
    // No esbuild the layer's script could have loaded, from where it runs in the package.
    expect(() => createRequire(join(appDir, 'node_modules', name, 'dist/scripts/build-identity-layer.mjs')).resolve('esbuild')).toThrow(
      "Cannot find module 'esbuild'",
    );

    // Node.js: an AArch64 ELF (e_machine 183), byte for byte the binary of the pinned tarball, fetched here again by npm
    // (its cache) and checked against the committed sha512 independently of the build's own check.
    const binary = readFileSync(join(layerDir, EXTENSION, 'node'));
    expect(binary.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(binary.readUInt16LE(18)).toBe(183);
    expect(statSync(join(layerDir, EXTENSION, 'node')).mode & 0o777).toBe(0o755);
    const pin = NODE_PIN.packages.arm64;
    const dir = mkdtempSync(join(temp, 'node-arm64-'));
    const [packed] = JSON.parse(
      execFileSync(
        'npm',
        ['pack', `${pin.name}@${NODE_PIN.version}`, '--pack-destination', dir, '--prefer-offline', '--json', '--silent'],
        {
          cwd: dir,
          encoding: 'utf8',
          env: appEnv,
        },
      ),
    ) as [{ filename: string }];
    expect(
      `sha512-${createHash('sha512')
        .update(readFileSync(join(dir, packed.filename)))
        .digest('base64')}`,
    ).toBe(pin.integrity);
    execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', dir, 'package/bin/node']);
    expect(binary.equals(readFileSync(join(dir, 'package/bin/node')))).toBe(true);
  });

  it(
    'builds the same layer, file for file, as this repository builds from the sources (esbuild) for arm64',
    { timeout: 120_000 },
    async () => {
      const layer = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::Lambda::LayerVersion')!;
      const fromPackage = join(appDir, 'cdk.out', String(layer.Metadata?.['aws:asset:path']));
      const fromSource = join(temp, 'layer-from-source');
      await run(process.execPath, [join(repoRoot, 'scripts/build-identity-layer.mjs'), '--arch', 'arm64', '--outdir', fromSource], {
        cwd: repoRoot,
        env,
      });
      const files = filesUnder(fromSource);
      expect(files).toContain(`${EXTENSION}/main.mjs`);
      expect(filesUnder(fromPackage)).toEqual(files);
      const differing = files.filter((file) => {
        const [a, b] = [join(fromPackage, file), join(fromSource, file)];
        return !readFileSync(a).equals(readFileSync(b)) || (statSync(a).mode & 0o777) !== (statSync(b).mode & 0o777);
      });
      expect(differing).toEqual([]);
    },
  );

  it(
    'fails synth offline with an empty npm cache, naming the Node.js package npm could not get and what to do',
    { timeout: 300_000 },
    async () => {
      const emptyCache = mkdtempSync(join(temp, 'npm-cache-'));
      const outdir = mkdtempSync(join(temp, 'cdk-out-offline-'));
      // As the CDK CLI runs the app (cdk.json: `node bin/app.ts`): the App synthesizes into CDK_OUTDIR on exit.
      const synth = run(node, ['bin/app.ts'], {
        cwd: appDir,
        env: { ...appEnv, CDK_OUTDIR: outdir, npm_config_cache: emptyCache, npm_config_offline: 'true' },
      });
      const failure = (await synth.then(
        () => undefined,
        (error: unknown) => error,
      )) as { code: number; stderr: string } | undefined;
      expect(failure?.code).toBe(1);
      const spec = `${NODE_PIN.packages.arm64.name}@${NODE_PIN.version}`;
      expect(failure?.stderr).toContain(
        `the identity endpoint's arm64 layer could not be built: npm could not get ${spec}, the Node.js ${NODE_PIN.version} that the identity endpoint's layer runs on arm64 (ENOTCACHED: `,
      );
      expect(failure?.stderr).toContain(
        `let npm reach the registry (\`npm config get registry\`, proxy and CA settings), or fill npm's cache beforehand where it can (\`node ${join(appDir, 'node_modules', name, 'dist/scripts/build-identity-layer.mjs')} --prefetch\`)`,
      );
    },
  );

  it('type-checks a consumer of both entry points with tsc --strict: ESM on nodenext, node16 and bundler, CommonJS on nodenext and node10', async () => {
    const consumer = `
      import { App, Stack } from 'aws-cdk-lib';
      import * as iam from 'aws-cdk-lib/aws-iam';
      import * as lambda from 'aws-cdk-lib/aws-lambda';
      import { BrokerCredential, fetchBrokerToken, type BrokerToken } from '${name}';
      import {
        AzureToAwsFederation, BrokerMonitoring, ConfigError, GitHubActionsFederation, TokenBroker, type TokenBrokerProps,
        type IdentityEndpointAttachment, type IdentityEndpointOptions,
      } from '${name}/cdk';

      const stack = new Stack(new App(), 'Check');
      const props: TokenBrokerProps = { config: { tenantId: 't', clientId: 'c', scopes: { graph: 'https://graph.microsoft.com/.default' } } };
      const broker = new TokenBroker(stack, 'Broker', props);
      export const grant: iam.Grant = broker.grantToken(new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() }), 'graph');
      export const monitoring: BrokerMonitoring | undefined = broker.monitoring;
      export const credential = new BrokerCredential({ url: broker.apiUrl, scopes: { 'https://graph.microsoft.com/.default': 'graph' } });
      export const token: Promise<BrokerToken> = fetchBrokerToken({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com', alias: 'graph' });
      export const isConfigError = (error: unknown): boolean => error instanceof ConfigError;
      export const reverse = [AzureToAwsFederation, GitHubActionsFederation] as const;
      const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.PYTHON_3_13, handler: 'index.handler', code: lambda.Code.fromInline('') });
      const endpointOptions: IdentityEndpointOptions = { resources: { 'https://graph.microsoft.com': 'graph' }, port: 41991 };
      const attachment: IdentityEndpointAttachment = broker.addIdentityEndpoint(fn, endpointOptions);
      export const layer: lambda.ILayerVersion = attachment.layer;
      export const endpoint: string = attachment.identityEndpoint;
      // @ts-expect-error: a resource maps to an alias, a string
      broker.addIdentityEndpoint(fn, { resources: { 'https://graph.microsoft.com': 42 } });
      // @ts-expect-error: resources is required
      broker.addIdentityEndpoint(fn, { port: 41991 });
      // skipLibCheck hides a declaration that did not resolve (its types become any): these then fail the check.
      // @ts-expect-error: config is required
      new TokenBroker(stack, 'NoConfig', {});
      // @ts-expect-error: an alias is a string
      broker.grantToken(new iam.AccountRootPrincipal(), 42);
      // @ts-expect-error: an access token is a string
      export const wrong: Promise<number> = token.then((t) => t.accessToken);
    `;
    const variants = [
      { dir: 'nodenext', file: 'check.ts', module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false },
      { dir: 'node16', file: 'check.ts', module: 'node16', moduleResolution: 'node16', skipLibCheck: true },
      { dir: 'bundler', file: 'check.ts', module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
      { dir: 'commonjs', file: 'check.cts', module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true },
      // An app from an older `cdk init`: CommonJS, moduleResolution node10 (package.json typesVersions serves it).
      { dir: 'node10', file: 'check.ts', module: 'commonjs', moduleResolution: 'node10', skipLibCheck: true },
    ];
    const results = await Promise.all(
      variants.map(async ({ dir, file, ...options }) => {
        const project = join(appDir, 'ts-check', dir);
        mkdirSync(project, { recursive: true });
        writeFileSync(join(project, file), consumer);
        // A TypeScript app brings its own @types/node; with skipLibCheck off, aws-cdk-lib's declarations need it.
        const compilerOptions = {
          ...options,
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(repoRoot, 'node_modules/@types')],
        };
        writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: [file] }));
        const outcome = await run(process.execPath, [tsc, '-p', project], { cwd: project, env }).then(
          () => '',
          (error: { stdout: string }) => error.stdout,
        );
        return [dir, outcome] as const;
      }),
    );
    // The example's own project too (bin/app.ts, its tsconfig).
    const example = await run(process.execPath, [tsc, '-p', appDir], { cwd: appDir, env }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    expect(Object.fromEntries([...results, ['example', example]])).toEqual({
      nodenext: '',
      node16: '',
      bundler: '',
      commonjs: '',
      node10: '',
      example: '',
    });
  }, 300_000);

  it('loads both entries with require() from a CommonJS app (Node.js 20.19+ and 22.12+ load ES modules that way)', async () => {
    const script = `const { TokenBroker } = require('${name}/cdk'); const { BrokerCredential } = require('${name}');
      console.log(typeof TokenBroker, typeof BrokerCredential);`;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=commonjs', '--eval', script], { cwd: appDir, env });
    expect({ stdout, stderr }).toEqual({ stdout: 'function function\n', stderr: '' });
  });
});

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * The package as a CDK app gets it: a copy of examples/cdk-app/ with the packed tarball, aws-cdk-lib, constructs and
 * aws-cdk installed by npm (from its cache where it can) and nothing else of this repository: no esbuild, TypeScript,
 * tsx or cdk-nag. `cdk synth` runs the app with Node alone (Node's type stripping: 22.18 or later, Lambda's Node 24 when
 * the suite runs on 20) and deploys the functions from the package's prebuilt bundles; tsc --strict type-checks a
 * consumer of both entry points under each module resolution an app may use.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { App, Stack, CfnOutput } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
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
let installWarnings: string[];
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
  const node = typeStrippingNode();
  // npm finds its global npmrc (registry, CA file) by its Node's location: keep the one this machine's npm uses.
  const globalconfig = (await run('npm', ['config', 'get', 'globalconfig'], { env })).stdout.trim();
  const appEnv = { ...env, PATH: `${dirname(node)}${delimiter}${env.PATH ?? ''}`, npm_config_globalconfig: globalconfig };
  const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...CDK_PACKAGES], {
    cwd: appDir,
    env: appEnv,
  });
  installWarnings = install.stderr.split('\n').filter((line) => line.startsWith('npm warn'));
  await run(node, [join(appDir, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--quiet', '--no-notices'], { cwd: appDir, env: appEnv });
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
    new CfnOutput(stack, 'IssuerUrl', { value: broker.issuerUrl });
    new CfnOutput(stack, 'TokenUrlGraph', { value: `${broker.apiUrl}/token/graph` });
    new CfnOutput(stack, 'WorkloadRoleArn', { value: workload.roleArn });
    const fromSource = app.synth().getStackByName('TokenBrokerExample').template as Template;

    const withoutCode = (template: Template) =>
      Object.fromEntries(
        Object.entries(template.Resources).map(([id, { Type, Properties }]) => {
          const { Code: _code, ...rest } = Properties as { Code?: unknown };
          return [id, Type === 'AWS::Lambda::Function' ? { Type, Properties: rest } : { Type, Properties }];
        }),
      );
    // The CLI adds its version-reporting resource (CDKMetadata); an App in a test has none.
    delete packaged.Resources.CDKMetadata;
    expect(Object.keys(packaged.Resources).sort()).toEqual(Object.keys(fromSource.Resources).sort());
    expect(withoutCode(packaged)).toEqual(withoutCode(fromSource));
  });

  it('type-checks a consumer of both entry points with tsc --strict: ESM on nodenext, node16 and bundler, CommonJS on nodenext and node10', async () => {
    const consumer = `
      import { App, Stack } from 'aws-cdk-lib';
      import * as iam from 'aws-cdk-lib/aws-iam';
      import { BrokerCredential, fetchBrokerToken, type BrokerToken } from '${name}';
      import {
        AzureToAwsFederation, BrokerMonitoring, ConfigError, GitHubActionsFederation, TokenBroker, type TokenBrokerProps,
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

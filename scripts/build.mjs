// Compiles what the package ships to plain JavaScript, so that a workload runs the CLIs and imports the client with
// Node alone, and a CDK app deploys the constructs without esbuild: no tsx, no TypeScript, no dev dependency at run
// time. package.json "prepare" runs it on `npm ci` / `npm install` and on `npm pack` / `npm publish` (npm runs prepare
// there too, after prepack, so a prepack script would only build twice); by hand: `npm run build`. It runs under tsx
// (`node --import tsx`), to take the functions' esbuild settings from lib/lambda-bundling.ts itself. It prints nothing
// on stdout (`npm pack --json`).
//
//   client/bin/<name>.ts           →  <outdir>/bin/<name>.js           one file per CLI, `#!/usr/bin/env node`, executable
//   client/index.ts                →  <outdir>/client/index.js         the package's "." entry
//   lib/index.ts                   →  <outdir>/lib/index.js            the "./cdk" entry: the constructs
//                                  →  <outdir>/{client,lib,contract}/*.d.ts   declarations of both (tsc, tsconfig.build.json)
//   lambda/entrypoints/<name>.ts   →  <outdir>/functions/<name>/index.mjs      each function's code, bundled as the stack
//                                     bundles it (LAMBDA_ESBUILD_OPTIONS); the construct deploys these folders
//   client/identity-endpoint/extension/  →  <outdir>/layers/identity-endpoint/   the identity endpoint layer's launcher and
//                                     bundled extension, for every architecture (scripts/build-identity-layer.mjs
//                                     --extension-only); addIdentityEndpoint adds Node.js for the function's one at synth
//   scripts/build-identity-layer.mjs, identity-layer-node.json  →  <outdir>/scripts/   that assembly, run from the
//                                     package (same path from dist/lib/index.js as from lib/identity-endpoint.ts)
//
// Adding a CLI: a file client/bin/<name>.ts that calls a module's main(), and "<name>": "dist/bin/<name>.js" in
// package.json "bin" (test/client/bin-entries.test.ts checks that the two lists agree). Adding a function: its name in
// LAMBDA_ENTRIES (lib/lambda-bundling.ts). Adding a prebuilt asset built by its own script: one line in ASSET_SCRIPTS.
//
// Usage: node --import tsx scripts/build.mjs [--outdir DIR]   (default: dist; the tests build into a temporary directory)
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { BUNDLE_FILE, LAMBDA_ENTRIES, LAMBDA_ESBUILD_OPTIONS } from '../lib/lambda-bundling.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } }).values.outdir);
const { dependencies = {}, peerDependencies = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Prebuilt assets that other scripts build, as [script, folder under outdir, ...arguments]; each script takes
 * `--outdir DIR` after its arguments and runs under tsx like this one. The constructs find them with prebuiltAssetDir
 * (lib/lambda-bundling.ts).
 */
const ASSET_SCRIPTS = [['scripts/build-identity-layer.mjs', 'layers/identity-endpoint', '--extension-only']];

/**
 * Scripts the constructs run at synth, copied as they are into `<outdir>/scripts/`: the same relative path from the
 * compiled construct (dist/lib/index.js) as from its source (lib/). They may import Node's own modules only.
 */
const SHIPPED_SCRIPTS = ['scripts/build-identity-layer.mjs', 'scripts/identity-layer-node.json'];

rmSync(outdir, { recursive: true, force: true });

/** The package an import names (`@scope/name` or `name`), for a bare specifier. */
const packageOf = (path) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');
const isBuiltin = (path) => path.startsWith('node:') || builtinModules.includes(path);

/**
 * Bundles our own modules (client/, contract/, lib/) and leaves every package import to Node at run time; `allowed`
 * are the packages it may import. An external import is resolved from the installing app's node_modules, where only
 * "dependencies" are installed for sure; "peerDependencies" only where the app has them (the CDK app).
 */
async function compile(options, allowed) {
  const { metafile } = await build({
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
    ...options,
  });
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || isBuiltin(path)) continue;
      if (!(packageOf(path) in allowed)) {
        throw new Error(`${file} imports "${path}", but ${packageOf(path)} is not among ${Object.keys(allowed).join(', ')}`);
      }
    }
  }
}

// The CLIs: every file in client/bin/.
const clis = readdirSync(join(root, 'client/bin'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length));
await compile(
  { entryPoints: clis.map((name) => `client/bin/${name}.ts`), outdir: join(outdir, 'bin'), banner: { js: '#!/usr/bin/env node' } },
  dependencies,
);
for (const name of clis) chmodSync(join(outdir, 'bin', `${name}.js`), 0o755);

// The client library, and the constructs (aws-cdk-lib, constructs and cdk-nag come from the CDK app: peers).
await compile({ entryPoints: ['client/index.ts'], outfile: join(outdir, 'client/index.js') }, dependencies);
await compile({ entryPoints: ['lib/index.ts'], outfile: join(outdir, 'lib/index.js') }, { ...dependencies, ...peerDependencies });

// Each function's code, exactly as NodejsFunction bundles it for the stack (lib/broker-function.ts): everything inside,
// the AWS SDK too, so the only imports left are Node's own.
for (const name of LAMBDA_ENTRIES) {
  const { metafile } = await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    absWorkingDir: root,
    entryPoints: [`lambda/entrypoints/${name}.ts`],
    outfile: join(outdir, 'functions', name, BUNDLE_FILE),
    bundle: true,
    platform: 'node',
    metafile: true,
    logLevel: 'warning',
  });
  for (const [file, output] of Object.entries(metafile.outputs)) {
    const left = output.imports.filter(({ path, external }) => external && !isBuiltin(path));
    if (left.length > 0) throw new Error(`${file} leaves ${left.map(({ path }) => path).join(', ')} to the Lambda runtime`);
  }
}

for (const [script, folder, ...args] of ASSET_SCRIPTS) {
  execFileSync(process.execPath, ['--import', 'tsx', join(root, script), ...args, '--outdir', join(outdir, folder)], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  });
}

for (const script of SHIPPED_SCRIPTS) {
  const text = readFileSync(join(root, script), 'utf8');
  // A static import of a package would fail in a CDK app, which has only the package's dependencies and its own.
  const imports = [...text.matchAll(/^import\s[^;]*?from\s*['"]([^'"]+)['"]/gm)].map((match) => match[1]);
  const outside = imports.filter((path) => !isBuiltin(path));
  if (outside.length > 0) throw new Error(`${script} imports ${outside.join(', ')}: a shipped script may import Node's own modules only`);
  mkdirSync(join(outdir, dirname(script)), { recursive: true });
  cpSync(join(root, script), join(outdir, script));
}

// The declarations. tsc keeps the repository's extension-less relative imports (moduleResolution Bundler), which an
// app on moduleResolution node16/nodenext cannot follow; they are rewritten to the `.js` files Node loads. A package a
// declaration imports must reach the app: a dependency, or a peer the constructs' users have.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outdir], { stdio: ['ignore', 2, 2] });
for (const file of declarationFiles(outdir)) {
  const text = readFileSync(file, 'utf8').replace(/((?:from|import)\s*\(?\s*)(['"])([^'"]*)\2/g, (_, lead, quote, spec) => {
    if (!spec.startsWith('.')) {
      if (!isBuiltin(spec) && !(packageOf(spec) in dependencies) && !(packageOf(spec) in peerDependencies)) {
        throw new Error(`${relative(outdir, file)} imports "${spec}", which is neither a dependency nor a peer dependency`);
      }
      return `${lead}${quote}${spec}${quote}`;
    }
    const target = resolve(dirname(file), spec);
    if (existsSync(`${target}.d.ts`)) return `${lead}${quote}${spec}.js${quote}`;
    if (existsSync(join(target, 'index.d.ts'))) return `${lead}${quote}${spec}/index.js${quote}`;
    throw new Error(`${file}: cannot resolve "${spec}"`);
  });
  writeFileSync(file, text);
}

function declarationFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

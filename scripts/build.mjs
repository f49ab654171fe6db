// Compiles what the package ships to plain JavaScript, so that a workload runs the CLIs and imports the client
// with Node alone: no tsx, no TypeScript, no dev dependency at run time. package.json "prepare" runs it on
// `npm ci` / `npm install` and on `npm pack` / `npm publish` (npm runs prepare there too, after prepack, so a
// prepack script would only build twice); by hand: `npm run build`. It prints nothing on stdout (`npm pack --json`).
//
//   client/bin/<name>.ts  →  <outdir>/bin/<name>.js     one file per CLI, `#!/usr/bin/env node`, executable
//   client/index.ts       →  <outdir>/client/index.js   the library entry (package.json "exports")
//                         →  <outdir>/client/*.d.ts     its type declarations (tsc, tsconfig.build.json)
//
// Adding a CLI: a file client/bin/<name>.ts that calls a module's main(), and "<name>": "dist/bin/<name>.js" in
// package.json "bin" (test/client/bin-entries.test.ts checks that the two lists agree).
//
// Usage: node scripts/build.mjs [--outdir DIR]   (default: dist; the tests build into a temporary directory)
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } }).values.outdir);
const { dependencies = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

rmSync(outdir, { recursive: true, force: true });

/** Bundles our own modules (client/, contract/) and leaves every package import to Node at run time. */
async function compile(options) {
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
  // An external import is resolved from the workload's node_modules, where only "dependencies" are installed.
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || path.startsWith('node:') || builtinModules.includes(path)) continue;
      const name = path
        .split('/')
        .slice(0, path.startsWith('@') ? 2 : 1)
        .join('/');
      if (!(name in dependencies)) throw new Error(`${file} imports "${path}", but ${name} is not in package.json "dependencies"`);
    }
  }
}

// The CLIs: every file in client/bin/.
const clis = readdirSync(join(root, 'client/bin'))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length));
await compile({
  entryPoints: clis.map((name) => `client/bin/${name}.ts`),
  outdir: join(outdir, 'bin'),
  banner: { js: '#!/usr/bin/env node' },
});
for (const name of clis) chmodSync(join(outdir, 'bin', `${name}.js`), 0o755);

// The library.
await compile({ entryPoints: ['client/index.ts'], outfile: join(outdir, 'client/index.js') });

// Its declarations. tsc keeps the repository's extension-less relative imports (moduleResolution Bundler), which a
// workload on moduleResolution node16/nodenext cannot follow; they are rewritten to the `.js` files Node loads.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outdir], { stdio: ['ignore', 2, 2] });
for (const file of declarationFiles(outdir)) {
  const text = readFileSync(file, 'utf8').replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\2/g, (_, lead, quote, spec) => {
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

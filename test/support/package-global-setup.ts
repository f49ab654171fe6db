/**
 * Vitest globalSetup (integration project): the package as a workload gets it. It is built from the current sources
 * (scripts/build.mjs, into a temporary directory, never the repository's dist/), packed with `npm pack`, and
 * unpacked into `<workload>/node_modules/<name>` next to links to its runtime dependencies only, with the
 * `node_modules/.bin` links npm makes for its "bin" entries. No devDependency (tsx, typescript, esbuild) is
 * reachable from there, so a CLI or a client import that needs one fails. Tests read it with
 * `inject('builtPackage')`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from './broker-process';

export interface BuiltPackage {
  /** The packed tarball (`npm pack`), as a CDK app installs it. */
  readonly tarball: string;
  /** The workload's directory: a package.json that depends on the package, and node_modules. */
  readonly workloadDir: string;
  /** `<workloadDir>/node_modules/<name>`: the unpacked tarball. */
  readonly packageDir: string;
  readonly name: string;
  /** Absolute path of each "bin" entry's file inside packageDir. */
  readonly bins: Readonly<Record<string, string>>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    builtPackage: BuiltPackage;
  }
}

interface PackageJson {
  readonly name: string;
  readonly bin: Record<string, string>;
  readonly dependencies: Record<string, string>;
}

/** Builds, packs and installs the package in a temporary workload; the returned teardown removes it. */
export default function setup(project: TestProject): () => void {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
  const temp = mkdtempSync(join(tmpdir(), 'broker-package-'));
  const run = (file: string, args: string[], cwd: string) => execFileSync(file, args, { cwd, encoding: 'utf8', stdio: 'pipe' });

  // What `npm pack` would pack, from a staging copy: package.json, README, LICENSE, CHANGELOG and a fresh build.
  const stage = join(temp, 'stage');
  mkdirSync(stage);
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) cpSync(join(repoRoot, file), join(stage, file));
  run(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts/build.mjs'), '--outdir', join(stage, 'dist')], repoRoot);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', temp], stage)) as [
    { filename: string },
  ];

  // `npm install <tarball>`, by hand and offline: unpack, link the dependencies and the bins.
  const workloadDir = join(temp, 'workload');
  const modules = join(workloadDir, 'node_modules');
  const packageDir = join(modules, manifest.name);
  mkdirSync(packageDir, { recursive: true });
  run('tar', ['-xzf', join(temp, packed.filename), '-C', packageDir, '--strip-components=1'], temp);
  for (const dependency of Object.keys(manifest.dependencies)) {
    mkdirSync(dirname(join(modules, dependency)), { recursive: true });
    symlinkSync(join(repoRoot, 'node_modules', dependency), join(modules, dependency), 'dir');
  }
  mkdirSync(join(modules, '.bin'));
  const bins: Record<string, string> = {};
  for (const [name, file] of Object.entries(manifest.bin)) {
    bins[name] = join(packageDir, file);
    chmodSync(bins[name], 0o755); // as npm's bin-links does on install
    symlinkSync(relative(join(modules, '.bin'), bins[name]), join(modules, '.bin', name));
  }
  const workload = { name: 'workload', private: true, type: 'module', dependencies: { [manifest.name]: `file:../${packed.filename}` } };
  writeFileSync(join(workloadDir, 'package.json'), `${JSON.stringify(workload, null, 2)}\n`);

  project.provide('builtPackage', { tarball: join(temp, packed.filename), workloadDir, packageDir, name: manifest.name, bins });
  return () => rmSync(temp, { recursive: true, force: true });
}

/**
 * The packed tarball as package tools read it: publint checks the manifest against the files (exports, types, bin,
 * files), and Are the Types Wrong? resolves both entry points' types the way TypeScript does under node10, node16
 * (from ESM and CommonJS) and bundler.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { repoRoot } from '../support/broker-process';

const run = promisify(execFile);
const { tarball } = inject('builtPackage');
const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' };

describe('the packed package', () => {
  it('passes publint, warnings counted as errors', async () => {
    const publint = join(repoRoot, 'node_modules/publint/src/cli.js');
    const { stdout } = await run(process.execPath, [publint, 'run', tarball, '--strict'], { env });
    expect(stdout).toContain('All good!');
  }, 60_000);

  it('has types that resolve for both entry points under every module resolution (Are the Types Wrong?)', async () => {
    const attw = join(repoRoot, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    // One rule ignored, on purpose: the package is ESM, which a CommonJS app loads with require() on Node.js 20.19+ and
    // 22.12+, and TypeScript allows on moduleResolution nodenext (5.8+); only node16's CommonJS mode forbids it.
    const { stdout } = await run(process.execPath, [attw, tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--no-emoji', '--no-color'], {
      env,
    });
    expect(stdout).toContain('No problems found');
    for (const entry of ['"aws-azure-token-broker"', '"aws-azure-token-broker/cdk"']) expect(stdout).toContain(entry);
  }, 60_000);
});

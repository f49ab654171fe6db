/** The CDK app (bin/app.ts) as `cdk synth` runs it: a child process through tsx. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BAD_CONFIG, EVERY_BAD_FIELD } from '../lib/bad-config';
import { REPO_ROOT } from '../lib/helpers';

describe('bin/app.ts', () => {
  it('fails the CDK app itself (what cdk synth runs) with every bad field', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'broker-synth-'));
    try {
      // The CLI hands context to the app in CDK_CONTEXT_JSON; this is what `cdk synth -c broker=...` does.
      const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ broker: BAD_CONFIG }), CDK_OUTDIR: outdir },
      });
      expect(result.status).not.toBe(0);
      for (const problem of EVERY_BAD_FIELD) expect(result.stderr).toMatch(problem);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});

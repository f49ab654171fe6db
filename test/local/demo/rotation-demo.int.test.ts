/** `npm run demo -- --rotation`: the real command as a child process, showing a key's whole life with nothing refused. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/broker-process';

describe('npm run demo -- --rotation', () => {
  it('shows a key published, active, retired, out of the JWKS and deleted, with every request served', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'local/demo/main.ts', '--rotation'],
        { cwd: repoRoot, timeout: 60_000 },
        (_error, out) => resolve({ code: child.exitCode, stdout: out }),
      );
    });
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/K1 created, active at once/);
    expect(stdout).toMatch(/K2 published\n/);
    expect(stdout).toMatch(/K2: published → active → retired → left → deleted/);
    expect(stdout).toMatch(/K1 deleted/);
    expect(stdout).toMatch(/ 0 refused; Entra exchanges: \d+, refusals: 0\./);
  }, 60_000);
});

/** `broker-keys` as an operator runs it (its bin entry, the real SDK), on a machine with no AWS setup yet. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/broker-process';

/** No region or credentials anywhere the SDK looks, and not the variable the test runner sets to silence the SDK. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return {
    ...env,
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

describe('broker-keys without an AWS setup', () => {
  it('prints one line, the fix first, and no AWS SDK notice about Node.js versions (the SDK prints one on Node.js < 22)', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', join(repoRoot, 'client/bin/broker-keys.ts'), 'status', '--stack', 'Broker'],
        { cwd: repoRoot, env: bareEnv(), timeout: 30_000 },
        (_error, _stdout, stderr) => done({ code: child.exitCode, stderr }),
      );
    });
    expect(code).toBe(1);
    expect(stderr.trimEnd().split('\n')).toEqual([
      "broker-keys: no AWS region: pass --region <region> (the stack's region) or set AWS_REGION, or use a profile that names one (AWS_PROFILE)",
    ]);
  }, 60_000);
});

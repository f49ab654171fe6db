/** The `broker-token` CLI in-process: `main` with injected output, environment and credentials. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, shellQuote } from '../../client/cli';
import type { FakeBroker } from './fake-broker';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker } from './fake-broker';

let broker: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});

describe('cli helpers', () => {
  it('shell-quotes any token safely', () => {
    expect(shellQuote('abc.def-ghi_')).toBe(`'abc.def-ghi_'`);
    expect(shellQuote(`it's $(x)`)).toBe(`'it'\\''s $(x)'`);
  });

  it('runs in-process with injected dependencies', async () => {
    let out = '';
    let err = '';
    const code = await main(['graph', '--url', broker.url, '--region', REGION], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      identify: false,
    });
    expect([code, err]).toEqual([0, '']);
    expect(out).toMatch(new RegExp(`^${TOKEN_PREFIX}-graph-\\d+\\n$`));
  });
});

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

describe('cli refusals before any request', () => {
  async function run(argv: string[], env: Record<string, string> = {}) {
    let out = '';
    let err = '';
    const before = broker.requests.length;
    const code = await main(argv, {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env,
      credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
      identify: false,
    });
    return { code, out, err, sent: broker.requests.length - before };
  }

  it('exits 2 for a --region that is not a region name, sending nothing', async () => {
    const result = await run(['graph', '--url', broker.url, '--region', 'attacker.example/x']);
    expect(result).toEqual({
      code: 2,
      out: '',
      err: 'broker-token: The region from --region is not an AWS region name such as eu-west-1 (received "attacker.example/x"); nothing was sent.\n',
      sent: 0,
    });
  });

  it('exits 2 for an AWS_REGION that is not a region name, sending nothing', async () => {
    const result = await run(['graph', '--url', broker.url], { AWS_REGION: 'sts.attacker.example#' });
    expect(result).toMatchObject({ code: 2, out: '', sent: 0 });
    expect(result.err).toMatch(/^broker-token: The region from AWS_REGION is not an AWS region name/);
  });

  it.each(['http://broker.example.com', 'http://10.0.0.5:8787', 'http://127.0.0.1.nip.io'])(
    'exits 2 for the http:// URL %s (not loopback), sending nothing',
    async (url) => {
      const result = await run(['graph', '--url', url, '--region', REGION]);
      expect(result).toMatchObject({ code: 2, out: '', sent: 0 });
      expect(result.err).toMatch(/^broker-token: The broker URL is not usable: expected an https:\/\/ URL/);
    },
  );
});

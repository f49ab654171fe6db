/**
 * `broker-identity-endpoint` in-process: its two lines, its log lines, usage errors, and the stop on SIGTERM or SIGINT
 * (signals from a stand-in for `process`; test/client/identity-endpoint/cli.int.test.ts sends real ones).
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_ENDPOINT_EXIT, IDENTITY_ENDPOINT_HELP, main, type IdentityEndpointCliIo } from '../../../client/identity-endpoint/cli';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, TOKEN_PREFIX, startFakeBroker, type FakeBroker } from '../fake-broker';

let broker: FakeBroker;
beforeAll(async () => {
  broker = await startFakeBroker();
});
afterAll(async () => {
  await broker.close();
});

class Output {
  text = '';
  private waiters: (() => void)[] = [];
  write(chunk: string) {
    this.text += chunk;
    for (const wake of this.waiters.splice(0)) wake();
  }
  /** Resolves once the output matches. */
  async until(pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = pattern.exec(this.text);
      if (match) return match;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

function io(env: Record<string, string> = {}) {
  const stdout = new Output();
  const stderr = new Output();
  const signals = new EventEmitter();
  const options: IdentityEndpointCliIo = {
    stdout,
    stderr,
    signals,
    env: { AWS_REGION: REGION, ...env },
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    identify: false,
  };
  return { stdout, stderr, signals, options };
}

describe('broker-identity-endpoint', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('prints the two lines, serves tokens, logs each request, and stops on %s', async (signal) => {
    const { stdout, stderr, signals, options } = io();
    const exit = main(['--url', broker.url, '--resource', 'https://storage.azure.com=storage'], options);
    const [, url, header] = await stdout.until(
      /^IDENTITY_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+\/msi\/token)\nIDENTITY_HEADER=([A-Za-z0-9_-]{43})\n$/,
    );
    const answer = await fetch(`${url!}?api-version=2019-08-01&resource=https://storage.azure.com`, {
      headers: { 'X-IDENTITY-HEADER': header! },
    });
    expect(answer.status).toBe(200);
    await stderr.until(/200 ok /);
    expect(stderr.text).toMatch(
      /^broker-identity-endpoint: listening on http:\/\/127\.0\.0\.1:\d+\/msi\/token for https:\/\/storage\.azure\.com \(alias storage\)\n/m,
    );
    expect(stderr.text).toMatch(/^broker-identity-endpoint: 200 ok resource=https:\/\/storage\.azure\.com alias=storage \d+ms$/m);
    expect(signals.listenerCount(signal)).toBe(1);
    signals.emit(signal);
    expect(await exit).toBe(IDENTITY_ENDPOINT_EXIT.stopped);
    expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
    expect(stderr.text).toMatch(/stopped\n$/);
    await expect(fetch(url!)).rejects.toThrow();
    expect(stdout.text.split('\n')).toHaveLength(3);
    expect(stderr.text).not.toContain(TOKEN_PREFIX);
    expect(stderr.text).not.toContain(header);
  });

  it('takes IDENTITY_HEADER, BROKER_URL and BROKER_IDENTITY_RESOURCES from the environment, and logs refusals with their code', async () => {
    const { stdout, stderr, signals, options } = io({
      IDENTITY_HEADER: 'fixed-header-from-the-environment',
      BROKER_URL: broker.url,
      BROKER_IDENTITY_RESOURCES: '{"https://vault.azure.net": "vault"}',
    });
    const exit = main(['--port', '0'], options);
    const [, url] = await stdout.until(/^IDENTITY_ENDPOINT=(\S+)\nIDENTITY_HEADER=fixed-header-from-the-environment\n$/);
    const refused = await fetch(`${url!}?api-version=2019-08-01&resource=https://graph.microsoft.com`, {
      headers: { 'X-IDENTITY-HEADER': 'fixed-header-from-the-environment' },
    });
    expect(refused.status).toBe(400);
    await stderr.until(/400 unmapped_resource correlationId=[0-9a-f-]{36} resource=https:\/\/graph\.microsoft\.com \d+ms\n/);
    signals.emit('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('exits 2 for usage errors, naming what to fix', async () => {
    const usage = async (argv: string[], env: Record<string, string> = {}) => {
      const { stdout, stderr, options } = io(env);
      const code = await main(argv, options);
      expect(stdout.text).toBe('');
      return { code, stderr: stderr.text };
    };
    const resource = ['--resource', 'https://storage.azure.com=storage'];
    expect(await usage(resource)).toEqual({
      code: 2,
      stderr: 'broker-identity-endpoint: no broker URL: pass --url or set BROKER_URL (see --help)\n',
    });
    expect(await usage(['--url', broker.url])).toEqual({
      code: 2,
      stderr: 'broker-identity-endpoint: no resource: pass --resource <azure resource>=<alias> (see --help)\n',
    });
    expect(await usage(['--url', broker.url, '--resource', 'storage'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/is not <azure resource>=<alias>/),
    });
    expect(await usage(['--url', broker.url, ...resource, '--port', 'http'])).toMatchObject({
      code: 2,
      stderr: 'broker-identity-endpoint: --port must be an integer from 0 to 65535, got "http"\n',
    });
    expect(await usage(['--url', broker.url, ...resource], { IDENTITY_HEADER: 'short' })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^broker-identity-endpoint: IDENTITY_HEADER: the identity header must be 16 to 512 characters/),
    });
    expect(await usage(['--url', 'https://broker.example.com', ...resource], { AWS_REGION: '' })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Cannot tell the region of https:\/\/broker\.example\.com\/: pass --region or set AWS_REGION/),
    });
    expect(await usage(['--url', broker.url, ...resource, '--bogus'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Unknown option '--bogus'/),
    });
  });

  it('prints help with the exit codes', async () => {
    const { stdout, options } = io();
    expect(await main(['--help'], options)).toBe(0);
    expect(stdout.text).toBe(IDENTITY_ENDPOINT_HELP);
    expect(stdout.text).toMatch(/IDENTITY_ENDPOINT=http:\/\/127\.0\.0\.1:<port>\/msi\/token\n\s+IDENTITY_HEADER=<secret>/);
    for (const line of ['0  stopped by SIGTERM or SIGINT', '1  could not start', '2  usage error']) expect(stdout.text).toContain(line);
  });
});

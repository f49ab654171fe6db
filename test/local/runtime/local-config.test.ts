/** The local runtime's own configuration rules on top of the broker schema. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../contract/config-error';
import { parseLocalConfig } from '../../../local/runtime/local-config';

const BASE = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '11111111-2222-4333-8444-555555555555',
  scopes: { graph: 'https://graph.microsoft.com/.default' },
};
const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret-key-value' };

function problemsOf(raw: unknown): readonly string[] {
  try {
    parseLocalConfig(raw, 'local.json');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('parseLocalConfig: open mode', () => {
  it.each([undefined, 'https://login.microsoftonline.com', 'https://login.microsoftonline.us', 'https://entra.example.test:8443'])(
    'refuses no localCredentials in front of authorityHost %s (real Entra tokens, unsigned, to anyone on the machine)',
    (authorityHost) => {
      expect(problemsOf({ ...BASE, ...(authorityHost ? { authorityHost } : {}) })).toEqual([
        `localCredentials: required when authorityHost is not a loopback emulator (received authorityHost "${authorityHost ?? 'https://login.microsoftonline.com'}"): without it /token/* hands real Entra tokens to any local user or process, unsigned`,
      ]);
    },
  );

  it.each(['http://127.0.0.1:8788', 'http://localhost:8788', 'http://[::1]:8788', 'http://127.9.8.7'])(
    'allows open mode in front of a loopback emulator (%s)',
    (authorityHost) => {
      expect(parseLocalConfig({ ...BASE, authorityHost }).localCredentials).toBeUndefined();
    },
  );

  it('allows real Entra behind localCredentials', () => {
    expect(parseLocalConfig({ ...BASE, localCredentials: CREDENTIALS }).localCredentials).toEqual(CREDENTIALS);
  });
});

describe('parseLocalConfig: local fields', () => {
  it('takes a sealingKeyFile, and leaves it undefined (generated) otherwise', () => {
    const local = { ...BASE, localCredentials: CREDENTIALS };
    expect(parseLocalConfig({ ...local, sealingKeyFile: 'keys/sealing' }).sealingKeyFile).toBe('keys/sealing');
    expect(parseLocalConfig(local).sealingKeyFile).toBeUndefined();
    expect(problemsOf({ ...local, sealingKeyFile: '' })).toEqual(['sealingKeyFile: expected a non-empty string, received ""']);
  });

  it.each(['evil.example/x-1', 'us-east-1.attacker.example', 'US-EAST-1', 'us-east-1#'])('refuses the region %j', (region) => {
    expect(problemsOf({ ...BASE, localCredentials: CREDENTIALS, region })).toEqual([
      expect.stringMatching(/^region: expected a string matching /),
    ]);
  });
});

describe('parseLocalConfig: signer "aws-sts"', () => {
  const STS = { ...BASE, authorityHost: 'http://127.0.0.1:9000', signer: 'aws-sts' };

  it('takes an issuer as the loopback address where the STS stand-in listens, or none (a free port)', () => {
    expect(parseLocalConfig({ ...STS, issuer: 'http://127.0.0.1:8788' }).issuer).toBe('http://127.0.0.1:8788');
    expect(parseLocalConfig(STS).issuer).toBeUndefined();
  });

  it.each(['http://127.0.0.1', 'http://127.0.0.1:8788/broker', 'https://issuer.example.com'])(
    'refuses issuer %s, which the stand-in cannot listen on, naming the value',
    (issuer) => {
      expect(problemsOf({ ...STS, issuer })).toEqual([
        `issuer: with signer "aws-sts" it is where the local STS outbound-federation stand-in listens, so an http loopback URL with a port and no path (e.g. "http://127.0.0.1:8788"), received "${issuer}"`,
      ]);
    },
  );

  it('refuses a signingKeyFile, which nothing would sign with', () => {
    expect(problemsOf({ ...STS, signingKeyFile: '/tmp/key.pem' })).toEqual([
      'signingKeyFile: applies to signer "kms" only; with signer "aws-sts" the local STS stand-in signs, remove it',
    ]);
  });
});

describe('parseLocalConfig: key rotation', () => {
  const LOCAL = { ...BASE, authorityHost: 'http://127.0.0.1:8788' };

  it('takes signingKeyDir with any positive keyRotation figures', () => {
    const config = parseLocalConfig({
      ...LOCAL,
      signingKeyDir: '/tmp/keys',
      keyRotation: { intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 },
    });
    expect(config.signingKeyDir).toBe('/tmp/keys');
    expect(config.broker.deployment.keyRotation).toEqual({ intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 });
  });

  it('refuses keyRotation without signingKeyDir, signingKeyDir with signingKeyFile, and a lead not shorter than the interval', () => {
    expect(problemsOf({ ...LOCAL, keyRotation: { intervalSeconds: 15, publishLeadSeconds: 6, retireAfterSeconds: 5 } })).toEqual([
      'signingKeyDir: required with keyRotation locally (the folder the rotation keeps its PEM keys in), received nothing',
    ]);
    expect(problemsOf({ ...LOCAL, signingKeyDir: '/tmp/keys', signingKeyFile: '/tmp/key.pem' })).toEqual([
      'signingKeyFile: not with signingKeyDir (received both, "/tmp/key.pem" and "/tmp/keys"): the rotation creates its own keys in signingKeyDir',
    ]);
    expect(problemsOf({ ...LOCAL, signingKeyDir: '/tmp/keys', keyRotation: { intervalSeconds: 10, publishLeadSeconds: 10 } })[0]).toMatch(
      /^keyRotation\.publishLeadSeconds: expected less than intervalSeconds \(10\)/,
    );
  });

  it('takes rotationStateKeyFile with signingKeyDir, and refuses it without (it authenticates the rotation state only)', () => {
    expect(parseLocalConfig({ ...LOCAL, signingKeyDir: '/tmp/keys', rotationStateKeyFile: '/tmp/state-key' }).rotationStateKeyFile).toBe(
      '/tmp/state-key',
    );
    expect(problemsOf({ ...LOCAL, rotationStateKeyFile: '/tmp/state-key' })).toEqual([
      'rotationStateKeyFile: applies with signingKeyDir only (the rotation\'s state is what it authenticates), received "/tmp/state-key" without it',
    ]);
    expect(problemsOf({ ...LOCAL, signingKeyDir: '/tmp/keys', rotationStateKeyFile: '' })).toEqual([
      'rotationStateKeyFile: expected a non-empty string, received ""',
    ]);
  });
});

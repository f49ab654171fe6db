import { describe, expect, it } from 'vitest';
import { BrokerClientError } from '../../client/errors';
import { parseBaseUrl, parseExecuteApiHost, resolveCredentials, resolveRegion, signRequest, tokenUrl } from '../../client/sign-request';
import { verifySigV4Request } from '../../local/runtime/sigv4-verifier';

function caught(fn: () => unknown): BrokerClientError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BrokerClientError) return error;
    throw error;
  }
  throw new Error('expected a BrokerClientError');
}

describe('region', () => {
  const url = new URL('https://abc123.execute-api.eu-west-1.amazonaws.com');

  it('prefers the explicit region, then the execute-api host, then AWS_REGION, then AWS_DEFAULT_REGION', () => {
    expect(resolveRegion(url, 'us-west-2', { AWS_REGION: 'us-east-1' })).toBe('us-west-2');
    expect(resolveRegion(url, undefined, { AWS_REGION: 'us-east-1' })).toBe('eu-west-1');
    const custom = new URL('https://broker.example.com/v1');
    expect(resolveRegion(custom, undefined, { AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'eu-north-1' })).toBe('us-east-1');
    expect(resolveRegion(custom, undefined, { AWS_DEFAULT_REGION: 'eu-north-1' })).toBe('eu-north-1');
  });

  it.each([
    ['--region', 'attacker.example/x', {}],
    ['--region', 'eu-west-1.attacker.example', {}],
    ['--region', 'EU-WEST-1', {}],
    ['AWS_REGION', undefined, { AWS_REGION: 'x.attacker.example#' }],
    ['AWS_DEFAULT_REGION', undefined, { AWS_DEFAULT_REGION: 'eu-west-1/..' }],
  ])('refuses a region from %s that is not a region name (%j), before anything is sent', (source, explicit, env) => {
    const custom = new URL('https://broker.example.com/v1');
    const error = caught(() => resolveRegion(custom, explicit, env));
    expect(error.code).toBe('invalid_argument');
    const received = explicit ?? Object.values(env)[0];
    expect(error.message).toBe(
      `The region from ${source} is not an AWS region name such as eu-west-1 (received ${JSON.stringify(received)}); nothing was sent.`,
    );
  });

  it('says how to fix an unknown region', () => {
    const error = caught(() => resolveRegion(new URL('https://broker.example.com/v1'), undefined, {}));
    expect(error.code).toBe('invalid_argument');
    expect(error.message).toBe('Cannot tell the region of https://broker.example.com/v1: pass --region or set AWS_REGION.');
  });

  it('parses execute-api host names, including China and private (VPC endpoint) APIs', () => {
    expect(parseExecuteApiHost('abc123.execute-api.eu-west-1.amazonaws.com')).toEqual({ apiId: 'abc123', region: 'eu-west-1' });
    expect(parseExecuteApiHost('abc123.execute-api.cn-north-1.amazonaws.com.cn')).toEqual({ apiId: 'abc123', region: 'cn-north-1' });
    expect(parseExecuteApiHost('abc123-vpce-0123456789abcdef0.execute-api.us-gov-west-1.vpce.amazonaws.com')).toEqual({
      apiId: 'abc123',
      region: 'us-gov-west-1',
    });
    expect(parseExecuteApiHost('broker.example.com')).toBeUndefined();
    expect(parseExecuteApiHost('abc123.execute-api.eu-west-1.amazonaws.com.evil.example')).toBeUndefined();
  });
});

describe('URLs', () => {
  it('keeps a base path without doubling slashes and encodes the alias as one segment', () => {
    expect(tokenUrl(parseBaseUrl('https://abc.execute-api.eu-west-1.amazonaws.com'), 'graph').href).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/token/graph',
    );
    expect(tokenUrl(parseBaseUrl('https://abc.execute-api.eu-west-1.amazonaws.com/'), 'graph').href).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/token/graph',
    );
    expect(tokenUrl(parseBaseUrl('https://broker.example.com/v1/'), 'graph').href).toBe('https://broker.example.com/v1/token/graph');
    expect(tokenUrl(parseBaseUrl('https://broker.example.com/v1//'), 'graph').href).toBe('https://broker.example.com/v1/token/graph');
    expect(tokenUrl(parseBaseUrl('http://127.0.0.1:8080/a/b'), 'a/b c').href).toBe('http://127.0.0.1:8080/a/b/token/a%2Fb%20c');
  });

  it('refuses what is not a base URL', () => {
    for (const [url, message] of [
      [
        'not a url',
        'The broker URL is not usable: expected the broker\'s base URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com, received "not a url".',
      ],
      [
        'ftp://broker.example.com',
        'The broker URL is not usable: expected an https:// URL (the answer carries an access token), received "ftp://broker.example.com".',
      ],
      [
        'http://broker.example.com',
        'The broker URL is not usable: expected an https:// URL (the answer carries an access token), received "http://broker.example.com".',
      ],
      [
        'https://broker.example.com/?x=1',
        'The broker URL is not usable: expected a base URL without query, fragment or user info, received "https://broker.example.com/?x=1".',
      ],
    ] as const) {
      const error = caught(() => parseBaseUrl(url));
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toBe(message);
    }
    const error = caught(() => tokenUrl(parseBaseUrl('https://broker.example.com'), ''));
    expect([error.code, error.message]).toEqual([
      'invalid_argument',
      'The alias is empty; pass the alias of the scope to get a token for (broker https://broker.example.com/).',
    ]);
  });
});

describe('private endpoint URLs (the stack outputs TokenUrl… and PrivateApiUrl…)', () => {
  it.each([
    ['private DNS on', 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/broker'],
    [
      'private DNS off (the Route 53 alias of the VPC endpoint)',
      'https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com/broker',
    ],
  ])('takes the region and API id from the host and keeps the stage path, with %s', (_, base) => {
    const url = parseBaseUrl(base);
    expect(parseExecuteApiHost(url.hostname)).toEqual({ apiId: 'a1b2c3d4e5', region: 'eu-west-1' });
    expect(resolveRegion(url, undefined, { AWS_REGION: 'us-east-1' })).toBe('eu-west-1');
    expect(tokenUrl(url, 'graph').href).toBe(`${base}/token/graph`);
  });

  it('signs the stage path, as API Gateway checks the signature over the path it received', async () => {
    const url = tokenUrl(parseBaseUrl('https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com/broker'), 'graph');
    const credentials = { accessKeyId: 'AKIDSIGNTEST00000002', secretAccessKey: 'sign/secret/2' };
    const now = Date.UTC(2025, 0, 2, 3, 4, 5);
    const headers = await signRequest({ method: 'GET', url, region: 'eu-west-1', service: 'execute-api', credentials, now });
    const verify = (path: string) =>
      verifySigV4Request(
        { method: 'GET', path, query: '', headers: { ...headers, host: url.host }, body: '' },
        { ...credentials, region: 'eu-west-1', service: 'execute-api', now: () => now },
      );
    expect(verify('/broker/token/graph').ok).toBe(true);
    // Without the stage the signature is another one: a client that dropped the base path would be refused.
    expect(verify('/token/graph').ok).toBe(false);
  });
});

describe('signRequest', () => {
  const credentials = { accessKeyId: 'AKIDSIGNTEST00000001', secretAccessKey: 'sign/secret', sessionToken: 'session-token-value' };

  it('produces headers the verifier accepts for the path and host fetch will send', async () => {
    const now = Date.UTC(2025, 0, 2, 3, 4, 5);
    const url = tokenUrl(parseBaseUrl('http://127.0.0.1:8080/v1/'), 'my alias');
    const headers = await signRequest({ method: 'GET', url, region: 'eu-west-1', service: 'execute-api', credentials, now });
    expect(headers.host).toBeUndefined();
    expect(headers['x-amz-date']).toBe('20250102T030405Z');
    expect(headers['x-amz-security-token']).toBe('session-token-value');
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDSIGNTEST00000001\/20250102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    const verdict = verifySigV4Request(
      { method: 'GET', path: url.pathname, query: '', headers: { ...headers, host: '127.0.0.1:8080' }, body: '' },
      {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        region: 'eu-west-1',
        service: 'execute-api',
        now: () => now,
      },
    );
    expect(verdict).toEqual({ ok: true });
  });

  it('reports a failing credentials provider with its message and the URL', async () => {
    const error = await resolveCredentials(async () => {
      throw new Error('Could not load credentials from any providers');
    }, 'https://broker.example.com/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerClientError);
    expect((error as BrokerClientError).code).toBe('credentials_unavailable');
    expect((error as BrokerClientError).message).toBe(
      'Cannot get AWS credentials to sign the request to https://broker.example.com/: Could not load credentials from any providers',
    );
  });
});

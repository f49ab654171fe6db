/** The extension's configuration: every variable checked, each problem naming its variable, all problems at once. */
import { describe, expect, it } from 'vitest';
import { readExtensionConfig } from '../../../../client/identity-endpoint/extension/extension-config';

const VALID = {
  IDENTITY_ENDPOINT: 'http://127.0.0.1:41991/msi/token',
  IDENTITY_HEADER: 'header-value-0123456789',
  BROKER_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  BROKER_IDENTITY_RESOURCES: '{"https://storage.azure.com": "storage", "api://orders": "orders"}',
};

function problems(env: Record<string, string | undefined>): readonly string[] {
  const result = readExtensionConfig(env);
  if (result.ok) throw new Error('expected problems, the configuration was accepted');
  return result.problems;
}

describe('readExtensionConfig', () => {
  it('reads the port, the header, the broker URL, the map and the optional region', () => {
    const result = readExtensionConfig({ ...VALID, IDENTITY_ENDPOINT: 'http://localhost:2400/msi/token', BROKER_REGION: 'eu-central-1' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      port: 2400,
      identityHeader: VALID.IDENTITY_HEADER,
      brokerUrl: VALID.BROKER_URL,
      region: 'eu-central-1',
    });
    expect(result.config.resources.aliasFor('https://storage.azure.com/')).toBe('storage');
    expect(result.config.resources.aliasFor('api://orders/.default')).toBe('orders');
    expect(readExtensionConfig(VALID)).toMatchObject({ ok: true, config: { region: undefined } });
  });

  it('names every variable that is missing, in one list', () => {
    expect(problems({})).toEqual([
      'IDENTITY_ENDPOINT is not set',
      'IDENTITY_HEADER is not set',
      'BROKER_URL is not set',
      'BROKER_IDENTITY_RESOURCES is not set',
    ]);
    expect(problems({ ...VALID, IDENTITY_HEADER: '' })).toEqual(['IDENTITY_HEADER is not set']);
  });

  it.each([
    ['https://127.0.0.1:41991/msi/token', 'must be http://127.0.0.1:<port>/msi/token: the extension listens on 127.0.0.1 only'],
    ['http://10.0.0.5:41991/msi/token', 'must be http://127.0.0.1:<port>/msi/token: the extension listens on 127.0.0.1 only'],
    ['http://127.0.0.1:41991/token', 'must end in the path /msi/token, with no query'],
    ['http://127.0.0.1:41991/msi/token?x=1', 'must end in the path /msi/token, with no query'],
    ['http://127.0.0.1/msi/token', 'must name a port from 1024 to 65535'],
    ['http://127.0.0.1:443/msi/token', 'must name a port from 1024 to 65535'],
    ['127.0.0.1:41991', 'is not a URL: expected http://127.0.0.1:<port>/msi/token'],
  ])('refuses IDENTITY_ENDPOINT %s', (value, problem) => {
    expect(problems({ ...VALID, IDENTITY_ENDPOINT: value })).toEqual([`IDENTITY_ENDPOINT ${problem}, got ${JSON.stringify(value)}`]);
  });

  it('refuses a broker URL outside the URL policy, and a resource map that is not a map', () => {
    expect(problems({ ...VALID, BROKER_URL: 'http://broker.example.com' })).toEqual([
      'BROKER_URL: The broker URL is not usable: expected an https:// URL (the answer carries an access token), received "http://broker.example.com".',
    ]);
    expect(problems({ ...VALID, BROKER_IDENTITY_RESOURCES: '["https://storage.azure.com"]' })).toEqual([
      'BROKER_IDENTITY_RESOURCES must be a JSON object {"<azure resource>": "<alias>", …}',
    ]);
    expect(problems({ ...VALID, BROKER_IDENTITY_RESOURCES: '{}' })).toEqual([
      'BROKER_IDENTITY_RESOURCES: no resource is mapped: give at least one <azure resource>=<alias>',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseResourceFlags, parseResourceMapJson, resourceMap } from '../../../client/identity-endpoint/resource-map';

describe('resource map', () => {
  it('finds the alias of a resource in every spelling an SDK sends', () => {
    const map = resourceMap({ 'https://storage.azure.com/': 'storage', 'api://11111111-2222-3333-4444-555555555555': 'api' });
    for (const resource of ['https://storage.azure.com', 'https://storage.azure.com/', 'https://storage.azure.com/.default']) {
      expect(map.aliasFor(resource), resource).toBe('storage');
    }
    expect(map.aliasFor('api://11111111-2222-3333-4444-555555555555')).toBe('api');
    expect(map.aliasFor('https://vault.azure.net')).toBeUndefined();
    expect(map.describe()).toBe('https://storage.azure.com/ (alias storage), api://11111111-2222-3333-4444-555555555555 (alias api)');
  });

  it('parses --resource values, splitting at the last "="', () => {
    const map = parseResourceFlags(['https://storage.azure.com=storage', 'https://x.example/?a=b=x-api']);
    expect(map.entries).toEqual([
      ['https://storage.azure.com', 'storage'],
      ['https://x.example/?a=b', 'x-api'],
    ]);
  });

  it('refuses entries a user must fix, naming them', () => {
    expect(() => parseResourceFlags([])).toThrow(/no resource is mapped/);
    expect(() => parseResourceFlags(['https://storage.azure.com'])).toThrow(
      '--resource "https://storage.azure.com" is not <azure resource>=<alias>, e.g. https://storage.azure.com=storage',
    );
    expect(() => parseResourceFlags(['=storage'])).toThrow(/is not <azure resource>=<alias>/);
    expect(() => parseResourceFlags(['https://storage.azure.com=Storage'])).toThrow(/must be a broker alias .*got "Storage"/);
    expect(() => parseResourceFlags(['https://storage.azure.com=a', 'https://storage.azure.com/=b'])).toThrow(
      'the resource https://storage.azure.com/ is mapped to both "a" and "b"',
    );
    expect(() => resourceMap({ 'not a resource': 'x' })).toThrow(/"not a resource" is not a resource/);
  });

  it('reads the JSON form and names its source when it is wrong', () => {
    expect(
      parseResourceMapJson('{"https://storage.azure.com":"storage"}', 'BROKER_IDENTITY_RESOURCES').aliasFor('https://storage.azure.com'),
    ).toBe('storage');
    expect(() => parseResourceMapJson('{nope', 'BROKER_IDENTITY_RESOURCES')).toThrow(/^BROKER_IDENTITY_RESOURCES is not JSON/);
    expect(() => parseResourceMapJson('["x"]', 'BROKER_IDENTITY_RESOURCES')).toThrow(/must be a JSON object/);
    expect(() => parseResourceMapJson('{"https://x.example": 3}', 'BROKER_IDENTITY_RESOURCES')).toThrow(/got 3/);
  });
});

import { describe, expect, it } from 'vitest';
import { aliasOutputIds } from '../../lib/alias-output-ids';

describe('aliasOutputIds', () => {
  it('PascalCases aliases', () => {
    expect(Object.fromEntries(aliasOutputIds(['graph', 'storage-eu', '2nd-api']))).toEqual({
      graph: 'Graph',
      'storage-eu': 'StorageEu',
      '2nd-api': '2ndApi',
    });
  });

  it('keeps clashing aliases apart with a hash, whatever their order', () => {
    const ids = aliasOutputIds(['a-b', 'a--b', 'ab', 'graph']);
    expect(ids.get('ab')).toBe('Ab');
    expect(ids.get('graph')).toBe('Graph');
    expect(ids.get('a-b')).toMatch(/^AB[0-9A-F]{8}$/);
    expect(ids.get('a--b')).toMatch(/^AB[0-9A-F]{8}$/);
    expect(ids.get('a-b')).not.toBe(ids.get('a--b'));
    expect(aliasOutputIds(['a--b', 'a-b']).get('a-b')).toBe(ids.get('a-b'));
    for (const id of ids.values()) expect(id).toMatch(/^[A-Za-z0-9]+$/);
  });
});

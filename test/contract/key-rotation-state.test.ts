import { describe, expect, it } from 'vitest';
import {
  activeKey,
  parseKeyRotationSettingsJson,
  parseRotationState,
  publishedKeys,
  type RotationKey,
} from '../../contract/key-rotation-state';

const JWK = { kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'kid', n: 'n', e: 'AQAB' } as const;
const key = (keyId: string, status: RotationKey['status'], extra: Partial<RotationKey> = {}): RotationKey => ({
  keyId,
  jwk: { ...JWK, kid: `kid-${keyId}` },
  status,
  reason: 'schedule',
  publishedAt: 100,
  activatesAt: 200,
  ...extra,
});

describe('rotation state', () => {
  it('reads back what the rotation writes, and orders the JWKS active first, then next, then retired', () => {
    const state = {
      keys: [
        key('a', 'deletion-scheduled', { deletionScheduledAt: 5 }),
        key('b', 'retired', { retiredAt: 9 }),
        key('c', 'active', { activatedAt: 9 }),
        key('d', 'published'),
      ],
    };
    const parsed = parseRotationState(JSON.stringify(state));
    expect(parsed).toEqual(state);
    expect(activeKey(parsed)?.keyId).toBe('c');
    expect(publishedKeys(parsed).map((k) => k.keyId)).toEqual(['c', 'd', 'b']);
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['no keys', '{}', /expected \{"keys": \[\.\.\.\]\}/],
    ['a JWK that is not RS256', JSON.stringify({ keys: [{ ...key('a', 'active'), jwk: { ...JWK, alg: 'RS512' } }] }), /keys\[0\]\.jwk/],
    ['an unknown status', JSON.stringify({ keys: [{ ...key('a', 'active'), status: 'zombie' }] }), /keys\[0\]\.status.*"zombie"/],
    [
      'a time that is not unix seconds',
      JSON.stringify({ keys: [key('a', 'active', { activatedAt: 1.5 })] }),
      /keys\[0\]\.activatedAt.*1\.5/,
    ],
    ['two active keys', JSON.stringify({ keys: [key('a', 'active'), key('b', 'active')] }), /exactly one active key, found 2/],
  ])('refuses %s, naming what is wrong', (_what, json, message) => {
    expect(() => parseRotationState(json)).toThrow(message);
    expect(() => parseRotationState(json)).toThrow(expect.objectContaining({ code: 'invalid_rotation_state' }) as Error);
  });

  it('reads the settings the stack passes, and names a field that is not a positive integer', () => {
    expect(parseKeyRotationSettingsJson('{"intervalSeconds":15,"publishLeadSeconds":6,"retireAfterSeconds":5}')).toEqual({
      intervalSeconds: 15,
      publishLeadSeconds: 6,
      retireAfterSeconds: 5,
    });
    expect(() => parseKeyRotationSettingsJson('{"intervalSeconds":15,"publishLeadSeconds":0,"retireAfterSeconds":5}')).toThrow(
      'keyRotation.publishLeadSeconds: expected a positive integer, received 0',
    );
  });
});

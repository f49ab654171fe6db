import { describe, expect, it } from 'vitest';
import { accessTokenUti } from '../../../lambda/core/access-token-id';

const part = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const jwt = (payload: unknown) => `${part({ typ: 'JWT', alg: 'RS256', kid: 'k1' })}.${part(payload)}.c2lnbmF0dXJl`;

describe('accessTokenUti', () => {
  it("reads the uti claim of an Entra access token's payload, without verifying it", () => {
    expect(accessTokenUti(jwt({ aud: 'https://graph.microsoft.com', uti: 'm4xTQZ2KvUuhC3hMnQ0AAA', ver: '1.0' }))).toBe(
      'm4xTQZ2KvUuhC3hMnQ0AAA',
    );
  });

  it.each([
    ['an opaque token', 'opaque-token-from-a-resource-that-does-not-issue-jwts'],
    ['a token with one dot', 'abc.def'],
    ['a payload that is not base64url JSON', 'eyJhbGciOiJSUzI1NiJ9.%%%.c2ln'],
    ['a payload that is JSON but not an object', jwt('"just a string"')],
    ['a payload that is null', jwt(null)],
    ['a token without uti', jwt({ aud: 'https://graph.microsoft.com' })],
    ['a uti that is not a string', jwt({ uti: 42 })],
    ['a uti with characters no Entra uti has', jwt({ uti: 'a"b\n{}' })],
    ['a uti far longer than Entra issues', jwt({ uti: 'a'.repeat(65) })],
    ['an empty string', ''],
  ])('answers undefined for %s, without throwing', (_, token) => {
    expect(accessTokenUti(token)).toBeUndefined();
  });
});

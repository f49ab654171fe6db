import { describe, expect, it } from 'vitest';
import { isCallerAllowed, parseAllowedCallers } from '../../../lambda/core/caller-restriction';

const caller = { accountId: '111122223333', principalOrgId: 'o-abc123', userArn: 'arn:aws:sts::111122223333:assumed-role/app/fn' };

describe('isCallerAllowed', () => {
  it('allows every caller IAM allowed when no restriction is set', () => {
    expect(isCallerAllowed(caller, undefined)).toBe(true);
    expect(isCallerAllowed(caller, {})).toBe(true);
  });

  it('allows a listed account and refuses another', () => {
    const allowed = { accountIds: ['111122223333'] };
    expect(isCallerAllowed(caller, allowed)).toBe(true);
    expect(isCallerAllowed({ ...caller, accountId: '444455556666' }, allowed)).toBe(false);
  });

  it('requires every list that is set (account and organization)', () => {
    const allowed = { accountIds: ['111122223333'], principalOrgIds: ['o-other'] };
    expect(isCallerAllowed(caller, allowed)).toBe(false);
    expect(isCallerAllowed(caller, { ...allowed, principalOrgIds: ['o-abc123'] })).toBe(true);
  });

  it('refuses a caller without IAM identity when a restriction is set', () => {
    expect(isCallerAllowed(undefined, { accountIds: ['111122223333'] })).toBe(false);
    expect(isCallerAllowed({ accountId: null }, { accountIds: ['111122223333'] })).toBe(false);
  });
});

describe('parseAllowedCallers', () => {
  it('reads the BROKER_ALLOWED_CALLERS JSON, and nothing as no restriction', () => {
    expect(parseAllowedCallers('{"accountIds":["111122223333"]}')).toStrictEqual({
      accountIds: ['111122223333'],
      principalOrgIds: undefined,
    });
    expect(parseAllowedCallers(undefined)).toBeUndefined();
    expect(parseAllowedCallers('')).toBeUndefined();
  });

  it.each([
    ['["111122223333"]', /BROKER_ALLOWED_CALLERS: expected an object, received \["111122223333"\]/],
    [
      '{"accountIds":"111122223333"}',
      /BROKER_ALLOWED_CALLERS: expected \{"accountIds"\?: string\[\], "principalOrgIds"\?: string\[\]\}, received \{"accountIds":"111122223333"\}/,
    ],
    ['{"accounts":["111122223333"]}', /received \{"accounts":\["111122223333"\]\}/],
    ['{accountIds: [1]', /BROKER_ALLOWED_CALLERS: .*received \{accountIds: \[1\]/],
  ])('refuses %s with a TypeError naming the value', (json, message) => {
    expect(() => parseAllowedCallers(json)).toThrow(TypeError);
    expect(() => parseAllowedCallers(json)).toThrow(message);
  });
});

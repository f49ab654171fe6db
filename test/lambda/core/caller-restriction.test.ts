import { describe, expect, it } from 'vitest';
import { isCallerAllowed } from '../../../lambda/core/caller-restriction';

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

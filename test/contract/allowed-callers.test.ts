import { describe, expect, it } from 'vitest';
import { allowedCallersProblems, parseAllowedCallersJson } from '../../contract/allowed-callers';

describe('parseAllowedCallersJson', () => {
  it('reads the BROKER_ALLOWED_CALLERS JSON, and nothing as no restriction', () => {
    expect(parseAllowedCallersJson('{"accountIds":["111122223333"]}')).toStrictEqual({ accountIds: ['111122223333'] });
    expect(parseAllowedCallersJson('{"accountIds":["111122223333"],"principalOrgIds":[]}')).toStrictEqual({
      accountIds: ['111122223333'],
      principalOrgIds: [],
    });
    expect(parseAllowedCallersJson(undefined)).toBeUndefined();
    expect(parseAllowedCallersJson('')).toBeUndefined();
  });

  it.each([
    [
      '["111122223333"]',
      /BROKER_ALLOWED_CALLERS: allowedCallers: expected \{"accountIds"\?: \[...\], "principalOrgIds"\?: \[...\]\}, received \["111122223333"\]/,
    ],
    ['{"accountIds":"111122223333"}', /allowedCallers.accountIds: expected a list, received "111122223333"/],
    ['{"accounts":["111122223333"]}', /allowedCallers.accounts: unknown field/],
    ['{"accountIds":["1234"]}', /allowedCallers.accountIds\[0\]: expected a 12-digit AWS account id, received "1234"/],
    ['{"accountIds":[]}', /expected at least one account id or organization id/],
    ['{accountIds: [1]', /BROKER_ALLOWED_CALLERS: expected JSON, received "\{accountIds: \[1\]"/],
  ])('refuses %s with a TypeError naming the value', (json, message) => {
    expect(() => parseAllowedCallersJson(json)).toThrow(TypeError);
    expect(() => parseAllowedCallersJson(json)).toThrow(message);
  });
});

describe('allowedCallersProblems', () => {
  it('skips values the caller says are not resolved yet (CDK tokens)', () => {
    expect(
      allowedCallersProblems({ accountIds: ['${Token[AWS.AccountId.1]}'] }, (value) => String(value).startsWith('${Token')),
    ).toStrictEqual([]);
    expect(allowedCallersProblems({ principalOrgIds: ['o-short'] })).toStrictEqual([
      'allowedCallers.principalOrgIds[0]: expected an AWS Organizations id such as o-a1b2c3d4e5, received "o-short"',
    ]);
  });
});

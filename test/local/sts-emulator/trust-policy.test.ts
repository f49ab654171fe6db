import { describe, expect, it } from 'vitest';
import { escapeXml, QueryError, renderQueryError, renderQueryResult } from '../../../local/sts-emulator/query-protocol';
import { ASSUME_ROLE_WITH_WEB_IDENTITY, evaluateTrustPolicy, type TrustRequest } from '../../../local/sts-emulator/trust-policy';

const PROVIDER = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
const request = (sub: string | undefined, aud = 'sts.amazonaws.com'): TrustRequest => ({
  action: ASSUME_ROLE_WITH_WEB_IDENTITY,
  federatedPrincipal: PROVIDER,
  context: { 'token.actions.githubusercontent.com:aud': aud, 'token.actions.githubusercontent.com:sub': sub },
});
const allow = (condition: unknown, extra: Record<string, unknown> = {}) => ({
  Statement: [
    { Effect: 'Allow', Action: 'sts:AssumeRoleWithWebIdentity', Principal: { Federated: PROVIDER }, Condition: condition, ...extra },
  ],
});

describe('trust policy evaluation', () => {
  it('needs every operator and key to match, and any value of a key', () => {
    const policy = allow({
      StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
      StringLike: { 'token.actions.githubusercontent.com:sub': ['repo:o/r:ref:refs/heads/main', 'repo:o/r:environment:*'] },
    });
    expect(evaluateTrustPolicy(policy, request('repo:o/r:environment:prod')).allowed).toBe(true);
    expect(evaluateTrustPolicy(policy, request('repo:o/r:ref:refs/heads/main')).allowed).toBe(true);
    expect(evaluateTrustPolicy(policy, request('repo:o/r:ref:refs/heads/dev')).allowed).toBe(false);
    expect(evaluateTrustPolicy(policy, request('repo:o/r:environment:prod', 'other')).allowed).toBe(false);
  });

  it('treats * and ? as StringLike wildcards, case-sensitively, and StringEquals literally', () => {
    const like = allow({ StringLike: { 'token.actions.githubusercontent.com:sub': 'repo:o/r:ref:refs/tags/v?.*' } });
    expect(evaluateTrustPolicy(like, request('repo:o/r:ref:refs/tags/v1.2.3')).allowed).toBe(true);
    expect(evaluateTrustPolicy(like, request('repo:o/r:ref:refs/tags/v10.2')).allowed).toBe(false);
    expect(evaluateTrustPolicy(like, request('repo:O/R:ref:refs/tags/v1.2')).allowed).toBe(false);
    const equals = allow({ StringEquals: { 'token.actions.githubusercontent.com:sub': 'repo:o/r:*' } });
    expect(evaluateTrustPolicy(equals, request('repo:o/r:ref:refs/heads/main')).allowed).toBe(false);
    expect(evaluateTrustPolicy(equals, request('repo:o/r:*')).allowed).toBe(true);
  });

  it('fails a missing key for positive operators, passes it for negations and IfExists', () => {
    const key = 'token.actions.githubusercontent.com:sub';
    expect(evaluateTrustPolicy(allow({ StringEquals: { [key]: 'x' } }), request(undefined)).allowed).toBe(false);
    expect(evaluateTrustPolicy(allow({ StringNotEquals: { [key]: 'x' } }), request(undefined)).allowed).toBe(true);
    expect(evaluateTrustPolicy(allow({ StringEqualsIfExists: { [key]: 'x' } }), request(undefined)).allowed).toBe(true);
    expect(evaluateTrustPolicy(allow({ StringNotLike: { [key]: 'repo:evil/*' } }), request('repo:evil/x')).allowed).toBe(false);
  });

  it('lets an explicit Deny win and fails closed on an operator it does not know', () => {
    const policy = {
      Statement: [
        ...allow(undefined).Statement,
        {
          Effect: 'Deny',
          Action: 'sts:*',
          Principal: { Federated: PROVIDER },
          Condition: { StringLike: { 'token.actions.githubusercontent.com:sub': '*:pull_request' } },
        },
      ],
    };
    expect(evaluateTrustPolicy(policy, request('repo:o/r:pull_request'))).toEqual({
      allowed: false,
      reason: 'an explicit Deny in the trust policy matches',
    });
    expect(evaluateTrustPolicy(policy, request('repo:o/r:ref:refs/heads/main')).allowed).toBe(true);
    expect(evaluateTrustPolicy(allow({ DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } }), request('x')).allowed).toBe(false);
  });

  it('needs the action and the federated principal to match', () => {
    expect(evaluateTrustPolicy(allow(undefined, { Action: 'sts:AssumeRole' }), request('x')).allowed).toBe(false);
    expect(evaluateTrustPolicy(allow(undefined, { Action: ['sts:AssumeRoleWith*'] }), request('x')).allowed).toBe(true);
    expect(evaluateTrustPolicy(allow(undefined, { Principal: { Federated: `${PROVIDER}-other` } }), request('x')).allowed).toBe(false);
    expect(evaluateTrustPolicy(allow(undefined, { Principal: { AWS: '*' } }), request('x')).allowed).toBe(false);
  });
});

describe('Query protocol rendering', () => {
  it('renders results and errors as STS does, escaping text', () => {
    expect(renderQueryResult('GetCallerIdentity', { Arn: 'a<b', Account: '1' }, 'req-1')).toBe(
      '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>a&lt;b</Arn><Account>1</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>\n',
    );
    expect(renderQueryError(new QueryError(403, 'AccessDenied', 'No & "no"'), 'req-2')).toBe(
      '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>No &amp; &quot;no&quot;</Message></Error><RequestId>req-2</RequestId></ErrorResponse>\n',
    );
    expect(new QueryError(500, 'InternalFailure', 'x').type).toBe('Receiver');
    expect(escapeXml(`<'&'>`)).toBe('&lt;&apos;&amp;&apos;&gt;');
  });
});

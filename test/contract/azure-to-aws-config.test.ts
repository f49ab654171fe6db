import { describe, expect, it } from 'vitest';
import { entraIssuerUrl, parseAzureToAwsConfig, validateAzureToAwsConfig } from '../../contract/azure-to-aws-config';

const TENANT = '11111111-1111-1111-1111-111111111111';
const OBJECT_ID = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const valid = { tenantId: TENANT, audience: 'api://aws-federation', roles: { reader: { managedIdentityObjectIds: [OBJECT_ID] } } };

function problems(raw: unknown): string[] {
  return validateAzureToAwsConfig(raw).problems;
}

describe('azureToAws configuration', () => {
  it('applies the defaults: v1 tokens, the sts.windows.net issuer, one-hour sessions, no policies', () => {
    const config = parseAzureToAwsConfig(valid);
    expect(config).toEqual({
      tenantId: TENANT,
      audience: 'api://aws-federation',
      tokenVersion: 1,
      issuerUrl: `https://sts.windows.net/${TENANT}/`,
      providerArn: undefined,
      roles: [{ name: 'reader', managedIdentityObjectIds: [OBJECT_ID], maxSessionDurationSeconds: 3600, managedPolicyArns: [] }],
    });
  });

  it('uses the v2.0 issuer for tokenVersion 2, whose audience is a client id', () => {
    const clientId = '22222222-2222-2222-2222-222222222222';
    const v2 = { ...valid, tokenVersion: 2, audience: clientId, dangerouslyAllowV2TokensForAnyResource: true };
    expect(parseAzureToAwsConfig(v2).issuerUrl).toBe(`https://login.microsoftonline.com/${TENANT}/v2.0`);
    expect(entraIssuerUrl(TENANT, 1)).toBe(`https://sts.windows.net/${TENANT}/`);
    expect(problems({ ...v2, audience: 'api://aws-federation' })).toEqual([
      expect.stringMatching(/^audience: expected with tokenVersion 2, the client id IAM matches .*received "api:\/\/aws-federation"/),
    ]);
  });

  it('refuses tokenVersion 2 unless the opt-in names its risk: any v2 token of the client, for any resource', () => {
    const clientId = '22222222-2222-2222-2222-222222222222';
    expect(problems({ ...valid, tokenVersion: 2, audience: clientId })).toEqual([
      "tokenVersion: 2 makes IAM compare the token's azp (the calling client's id) with the audience instead of its aud (the resource), so any v2 token issued to that client, for any resource, would be accepted; keep tokenVersion 1 with an app ID URI for AWS alone, or set dangerouslyAllowV2TokensForAnyResource: true to accept that risk",
    ]);
    expect(problems({ ...valid, tokenVersion: 2, audience: clientId, dangerouslyAllowV2TokensForAnyResource: 'yes' })).toEqual([
      'dangerouslyAllowV2TokensForAnyResource: expected true or false, received "yes"',
      expect.stringMatching(/^tokenVersion: 2 makes IAM compare/),
    ]);
    // The opt-in changes nothing for v1.
    expect(parseAzureToAwsConfig({ ...valid, dangerouslyAllowV2TokensForAnyResource: true }).tokenVersion).toBe(1);
  });

  it('names every bad field and the value received, all at once', () => {
    const found = problems({
      tenantId: 'contoso.onmicrosoft.com',
      audience: 'api://aws-federation/.default',
      tokenVersion: 3,
      providerArn: 'arn:aws:iam::123:oidc-provider/x',
      extra: true,
      roles: {
        Reader: { managedIdentityObjectIds: [OBJECT_ID] },
        writer: {
          managedIdentityObjectIds: ['not-a-guid', OBJECT_ID, OBJECT_ID.toUpperCase()],
          maxSessionDurationSeconds: 600,
          managedPolicyArns: ['ReadOnlyAccess'],
          trustEveryone: true,
        },
        empty: { managedIdentityObjectIds: [] },
      },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'extra: unknown field (known: tenantId, audience, tokenVersion, dangerouslyAllowV2TokensForAnyResource, providerArn, roles)',
        expect.stringMatching(/^tenantId: .*received "contoso.onmicrosoft.com"/),
        expect.stringMatching(/^tokenVersion: expected 1 or 2 .*received 3/),
        expect.stringMatching(/^audience: .*without "\/.default".*received "api:\/\/aws-federation\/.default"/),
        expect.stringMatching(/^providerArn: expected an IAM OIDC provider ARN .*received "arn:aws:iam::123:oidc-provider\/x"/),
        expect.stringMatching(/^roles: role name "Reader" must match/),
        expect.stringMatching(/^roles.writer.managedIdentityObjectIds\[0\]: .*received "not-a-guid"/),
        `roles.writer.managedIdentityObjectIds[2]: "${OBJECT_ID}" is listed twice`,
        expect.stringMatching(/^roles.writer.maxSessionDurationSeconds: expected an integer from 3600 to 43200 .*received 600/),
        expect.stringMatching(/^roles.writer.managedPolicyArns\[0\]: .*received "ReadOnlyAccess"/),
        expect.stringMatching(/^roles.writer.trustEveryone: unknown field/),
        expect.stringMatching(/^roles.empty.managedIdentityObjectIds: expected a non-empty list .*received \[\]/),
      ]),
    );
    expect(found).toHaveLength(12);
  });

  it('refuses a configuration without roles and a non-object', () => {
    expect(problems({ tenantId: TENANT, audience: 'api://x' })).toEqual([
      expect.stringMatching(/^roles: expected an object with at least one role.*received nothing/),
    ]);
    expect(problems('azure')).toEqual(['expected an object, received "azure"']);
    expect(() => parseAzureToAwsConfig({}, 'cdk.json context')).toThrow(/Invalid cdk.json context:\n {2}- tenantId: /);
  });

  it('accepts an existing provider, customer and AWS managed policies and the longest session', () => {
    const config = parseAzureToAwsConfig({
      ...valid,
      providerArn: `arn:aws:iam::123456789012:oidc-provider/sts.windows.net/${TENANT}/`,
      roles: {
        reader: {
          managedIdentityObjectIds: [OBJECT_ID],
          maxSessionDurationSeconds: 43_200,
          managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess', 'arn:aws-us-gov:iam::123456789012:policy/team/app-reader'],
        },
      },
    });
    expect(config.providerArn).toMatch(/oidc-provider/);
    expect(config.roles[0]?.managedPolicyArns).toHaveLength(2);
    expect(config.roles[0]?.maxSessionDurationSeconds).toBe(43_200);
  });
});

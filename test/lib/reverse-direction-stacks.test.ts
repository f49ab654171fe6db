import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { AzureToAwsFederation } from '../../lib/azure-to-aws-federation';
import { AzureToAwsStack } from '../../lib/azure-to-aws-stack';
import type { GitHubActionsRoleInput } from '../../contract/github-actions-config';
import { GitHubActionsFederation } from '../../lib/github-actions-federation';
import { GitHubActionsStack } from '../../lib/github-actions-stack';
import { readAppContext } from '../../lib/app-context';
import { RAW_CONFIG, logicalId, newApp } from './helpers';

const TENANT = '11111111-1111-1111-1111-111111111111';
const MI_A = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const MI_B = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb';
const AZURE = {
  tenantId: TENANT,
  audience: 'api://aws-federation',
  roles: {
    reader: { managedIdentityObjectIds: [MI_A], managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'] },
    'writer-eu': { managedIdentityObjectIds: [MI_A, MI_B], maxSessionDurationSeconds: 7200 },
  },
};
/** The reverse-direction keys of the app's context, read beside a valid `broker` key as bin/app.ts reads them. */
function reverseDirectionFromContext(app: ReturnType<typeof newApp>) {
  const { azureToAws, githubActions } = readAppContext(app);
  return { azureToAws, githubActions };
}
const withBroker = (context: Record<string, unknown> = {}) => newApp({ broker: RAW_CONFIG, ...context });

const GITHUB = {
  roles: {
    deploy: { repository: 'octo-org/octo-repo', environments: ['prod'] },
    release: { repository: 'octo-org/octo-repo', tags: ['v*'], branches: ['main'] },
  },
};

function nagAnnotations(stack: Stack): { errors: unknown[]; warnings: unknown[] } {
  const annotations = Annotations.fromStack(stack);
  return {
    errors: annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    warnings: annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  };
}

describe('reverse-direction stacks', { timeout: 60_000 }, () => {
  it('creates the Entra v1 provider with the audience and one role per entry pinning aud and sub with StringEquals', () => {
    const stack = new AzureToAwsStack(newApp(), 'Azure', { config: AZURE });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::OIDCProvider', 1);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: `https://sts.windows.net/${TENANT}/`,
      ClientIdList: ['api://aws-federation'],
    });
    template.resourceCountIs('AWS::IAM::Role', 2);
    const provider = logicalId(stack.federation.provider);
    template.hasResourceProperties('AWS::IAM::Role', {
      MaxSessionDuration: 7200,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRoleWithWebIdentity',
            Effect: 'Allow',
            Principal: { Federated: { Ref: provider } },
            Condition: {
              StringEquals: {
                [`sts.windows.net/${TENANT}/:aud`]: 'api://aws-federation',
                [`sts.windows.net/${TENANT}/:sub`]: [MI_A, MI_B],
              },
            },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      ManagedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      MaxSessionDuration: 3600,
    });
    template.hasOutput('RoleArnReader', { Value: { 'Fn::GetAtt': [logicalId(stack.federation.role('reader')), 'Arn'] } });
    template.hasOutput('RoleArnWriterEu', { Value: { 'Fn::GetAtt': [logicalId(stack.federation.role('writer-eu')), 'Arn'] } });
    template.hasOutput('CredentialProcessReader', {
      Value: {
        'Fn::Join': [
          '',
          [
            'credential_process = entra-aws-credentials --role-arn ',
            { 'Fn::GetAtt': [logicalId(stack.federation.role('reader')), 'Arn'] },
            ' --audience api://aws-federation',
          ],
        ],
      },
    });
  });

  it('keeps the logical ids of providers and roles (a rename would replace the role and change its ARN)', () => {
    const azure = new AzureToAwsStack(newApp(), 'Azure', { config: AZURE });
    expect(logicalId(azure.federation.provider)).toBe('AzureToAwsProviderCCCB2716');
    expect(logicalId(azure.federation.role('reader'))).toBe('AzureToAwsreader8A863F57');
    const github = new GitHubActionsStack(newApp(), 'GitHub', { config: GITHUB });
    expect(logicalId(github.federation.provider)).toBe('GitHubActionsProviderAE1F7AB6');
  });

  it('uses the v2.0 issuer for tokenVersion 2, only with the opt-in that names its risk', () => {
    const clientId = '22222222-2222-2222-2222-222222222222';
    const stack = new Stack(newApp(), 'S');
    new AzureToAwsFederation(stack, 'Azure', {
      config: { ...AZURE, tokenVersion: 2, audience: clientId, dangerouslyAllowV2TokensForAnyResource: true },
    });
    expect(() => new AzureToAwsFederation(stack, 'NoOptIn', { config: { ...AZURE, tokenVersion: 2, audience: clientId } })).toThrow(
      /AzureToAwsFederation "NoOptIn" config:\n {2}- tokenVersion: 2 makes IAM compare .*dangerouslyAllowV2TokensForAnyResource: true/,
    );
    const template = Template.fromStack(stack);
    const key = `login.microsoftonline.com/${TENANT}/v2.0`;
    template.hasResourceProperties('AWS::IAM::OIDCProvider', { Url: `https://${key}`, ClientIdList: [clientId] });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Condition: { StringEquals: { [`${key}:aud`]: clientId, [`${key}:sub`]: [MI_A] } } })],
      },
    });
  });

  it('creates GitHub roles whose sub patterns come from the repository and its environments, branches and tags', () => {
    const stack = new GitHubActionsStack(newApp(), 'GitHub', { config: GITHUB });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::OIDCProvider', {
      Url: 'https://token.actions.githubusercontent.com',
      ClientIdList: ['sts.amazonaws.com'],
    });
    // No wildcard: StringEquals only.
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              StringEquals: {
                'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                'token.actions.githubusercontent.com:sub': ['repo:octo-org/octo-repo:environment:prod'],
              },
            },
          }),
        ],
      },
    });
    // A wildcard tag: StringLike for sub, aud still StringEquals.
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: {
              StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' },
              StringLike: {
                'token.actions.githubusercontent.com:sub': [
                  'repo:octo-org/octo-repo:ref:refs/heads/main',
                  'repo:octo-org/octo-repo:ref:refs/tags/v*',
                ],
              },
            },
          }),
        ],
      },
    });
    template.hasOutput('RoleArnDeploy', Match.anyValue());
    template.hasOutput('RoleArnRelease', Match.anyValue());
  });

  it('refuses the classic GitHub misconfigurations at synth, naming the field', () => {
    const stack = new Stack(newApp(), 'S');
    expect(
      () => new GitHubActionsFederation(stack, 'Owner', { config: { roles: { ci: { repository: 'octo-org/*', branches: ['main'] } } } }),
    ).toThrow(/GitHubActionsFederation "Owner" config:\n {2}- roles.ci.repository: "octo-org\/\*" is owner-wide/);
    expect(() => new GitHubActionsFederation(stack, 'AnyRef', { config: { roles: { ci: { repository: 'octo-org/app' } } } })).toThrow(
      /roles.ci: none of branches, environments or tags is set/,
    );
    // The opt-in is honoured and shows in the trust.
    new GitHubActionsFederation(stack, 'OptIn', {
      config: { roles: { ci: { repository: 'octo-org/app', dangerouslyAllowAnyRef: true } } },
    });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Condition: Match.objectLike({ StringLike: { 'token.actions.githubusercontent.com:sub': ['repo:octo-org/app:*'] } }),
          }),
        ],
      },
    });
  });

  it('refuses a leading wildcard in a branch or environment at synth, and warns about a tag wildcard with what it lets a pusher do', () => {
    const stack = new Stack(newApp(), 'S');
    expect(
      () => new GitHubActionsFederation(stack, 'Lead', { config: { roles: { ci: { repository: 'octo-org/app', branches: ['*main'] } } } }),
    ).toThrow(/roles.ci.branches\[0\]: "\*main" starts with a wildcard.*dangerouslyAllowLeadingWildcard: true/);
    const federation = new GitHubActionsFederation(stack, 'GitHub', {
      config: { roles: { release: { repository: 'octo-org/app', tags: ['v*'] }, exact: { repository: 'octo-org/app', tags: ['v1.0.0'] } } },
    });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('tag pattern'));
    expect(warnings).toEqual([
      expect.objectContaining({
        id: '/S/GitHub/release',
        entry: expect.objectContaining({
          data: expect.stringMatching(
            /^GitHub role "release" trusts the tag pattern "v\*" of octo-org\/app: anyone who may push a matching tag \(write access to the repository, unless a tag ruleset restricts who creates such tags\) can assume the role from any commit, one never reviewed or merged included\. Restrict matching tags with a ruleset, or list exact tags\. \[ack: aws-azure-token-broker:githubTagWildcard\]$/,
          ),
        }),
      }),
    ]);
    expect(federation.roles.size).toBe(2);
  });

  it("pins GitHub's immutable and customized sub forms in the trust", () => {
    const stack = new GitHubActionsStack(newApp(), 'GitHub', {
      config: {
        roles: {
          deploy: { repository: 'octo-org/octo-repo', repositoryOwnerId: 123456, repositoryId: 456789, environments: ['prod'] },
          shared: {
            repository: 'octo-org/octo-repo',
            repositoryId: 456789,
            subjectClaims: ['repository_id', 'context', 'job_workflow_ref'],
            branches: ['main'],
            jobWorkflowRefs: ['octo-org/automation/.github/workflows/deploy.yml@refs/heads/main'],
          },
        },
      },
    });
    const template = Template.fromStack(stack);
    for (const sub of [
      'repo:octo-org@123456/octo-repo@456789:environment:prod',
      'repository_id:456789:ref:refs/heads/main:job_workflow_ref:octo-org/automation/.github/workflows/deploy.yml@refs/heads/main',
    ]) {
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            Match.objectLike({
              Condition: {
                StringEquals: {
                  'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                  'token.actions.githubusercontent.com:sub': [sub],
                },
              },
            }),
          ],
        },
      });
    }
  });

  it('reuses an existing provider by ARN instead of creating a second one for the same URL', () => {
    const stack = new Stack(newApp(), 'S');
    const arn = 'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com';
    new GitHubActionsFederation(stack, 'GitHub', {
      config: { providerArn: arn, roles: { ci: { repository: 'o/r', branches: ['main'] } } },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::IAM::OIDCProvider', 0);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Federated: arn } })] },
    });
  });

  it('grants permissions from CDK code through the role, and names an unknown role', () => {
    const stack = new Stack(newApp(), 'S');
    const federation = new AzureToAwsFederation(stack, 'Azure', { config: AZURE });
    const bucket = new s3.Bucket(stack, 'Bucket');
    bucket.grantRead(federation.role('reader'));
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(federation.role('reader')) }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: Match.arrayWith(['s3:GetObject*']) })] },
    });
    expect(() => federation.role('writer')).toThrow('AzureToAwsFederation has no role "writer"; configured roles: reader, writer-eu');
    expect([...federation.roles.keys()]).toEqual(['reader', 'writer-eu']);
  });

  it('passes the AwsSolutions checks; only the AWS managed policies listed in the configuration are suppressed', () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecks());
    const azure = new AzureToAwsStack(app, 'Azure', { config: AZURE });
    const github = new GitHubActionsStack(app, 'GitHub', { config: GITHUB });
    expect(nagAnnotations(azure)).toEqual({ errors: [], warnings: [] });
    expect(nagAnnotations(github)).toEqual({ errors: [], warnings: [] });
    const reader = Template.fromStack(azure).toJSON().Resources[logicalId(azure.federation.role('reader'))];
    expect(reader.Metadata.cdk_nag.rules_to_suppress).toEqual([
      {
        id: 'AwsSolutions-IAM4',
        reason: 'AWS managed policies listed by the operator in azureToAws.reader.managedPolicyArns',
        applies_to: ['Policy::arn:aws:iam::aws:policy/ReadOnlyAccess'],
      },
    ]);
  });

  it('still reports an AWS managed policy attached from CDK code rather than listed in the configuration', () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecks());
    const stack = new AzureToAwsStack(app, 'Azure', { config: AZURE });
    stack.federation.role('writer-eu').addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    // With cdk.json's @aws-cdk/core:annotationsInValidationReport, an error annotation fails synthesis itself, as
    // `cdk synth` does, with the finding in the validation report.
    expect(() => nagAnnotations(stack)).toThrow(/AwsSolutions-IAM4\[Policy::arn:<AWS::Partition>:iam::aws:policy\/AdministratorAccess\]/);
  });

  it('leaves the typed config shape to the compiler, checking its values; cdk.json, written by hand, is checked for unknown fields', () => {
    // As an untyped caller (JavaScript, or a cast) could pass it: the construct does not repeat the compiler's check.
    const withExtra = { ...AZURE, extra: true } as typeof AZURE;
    const stack = new Stack(newApp(), 'S');
    expect(() => new AzureToAwsFederation(stack, 'Azure', { config: withExtra })).not.toThrow();
    expect(
      () =>
        new GitHubActionsFederation(stack, 'GitHub', {
          config: { roles: { ci: { repository: 'o/r', branches: ['main'], extra: 1 } as GitHubActionsRoleInput } },
        }),
    ).not.toThrow();
    // Values are still the construct's to check: the compiler cannot tell a GUID from another string.
    expect(() => new AzureToAwsFederation(stack, 'Bad', { config: { ...AZURE, tenantId: 'contoso.com' } })).toThrow(
      /AzureToAwsFederation "Bad" config:\n {2}- tenantId: .*received "contoso.com"/,
    );
    expect(() => reverseDirectionFromContext(withBroker({ azureToAws: withExtra }))).toThrow(
      /cdk.json context 'azureToAws':\n {2}- extra: unknown field/,
    );
  });

  it('reads the optional context keys, as objects or JSON strings, and reports bad ones against cdk.json', () => {
    expect(reverseDirectionFromContext(withBroker())).toEqual({ azureToAws: undefined, githubActions: undefined });
    const app = withBroker({ azureToAws: JSON.stringify(AZURE), githubActions: GITHUB });
    expect(reverseDirectionFromContext(app)).toEqual({ azureToAws: AZURE, githubActions: GITHUB });
    expect(() => reverseDirectionFromContext(withBroker({ githubActions: { roles: { ci: { repository: '*' } } } }))).toThrow(
      /Invalid cdk.json context 'githubActions':\n {2}- roles.ci.repository: expected "owner\/name"/,
    );
    expect(() => reverseDirectionFromContext(withBroker({ azureToAws: '{not json' }))).toThrow(/cdk.json context 'azureToAws'.*not JSON/s);
  });
});

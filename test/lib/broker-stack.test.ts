import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DYNAMODB_WRITE_ACTIONS } from '../../lib/dynamodb-write-actions';
import { actionsOf, brokerStack, config, kmsIssuerOf, logicalId, newApp, type Statement } from './helpers';

/** The DirectInvocationGuardPolicy output as the JSON an administrator attaches, each CloudFormation value rendered by `render`. */
function guardPolicy(
  template: Template,
  render: (part: Record<string, unknown>) => string,
): { Version: string; Statement: Array<Statement & { Sid?: string }> } {
  const [output] = Object.values(template.findOutputs('DirectInvocationGuardPolicy'));
  const [, parts] = output!.Value['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : render(part as Record<string, unknown>))).join('')) as {
    Version: string;
    Statement: Array<Statement & { Sid?: string }>;
  };
}

// Synthesizes inside the tests: CPU-bound, and the first synth of a file loads most of aws-cdk-lib and cdk-nag.
describe('BrokerStack', { timeout: 60_000 }, () => {
  it('keeps the logical ids of the stateful resources (renaming one replaces the key or the table)', () => {
    const { stack, template } = brokerStack();
    // Changing these means a new signing key (Entra stops trusting the old kid) or an empty cache.
    expect(logicalId(kmsIssuerOf(stack.broker).signingKey)).toBe('TokenBrokerSigningKeyBD5C96F7');
    expect(logicalId(stack.broker.table)).toBe('TokenBrokerTokenCacheE5787DD6');
    // A new cache key leaves every cached item unreadable: one exchange per scope, no outage, but pin it all the same.
    expect(logicalId(stack.broker.tokenCacheKey)).toBe('TokenBrokerTokenCacheKey6C4C9731');
    template.templateMatches({
      Resources: {
        TokenBrokerSigningKeyBD5C96F7: { Type: 'AWS::KMS::Key' },
        TokenBrokerTokenCacheE5787DD6: { Type: 'AWS::DynamoDB::Table' },
        TokenBrokerTokenCacheKey6C4C9731: { Type: 'AWS::KMS::Key' },
      },
    });
  });

  it('keeps the logical ids of what identifies the broker: the API (its id is in the issuer URL), the roles (key policies and the aws-sts subject name them), the functions and their logs', () => {
    const idsOf = (template: ReturnType<typeof brokerStack>['template'], ...types: string[]) =>
      Object.entries(template.toJSON().Resources as Record<string, { Type: string }>)
        .filter(([, resource]) => types.includes(resource.Type))
        .map(([id]) => id)
        .sort();
    const types = ['AWS::ApiGatewayV2::Api', 'AWS::ApiGatewayV2::Stage', 'AWS::IAM::Role', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup'];
    expect(idsOf(brokerStack().template, ...types, 'AWS::Events::Rule')).toEqual([
      'TokenBrokerAccessLogs44397085',
      'TokenBrokerDiscoveryFunctionD141C2E2',
      'TokenBrokerDiscoveryFunctionLogs770465DE',
      'TokenBrokerDiscoveryFunctionRoleCF46AB24',
      'TokenBrokerHttpApiB93CD68C',
      'TokenBrokerHttpApiDefaultStageD5A5EACC',
      'TokenBrokerJwksFunction0E356DB8',
      'TokenBrokerJwksFunctionLogsB4C6498B',
      'TokenBrokerJwksFunctionRole8D493ABB',
      'TokenBrokerKeyRotationSchedule462B11E3',
      'TokenBrokerKeyRotatorFunction2CA8D31B',
      'TokenBrokerKeyRotatorFunctionLogsF1E79A4C',
      'TokenBrokerKeyRotatorFunctionRoleD93AAD05',
      'TokenBrokerProactiveRefreshRule4521ED01',
      'TokenBrokerTokenFunctionD4D9C632',
      'TokenBrokerTokenFunctionLogsC7281165',
      'TokenBrokerTokenFunctionRoleDE7522A4',
    ]);
    // With aws-sts a new token role is a new subject: every Entra credential would have to be made again.
    expect(idsOf(brokerStack(config({ signer: 'aws-sts' })).template, ...types).filter((id) => id.startsWith('TokenBroker'))).toEqual([
      'TokenBrokerAccessLogs44397085',
      'TokenBrokerHttpApiB93CD68C',
      'TokenBrokerHttpApiDefaultStageD5A5EACC',
      'TokenBrokerStsSignerCustomResourceLogsC1C3CE6C',
      'TokenBrokerTokenFunctionD4D9C632',
      'TokenBrokerTokenFunctionLogsC7281165',
      'TokenBrokerTokenFunctionRoleDE7522A4',
    ]);
  });

  it('outputs what the Azure side and the callers need', () => {
    const { stack, template } = brokerStack();
    const issuer = { 'Fn::GetAtt': [logicalId(stack.broker.httpApi), 'ApiEndpoint'] };
    template.hasOutput('IssuerUrl', { Value: issuer });
    template.hasOutput('Subject', { Value: 'aws-token-broker' });
    template.hasOutput('Audience', { Value: 'api://AzureADTokenExchange' });
    template.hasOutput('TokenUrlGraph', { Value: { 'Fn::Join': ['', [issuer, '/token/graph']] } });
    template.hasOutput('TokenUrlStorage', { Value: { 'Fn::Join': ['', [issuer, '/token/storage']] } });
  });

  it('outputs one az command per app registration, with the issuer, subject and audience', () => {
    const otherClient = '33333333-3333-3333-3333-333333333333';
    const { stack, template } = brokerStack(
      config({
        subject: 'broker-prod',
        audience: 'api://AzureADTokenExchange',
        scopes: {
          graph: 'https://graph.microsoft.com/.default',
          storage: 'https://storage.azure.com/.default',
          'my-api': { scope: 'api://my-api/.default', clientId: otherClient },
        },
      }),
    );
    const commands = Object.keys(template.findOutputs('*')).filter((id) => id.startsWith('FederatedCredentialCommand'));
    expect(commands.sort()).toEqual([
      'FederatedCredentialCommand22222222222222222222222222222222',
      'FederatedCredentialCommand33333333333333333333333333333333',
    ]);
    const issuer = { 'Fn::GetAtt': [logicalId(stack.broker.httpApi), 'ApiEndpoint'] };
    template.hasOutput('FederatedCredentialCommand33333333333333333333333333333333', {
      Value: {
        'Fn::Join': [
          '',
          [
            `az ad app federated-credential create --id ${otherClient} --parameters '{"name":"aws-token-broker","issuer":"`,
            issuer,
            '","subject":"broker-prod","audiences":["api://AzureADTokenExchange"]}\'',
          ],
        ],
      },
    });
    template.hasOutput('TokenUrlMyApi', Match.anyValue());
  });

  it('outputs the az identity command beside each az ad app one, for a client id that is a user-assigned managed identity', () => {
    const { stack, template } = brokerStack(config({ subject: 'broker-prod' }));
    const commands = Object.keys(template.findOutputs('*')).filter((id) => id.startsWith('ManagedIdentityCredentialCommand'));
    expect(commands).toEqual(['ManagedIdentityCredentialCommand22222222222222222222222222222222']);
    template.hasOutput('ManagedIdentityCredentialCommand22222222222222222222222222222222', {
      Description: Match.stringLikeRegexp(
        '^If 22222222-2222-2222-2222-222222222222 is a user-assigned managed identity: set IDENTITY_NAME and RESOURCE_GROUP',
      ),
      Value: {
        'Fn::Join': [
          '',
          [
            'az identity federated-credential create --name aws-token-broker --identity-name "$IDENTITY_NAME" --resource-group "$RESOURCE_GROUP" --issuer \'',
            { 'Fn::GetAtt': [logicalId(stack.broker.httpApi), 'ApiEndpoint'] },
            "' --subject broker-prod --audiences api://AzureADTokenExchange",
          ],
        ],
      },
    });
    template.hasOutput('FederatedCredentialCommand22222222222222222222222222222222', {
      Description: Match.stringLikeRegexp('^If 22222222-2222-2222-2222-222222222222 is an app registration'),
    });
  });

  it('outputs the ready-made SCP: only API Gateway invokes the token function; only the deployment changes what Entra trusts, the API and the table; only the broker writes the table', () => {
    const { stack, template } = brokerStack();
    const { broker } = stack;
    const policy = guardPolicy(template, (part) => `<${JSON.stringify(part).replace(/"/g, "'")}>`);
    const arnOf = (resource: { node: { defaultChild?: unknown } }) => `<{'Fn::GetAtt':['${logicalId(resource)}','Arn']}>`;
    const tokenArn = arnOf(broker.tokenFunction);
    const rotator = kmsIssuerOf(broker).keyRotatorFunction;
    const deployRoles = "arn:<{'Ref':'AWS::Partition'}>:iam::<{'Ref':'AWS::AccountId'}>:role/cdk-*-cfn-exec-role-*";
    const apiArn = `arn:<{'Ref':'AWS::Partition'}>:apigateway:<{'Ref':'AWS::Region'}>::/apis/<{'Ref':'${logicalId(broker.httpApi)}'}>`;
    const exceptDeployment = { ArnNotLike: { 'aws:PrincipalArn': deployRoles } };
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.map((statement) => statement.Sid)).toEqual([
      'OnlyApiGatewayInvokesTheTokenFunction',
      'OnlyTheDeploymentChangesTheBrokerFunctions',
      'NobodyElseActsAsTheBrokerRoles',
      'OnlyTheBrokerWritesTheTable',
      'OnlyTheDeploymentChangesTheTable',
      'OnlyTheDeploymentChangesTheApi',
    ]);
    const [invoke, functions, roles, writes, table, api] = policy.Statement as [
      Statement,
      Statement,
      Statement,
      Statement,
      Statement,
      Statement,
    ];
    expect(invoke).toEqual({
      Sid: 'OnlyApiGatewayInvokesTheTokenFunction',
      Effect: 'Deny',
      Action: ['lambda:InvokeFunction', 'lambda:InvokeAsync', 'lambda:InvokeFunctionUrl'],
      Resource: [tokenArn, `${tokenArn}:*`],
    });
    expect(functions).toMatchObject({
      Action: expect.arrayContaining([
        'lambda:UpdateFunctionCode',
        'lambda:UpdateFunctionConfiguration',
        'lambda:AddPermission',
        'lambda:CreateAlias',
      ]),
      Condition: exceptDeployment,
    });
    expect(roles).toMatchObject({
      Action: expect.arrayContaining(['iam:PassRole', 'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy']),
      Condition: exceptDeployment,
    });
    expect(writes).toEqual({
      Sid: 'OnlyTheBrokerWritesTheTable',
      Effect: 'Deny',
      Action: DYNAMODB_WRITE_ACTIONS,
      Resource: arnOf(broker.table),
      // The key rotator writes its state item (its role and the table's resource policy keep it to that item).
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [arnOf(broker.tokenFunctionRole), arnOf(rotator.role!)] } },
    });
    expect(table).toMatchObject({
      Action: expect.arrayContaining(['dynamodb:PutResourcePolicy', 'dynamodb:DeleteResourcePolicy', 'dynamodb:UpdateTable']),
      Resource: arnOf(broker.table),
      Condition: exceptDeployment,
    });
    expect(api).toEqual({
      Sid: 'OnlyTheDeploymentChangesTheApi',
      Effect: 'Deny',
      Action: ['apigateway:POST', 'apigateway:PUT', 'apigateway:PATCH', 'apigateway:DELETE'],
      Resource: [apiArn, `${apiArn}/*`],
      Condition: exceptDeployment,
    });
    // broker-keys rotate still invokes the rotator: the only invoke deny names the token function.
    expect(JSON.stringify(policy.Statement.filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction')))).not.toContain(
      logicalId(rotator),
    );
  });

  it.each([
    ['kms', config()],
    ['aws-sts', config({ signer: 'aws-sts' })],
  ])('guards every function of the broker and its role in the SCP (signer %s), found in the construct tree', (_signer, brokerConfig) => {
    const { stack, template } = brokerStack(brokerConfig);
    const policy = guardPolicy(template, (part) => `<${JSON.stringify(part).replace(/"/g, "'")}>`);
    const resourcesOf = (sid: string) => [policy.Statement.find((statement) => statement.Sid === sid)?.Resource].flat();
    // Every Lambda function under the broker construct: a function added later without joining trustedFunctions fails here.
    const functions = stack.broker.node.findAll().filter((child): child is lambda.Function => child instanceof lambda.Function);
    expect(functions.length).toBe(brokerConfig.signer === 'aws-sts' ? 1 : 4);
    expect(new Set(stack.broker.trustedFunctions)).toEqual(new Set(functions));
    for (const fn of functions) {
      const arn = `<{'Fn::GetAtt':['${logicalId(fn)}','Arn']}>`;
      expect(resourcesOf('OnlyTheDeploymentChangesTheBrokerFunctions')).toEqual(expect.arrayContaining([arn, `${arn}:*`]));
      expect(resourcesOf('NobodyElseActsAsTheBrokerRoles')).toContain(`<{'Fn::GetAtt':['${logicalId(fn.role)}','Arn']}>`);
    }
  });

  it('keeps the SCP under the 5,120-character limit with a margin, with the longest names CloudFormation generates', () => {
    const { template } = brokerStack();
    const types = Object.fromEntries(
      Object.entries(template.toJSON().Resources as Record<string, { Type: string }>).map(([id, resource]) => [id, resource.Type]),
    );
    // Generated physical names are at most 64 characters for functions and roles; the partition and Region are the longest.
    const [partition, region, account] = ['aws-us-gov', 'ap-southeast-5', '123456789012'];
    const name = (id: string) => `AwsAzureTokenBroker-${id}`.padEnd(64, 'X').slice(0, 64);
    const realistic = (part: Record<string, unknown>): string => {
      if ('Ref' in part) {
        const ref = part.Ref as string;
        return { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': account }[ref] ?? 'a1b2c3d4e5';
      }
      const [id] = part['Fn::GetAtt'] as [string];
      const arn = {
        'AWS::Lambda::Function': `arn:${partition}:lambda:${region}:${account}:function:${name(id)}`,
        'AWS::IAM::Role': `arn:${partition}:iam::${account}:role/${name(id)}`,
        'AWS::DynamoDB::Table': `arn:${partition}:dynamodb:${region}:${account}:table/${name(id)}`,
      }[types[id]!];
      if (arn === undefined) throw new Error(`no realistic value for ${JSON.stringify(part)}`);
      return arn;
    };
    const size = JSON.stringify(guardPolicy(template, realistic)).length;
    expect(size).toBeLessThan(5_120 * 0.9);
  });

  it('passes the AwsSolutions cdk-nag checks with no unsuppressed error or warning', () => {
    const app = newApp();
    Aspects.of(app).add(new AwsSolutionsChecks());
    const { stack } = brokerStack(config(), app);
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    expect(annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
  });

  it('suppresses only PITR on the cache, authorization on the two public routes, and the tag-conditioned key wildcards', () => {
    const { template } = brokerStack();
    const suppressions = Object.entries(template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>)
      .flatMap(([id, resource]) => {
        const rules = (resource.Metadata?.cdk_nag as { rules_to_suppress?: Array<{ id: string }> } | undefined)?.rules_to_suppress ?? [];
        return rules.map((rule) => `${rule.id} ${id}`);
      })
      .sort();
    expect(suppressions).toEqual([
      expect.stringMatching(/^AwsSolutions-APIG4 TokenBrokerHttpApiGETjwks/),
      expect.stringMatching(/^AwsSolutions-APIG4 TokenBrokerHttpApiGETwellknownopenidconfiguration/),
      'AwsSolutions-DDB3 TokenBrokerTokenCacheE5787DD6',
      // The rotated keys do not exist at synth: CreateKey on `*` and Sign/GetPublicKey/ScheduleKeyDeletion on
      // `key/*`, each limited by the deployment's tag (test/lib/key-rotation.test.ts checks the conditions).
      expect.stringMatching(/^AwsSolutions-IAM5 TokenBrokerKeyRotatorFunctionRole[0-9A-F]{8}$/),
      expect.stringMatching(/^AwsSolutions-IAM5 TokenBrokerKeyRotatorFunctionRoleDefaultPolicy/),
      expect.stringMatching(/^AwsSolutions-IAM5 TokenBrokerTokenFunctionRole[0-9A-F]{8}$/),
      expect.stringMatching(/^AwsSolutions-IAM5 TokenBrokerTokenFunctionRoleDefaultPolicy/),
    ]);
  });
});

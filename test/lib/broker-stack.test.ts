import { Aspects } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { brokerStack, config, kmsIssuerOf, logicalId, newApp } from './helpers';

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

  it('outputs the ready-made SCP: only API Gateway invokes the token function, only the deployment changes it or its role, only it writes the cache', () => {
    const { stack, template } = brokerStack();
    const [output] = Object.values(template.findOutputs('DirectInvocationGuardPolicy'));
    // The JSON with the function's and role's ARNs spliced in by CloudFormation.
    const resolved = JSON.parse(
      (output!.Value['Fn::Join'][1] as unknown[])
        .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replace(/"/g, "'")}>`))
        .join(''),
    ) as { Version: string; Statement: Array<Record<string, any>> };
    const functionArn = `<{'Fn::GetAtt':['${logicalId(stack.broker.tokenFunction)}','Arn']}>`;
    const roleArn = `<{'Fn::GetAtt':['${logicalId(stack.broker.tokenFunctionRole)}','Arn']}>`;
    const rotatorArn = `<{'Fn::GetAtt':['${logicalId(kmsIssuerOf(stack.broker).keyRotatorFunction)}','Arn']}>`;
    const rotatorRoleArn = `<{'Fn::GetAtt':['${logicalId(kmsIssuerOf(stack.broker).keyRotatorFunction.role!)}','Arn']}>`;
    const deployRoles = "arn:<{'Ref':'AWS::Partition'}>:iam::<{'Ref':'AWS::AccountId'}>:role/cdk-*-cfn-exec-role-*";
    expect(resolved.Version).toBe('2012-10-17');
    expect(resolved.Statement).toEqual([
      {
        Sid: 'OnlyApiGatewayInvokesTheTokenFunction',
        Effect: 'Deny',
        Action: ['lambda:InvokeFunction', 'lambda:InvokeAsync', 'lambda:InvokeFunctionUrl'],
        Resource: [functionArn, `${functionArn}:*`],
      },
      expect.objectContaining({
        Sid: 'OnlyTheDeploymentChangesTheTokenFunction',
        Effect: 'Deny',
        Action: expect.arrayContaining(['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:AddPermission']),
        Resource: [functionArn, `${functionArn}:*`],
        Condition: { ArnNotLike: { 'aws:PrincipalArn': deployRoles } },
      }),
      expect.objectContaining({
        Sid: 'NobodyElseActsAsTheTokenRole',
        Effect: 'Deny',
        Action: expect.arrayContaining(['iam:PassRole', 'iam:UpdateAssumeRolePolicy']),
        Resource: roleArn,
        Condition: { ArnNotLike: { 'aws:PrincipalArn': deployRoles } },
      }),
      expect.objectContaining({
        Sid: 'OnlyTheTokenFunctionWritesTheCache',
        Effect: 'Deny',
        Action: expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']),
        Resource: `<{'Fn::GetAtt':['${logicalId(stack.broker.table)}','Arn']}>`,
        // The key rotator writes its state item (its role and the table's resource policy keep it to that item).
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [roleArn, rotatorRoleArn] } },
      }),
      expect.objectContaining({
        Sid: 'OnlyTheDeploymentChangesTheKeyRotator',
        Effect: 'Deny',
        Action: expect.arrayContaining(['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration']),
        Resource: [rotatorArn, `${rotatorArn}:*`],
        Condition: { ArnNotLike: { 'aws:PrincipalArn': deployRoles } },
      }),
      expect.objectContaining({
        Sid: 'NobodyElseActsAsTheKeyRotatorRole',
        Effect: 'Deny',
        Action: expect.arrayContaining(['iam:PassRole', 'iam:UpdateAssumeRolePolicy']),
        Resource: rotatorRoleArn,
        Condition: { ArnNotLike: { 'aws:PrincipalArn': deployRoles } },
      }),
    ]);
    // broker-keys rotate still invokes the rotator: nothing denies invoking it.
    expect(JSON.stringify(resolved.Statement.filter((st) => JSON.stringify(st.Resource).includes(rotatorArn)))).not.toContain(
      'lambda:InvokeFunction',
    );
    expect(JSON.stringify(output!.Value).length).toBeLessThan(4096);
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

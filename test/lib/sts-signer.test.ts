/** The `aws-sts` signer's stack: AWS STS signs, so no key, no public route; an account setting, an issuer and a grant instead. */
import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { TokenBroker } from '../../lib/token-broker';
import { actionsOf, brokerStack, config, kmsIssuerOf, logicalId, newApp, policyStatements, tokenBroker } from './helpers';

const STS = { signer: 'aws-sts' } as const;

/** The AwsCustomResource calls of a template, by resource type, as CloudFormation hands them to the function. */
function customResourceCalls(template: ReturnType<typeof brokerStack>['template']) {
  return Object.fromEntries(
    Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, string> }>)
      .filter((r) => r.Type.startsWith('Custom::'))
      .map((r) => [
        r.Type,
        {
          create: r.Properties.Create === undefined ? undefined : (JSON.parse(r.Properties.Create) as Record<string, unknown>),
          update: r.Properties.Update === undefined ? undefined : (JSON.parse(r.Properties.Update) as Record<string, unknown>),
          delete: r.Properties.Delete,
        },
      ]),
  );
}

describe('TokenBroker with signer "aws-sts"', () => {
  const { stack, template } = brokerStack(config({ ...STS, assertionLifetimeSeconds: 240, audience: 'api://broker-test' }));

  it('has no signing key, no discovery or JWKS function, no public route and no public-route throttle', () => {
    // The one KMS key left is the token cache's (symmetric): nothing signs with KMS.
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: Match.absent(), KeyUsage: Match.absent() });
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => [
      r.Properties.RouteKey,
      r.Properties.AuthorizationType,
    ]);
    expect(Object.fromEntries(routes)).toEqual({
      'GET /token/graph': 'AWS_IAM',
      'GET /token/storage': 'AWS_IAM',
      'GET /token/{alias}': 'AWS_IAM',
    });
    // The token function and CDK's AwsCustomResource function, nothing else.
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    expect(functions).toContain(logicalId(stack.broker.tokenFunction));
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties.RouteSettings).toBeUndefined();
    // The signer is the STS one, which has no key, JWKS or discovery function to offer.
    expect(stack.broker.signer.kind).toBe('aws-sts');
    expect(stack.broker.signer).not.toHaveProperty('signingKey');
    expect(stack.broker.trustedFunctions).toEqual([stack.broker.tokenFunction]);
  });

  it('has no key rotator, no schedule, no rotation alarms and no broker-keys outputs: AWS rotates its own keys', () => {
    expect(stack.broker.signer).not.toHaveProperty('keyRotatorFunction');
    // The one rule is the proactive refresh's, which runs the token function.
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(stack.broker.tokenFunction), 'Arn'] } }],
    });
    expect(stack.broker.monitoring?.alarms.keyRotationFailures).toBeUndefined();
    expect(stack.broker.monitoring?.alarms.signingKeyAge).toBeUndefined();
    expect(stack.broker.monitoring?.alarms.rotationStateRejected).toBeUndefined();
    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((id) => /KeyRotat/.test(id))).toEqual([]);
    const guard = JSON.stringify(template.toJSON().Outputs.DirectInvocationGuardPolicy);
    expect(guard).not.toMatch(/KeyRotator/);
  });

  it('lets the token function ask STS for the configured audience only, RS256 only, for at most assertionLifetimeSeconds', () => {
    const stsStatements = policyStatements(template).filter((s) => actionsOf(s.statement).some((a) => a.startsWith('sts:')));
    expect(stsStatements).toEqual([
      {
        roles: [logicalId(stack.broker.tokenFunctionRole as unknown as { node: { defaultChild?: unknown } })],
        statement: {
          Effect: 'Allow',
          Action: 'sts:GetWebIdentityToken',
          Resource: '*',
          Condition: {
            'ForAllValues:StringEquals': { 'sts:IdentityTokenAudience': ['api://broker-test'] },
            Null: { 'sts:IdentityTokenAudience': 'false', 'sts:DurationSeconds': 'false' },
            StringEquals: { 'sts:SigningAlgorithm': 'RS256' },
            NumericLessThanEquals: { 'sts:DurationSeconds': 240 },
          },
        },
      },
    ]);
    // No tags: sts:TagGetWebIdentityToken is granted to nobody, and nothing else may ask for assertions.
    expect(policyStatements(template).flatMap((s) => actionsOf(s.statement))).not.toContain('sts:TagGetWebIdentityToken');
  });

  it('enables outbound identity federation once, tolerating "already enabled", and never disables it', () => {
    const calls = customResourceCalls(template);
    expect(calls['Custom::OutboundWebIdentityFederation']).toEqual({
      create: {
        service: 'IAM',
        action: 'EnableOutboundWebIdentityFederation',
        physicalResourceId: { id: 'outbound-web-identity-federation' },
        ignoreErrorCodesMatching: '^FeatureEnabled(Exception)?$',
        outputPaths: [],
      },
      update: undefined,
      delete: undefined,
    });
    const ignore = new RegExp(calls['Custom::OutboundWebIdentityFederation']?.create?.ignoreErrorCodesMatching as string);
    expect(['FeatureEnabled', 'FeatureEnabledException'].every((code) => ignore.test(code))).toBe(true);
    expect(ignore.test('AccessDenied')).toBe(false);
  });

  it('reads the issuer once federation is enabled, and gives it to the token function with its role ARN as the subject', () => {
    const calls = customResourceCalls(template);
    const read = {
      service: 'IAM',
      action: 'GetOutboundWebIdentityFederationInfo',
      physicalResourceId: { id: 'outbound-web-identity-federation-info' },
      outputPaths: ['IssuerIdentifier'],
    };
    expect(calls['Custom::OutboundWebIdentityFederationInfo']).toEqual({ create: read, update: read, delete: undefined });
    const resources = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
    const [infoId, info] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::OutboundWebIdentityFederationInfo')!;
    const [enableId] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::OutboundWebIdentityFederation')!;
    expect(info.DependsOn).toContain(enableId);

    const env = template.toJSON().Resources[logicalId(stack.broker.tokenFunction)].Properties.Environment.Variables;
    expect(env.BROKER_ISSUER).toEqual({ 'Fn::GetAtt': [infoId, 'IssuerIdentifier'] });
    expect(env.BROKER_ASSERTION_SUBJECT).toEqual({
      'Fn::GetAtt': [logicalId(stack.broker.tokenFunctionRole as unknown as { node: { defaultChild?: unknown } }), 'Arn'],
    });
    expect(env.BROKER_SIGNING_KEY_ARN).toBeUndefined();
    expect(JSON.parse(env.BROKER_CONFIG as string)).toMatchObject({
      signer: 'aws-sts',
      audience: 'api://broker-test',
      assertionLifetimeSeconds: 240,
    });
  });

  it("gives the custom resource function one IAM action per call, and the stack's retention on its log group", () => {
    const crStatements = policyStatements(template).filter((s) => actionsOf(s.statement).some((a) => a.startsWith('iam:')));
    expect(crStatements.map((s) => [actionsOf(s.statement), s.statement.Resource])).toEqual([
      [['iam:EnableOutboundWebIdentityFederation'], '*'],
      [['iam:GetOutboundWebIdentityFederationInfo'], '*'],
    ]);
    const crFunction = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Timeout === 120)!;
    const logGroupId = (crFunction.Properties.LoggingConfig.LogGroup as { Ref: string }).Ref;
    expect(template.toJSON().Resources[logGroupId].Properties.RetentionInDays).toBe(365);
  });

  it("outputs AWS's issuer, the role ARN as subject, the audience, and the Azure CLI command with those values", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const resources = template.toJSON().Resources as Record<string, { Type: string }>;
    const [infoId] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::OutboundWebIdentityFederationInfo')!;
    const roleId = logicalId(stack.broker.tokenFunctionRole);
    expect(outputs.IssuerUrl?.Value).toEqual({ 'Fn::GetAtt': [infoId, 'IssuerIdentifier'] });
    expect(outputs.Subject?.Value).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    expect(outputs.Audience?.Value).toBe('api://broker-test');
    const command = Object.entries(outputs).find(([id]) => id.startsWith('FederatedCredentialCommand'))?.[1].Value;
    expect(command).toEqual({
      'Fn::Join': [
        '',
        [
          `az ad app federated-credential create --id 22222222-2222-2222-2222-222222222222 --parameters '{"name":"aws-token-broker","issuer":"`,
          { 'Fn::GetAtt': [infoId, 'IssuerIdentifier'] },
          '","subject":"',
          { 'Fn::GetAtt': [roleId, 'Arn'] },
          `","audiences":["api://broker-test"]}'`,
        ],
      ],
    });
    // Token URLs stay on the API, not on AWS's issuer.
    expect(JSON.stringify(outputs.TokenUrlGraph?.Value)).toContain('ApiEndpoint');
  });

  it('gives the token role no fixed name, so its ARN (the subject Entra trusts) never comes back on another role, and says to delete the credential with the stack', () => {
    const roleId = logicalId(stack.broker.tokenFunctionRole);
    const role = template.toJSON().Resources[roleId] as { Properties: Record<string, unknown> };
    // CloudFormation then generates a unique physical name (AWS::IAM::Role, RoleName); a fixed one could be created
    // again after the stack is gone, and Entra would accept its assertions.
    expect(role.Properties.RoleName).toBeUndefined();
    const outputs = template.toJSON().Outputs as Record<string, { Description: string }>;
    expect(outputs.Subject?.Description).toMatch(
      /Delete the credential when you delete this stack: a role made later with the same name would match it again/,
    );
    const command = Object.entries(outputs).find(([id]) => id.startsWith('FederatedCredentialCommand'))?.[1];
    expect(command?.Description).toMatch(/delete the credential when you delete this stack, as its subject is a role name/);
  });

  it('has no public-route alarm, metric filter or dashboard widget, and keeps every other alarm', () => {
    const monitoring = stack.broker.monitoring!;
    expect(monitoring.alarms.publicRoutes4xx).toBeUndefined();
    expect(monitoring.alarms.publicRoutes5xx).toBeUndefined();
    expect(Object.keys(monitoring.alarms).sort()).toEqual([
      'api5xx',
      'cacheItemsRejected',
      'entraRejections',
      'foreignInvocations',
      'refreshFailures',
      'tokenFunctionErrors',
      'tokenFunctionThrottles',
      'tokenLatencyP99',
      'upstreamUnavailable',
    ]);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    template.resourceCountIs('AWS::Logs::MetricFilter', 0);
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify(dashboard?.Properties.DashboardBody)).not.toContain('Public routes');
  });

  it('refuses KMS signing keys, which it would neither use nor publish, naming each prop', () => {
    const stack = new Stack(newApp(), 'Stack');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111122223333:key/a');
    const next = kms.Key.fromKeyArn(stack, 'Next', 'arn:aws:kms:eu-west-1:111122223333:key/b');
    expect(() => new TokenBroker(stack, 'Broker', { config: config(STS), signingKey: key, publishedKeys: [next] })).toThrow(
      /signingKey: applies to signer "kms" only; with signer "aws-sts" AWS STS signs the assertions, remove it[\s\S]*publishedKeys: applies to signer "kms" only/,
    );
  });

  it('keeps the token routes on the custom domain given as issuer, while the issuer is AWS’s', () => {
    const { broker } = tokenBroker({ config: config(STS), issuer: 'https://auth.example.com/broker' });
    expect(broker.tokenUrl('graph')).toBe('https://auth.example.com/broker/token/graph');
    expect(broker.issuerUrl).not.toBe('https://auth.example.com/broker');
  });
});

describe('TokenBroker with signer "kms" (the default), beside it', () => {
  const { stack, template } = brokerStack();

  it('has no STS grant, no custom resource, and its public routes, functions and their alarms', () => {
    expect(
      policyStatements(template)
        .flatMap((s) => actionsOf(s.statement))
        .filter((a) => a.startsWith('sts:') || a.startsWith('iam:')),
    ).toEqual([]);
    expect(
      Object.values(template.toJSON().Resources as Record<string, { Type: string }>).filter((r) => r.Type.startsWith('Custom::')),
    ).toEqual([]);
    expect(stack.broker.signer.kind).toBe('kms');
    expect(stack.broker.assertionSubject).toBe('aws-token-broker');
    // Token, discovery, JWKS and the key rotator.
    template.resourceCountIs('AWS::Lambda::Function', 4);
    expect(kmsIssuerOf(stack.broker).keyRotatorFunction).toBeDefined();
    expect(stack.broker.monitoring?.alarms.keyRotationFailures).toBeDefined();
    expect(stack.broker.monitoring?.alarms.publicRoutes4xx).toBeDefined();
    expect(stack.broker.monitoring?.alarms.publicRoutes5xx).toBeDefined();
    const env = template.toJSON().Resources[logicalId(stack.broker.tokenFunction)].Properties.Environment.Variables;
    expect(env.BROKER_ASSERTION_SUBJECT).toBeUndefined();
  });
});

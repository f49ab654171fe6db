import { describe, expect, it } from 'vitest';
import { KEY_AGE_SLACK_SECONDS, ROTATED_KEY_TAG } from '../../contract/aws-names';
import { actionsOf, brokerStack, config, kmsIssuerOf, logicalId, policyStatements } from './helpers';

/** Turns CloudFormation intrinsics into plain strings, the same way on both sides of a comparison. */
function resolveIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  if ('Ref' in record) return `{ref:${String(record.Ref)}}`;
  if ('Fn::GetAtt' in record) return `{att:${(record['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in record) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(part))).join(separator);
  }
  return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, resolveIntrinsics(inner)]));
}

describe('TokenBroker key rotation', () => {
  const { stack, template } = brokerStack(config({ keyRotation: { intervalSeconds: 30 * 86_400 } }));
  const { broker } = stack;
  const issuer = kmsIssuerOf(broker);
  const statements = policyStatements(template);
  const rotatorRole = logicalId(issuer.keyRotatorFunction.role);
  const rotatorStatements = statements.filter((s) => s.roles.includes(rotatorRole)).map((s) => s.statement);
  const functions = template.findResources('AWS::Lambda::Function');
  const rotatorEnv = functions[logicalId(issuer.keyRotatorFunction)]!.Properties.Environment.Variables as Record<string, unknown>;
  const anyKey = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':key/*']],
  };

  it('runs the rotator every 15 minutes on an EventBridge schedule, with the schedule in its environment', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(issuer.keyRotatorFunction), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2 } }],
    });
    expect(JSON.parse(rotatorEnv.BROKER_KEY_ROTATION as string)).toEqual({
      intervalSeconds: 30 * 86_400,
      publishLeadSeconds: 2 * 86_400,
      retireAfterSeconds: 86_400,
    });
    expect(rotatorEnv.BROKER_DEPLOYMENT).toBe('Broker/TokenBroker');
  });

  it('lets the rotator create only single-Region RSA_2048 SIGN_VERIFY keys with KMS-made material, carrying only the deployment tag, and never sign', () => {
    const tag = { [`aws:RequestTag/${ROTATED_KEY_TAG}`]: 'Broker/TokenBroker' };
    const onlyTheTag = { 'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATED_KEY_TAG] } };
    expect(rotatorStatements).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:CreateKey',
      Resource: '*',
      Condition: {
        StringEquals: { ...tag, 'kms:KeySpec': 'RSA_2048', 'kms:KeyUsage': 'SIGN_VERIFY', 'kms:KeyOrigin': 'AWS_KMS' },
        // Multi-Region keys replicate into Regions whose key policies this stack does not write.
        Bool: { 'kms:MultiRegion': 'false' },
        ...onlyTheTag,
      },
    });
    expect(rotatorStatements).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:TagResource',
      Resource: '*',
      Condition: { StringEquals: tag, ...onlyTheTag },
    });
    expect(rotatorStatements).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:GetPublicKey', 'kms:ScheduleKeyDeletion'],
      Resource: anyKey,
      Condition: { StringEquals: { [`aws:ResourceTag/${ROTATED_KEY_TAG}`]: 'Broker/TokenBroker' } },
    });
    const kmsActions = rotatorStatements.flatMap(actionsOf).filter((action) => action.startsWith('kms:'));
    expect([...new Set(kmsActions)].sort()).toEqual([
      'kms:CreateKey',
      'kms:GenerateMac',
      'kms:GetPublicKey',
      'kms:ScheduleKeyDeletion',
      'kms:TagResource',
      'kms:VerifyMac',
    ]);
    // Every `*` or key/* statement of the rotator carries a condition.
    for (const statement of rotatorStatements.filter((s) => s.Resource === '*' || JSON.stringify(s.Resource).includes('key/*'))) {
      expect(statement.Condition).toBeDefined();
    }
  });

  it("gives rotated keys exactly the stack key's policy: account administers, RS256 only, no grants, only the token role signs", () => {
    const keys = template.findResources('AWS::KMS::Key');
    const stackKeyPolicy = keys[logicalId(issuer.signingKey)]!.Properties.KeyPolicy as unknown;
    const rotatedKeyPolicy = JSON.parse(String(resolveIntrinsics(rotatorEnv.BROKER_SIGNING_KEY_POLICY))) as unknown;
    expect(rotatedKeyPolicy).toEqual(resolveIntrinsics(stackKeyPolicy));
    expect(JSON.stringify(rotatedKeyPolicy)).toContain(`{att:${logicalId(broker.tokenFunction.role)}.Arn}`);
    expect((rotatedKeyPolicy as { Statement: Array<{ Sid?: string }> }).Statement.map((s) => s.Sid)).toEqual([
      undefined,
      'DenySignWithOtherAlgorithms',
      'DenyGrantsExceptForAwsServices',
      'DenySignToAllButTheTokenFunction',
    ]);
  });

  it('keeps the stack key (logical id pinned) as the first key of the rotation: the rotator adopts it and may read it, not delete it', () => {
    expect(logicalId(issuer.signingKey)).toMatch(/^TokenBrokerSigningKey[0-9A-F]{8}$/);
    expect(rotatorEnv.BROKER_SIGNING_KEY_ARN).toEqual({ 'Fn::GetAtt': [logicalId(issuer.signingKey), 'Arn'] });
    const onStackKey = rotatorStatements.filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify({ 'Fn::GetAtt': [logicalId(issuer.signingKey), 'Arn'] }),
    );
    expect(onStackKey.flatMap(actionsOf)).toEqual(['kms:GetPublicKey']);
  });

  it('fails closed on the table (resource policy): items written by the broker roles only, the state item by the rotator only, the table and its policy changed by the deployment only', () => {
    const table = template.findResources('AWS::DynamoDB::Table')[logicalId(broker.table)]!;
    const tokenRoleArn = { 'Fn::GetAtt': [logicalId(broker.tokenFunctionRole), 'Arn'] };
    const rotatorRoleArn = { 'Fn::GetAtt': [rotatorRole, 'Arn'] };
    const deployRoles = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/cdk-*-cfn-exec-role-*']],
    };
    // Every form of item write (transactions and PartiQL statements are authorized as these), in the template's order.
    const everyWrite = [
      'dynamodb:BatchWriteItem',
      'dynamodb:DeleteItem',
      'dynamodb:PartiQLDelete',
      'dynamodb:PartiQLInsert',
      'dynamodb:PartiQLUpdate',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ];
    const denyToAll = { Effect: 'Deny', Principal: { AWS: '*' }, Resource: '*' };
    expect(table.Properties.ResourcePolicy.PolicyDocument.Statement).toEqual([
      {
        ...denyToAll,
        Sid: 'DenyItemWritesToAllButTheBroker',
        Action: everyWrite,
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [tokenRoleArn, rotatorRoleArn] } },
      },
      {
        ...denyToAll,
        Sid: 'DenyTableChangesToAllButTheDeployment',
        Action: [
          'dynamodb:AssociateTableReplica',
          'dynamodb:DeleteResourcePolicy',
          'dynamodb:PutResourcePolicy',
          'dynamodb:ReplicateSettings',
          'dynamodb:UpdateTable',
          'dynamodb:WriteDataForReplication',
        ],
        Condition: { ArnNotLike: { 'aws:PrincipalArn': deployRoles } },
      },
      {
        ...denyToAll,
        Sid: 'DenyRotationStateWritesToAllButTheRotator',
        Action: everyWrite,
        Condition: {
          'ForAnyValue:StringEquals': { 'dynamodb:LeadingKeys': ['key-rotation#state'] },
          ArnNotEquals: { 'aws:PrincipalArn': rotatorRoleArn },
        },
      },
    ]);
  });

  it('alarms on a failed rotation run and on an active key older than its interval plus an hour, or no report for an hour', () => {
    const failures = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((alarm) =>
      JSON.stringify(alarm.Properties.Metrics ?? []).includes('KeyRotationFailures'),
    );
    expect(failures?.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    const metrics = failures?.Properties.Metrics as Array<{
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { MetricName: string } };
    }>;
    expect(metrics.map((m) => m.Expression ?? m.MetricStat?.Metric.MetricName)).toEqual([
      'FILL(failures, 0) + FILL(errors, 0)',
      'KeyRotationFailures',
      'Errors',
    ]);
    expect(JSON.stringify(metrics[2])).toContain(logicalId(issuer.keyRotatorFunction));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ActiveSigningKeyAge',
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 30 * 86_400 + KEY_AGE_SLACK_SECONDS,
      TreatMissingData: 'breaching',
      Dimensions: [{ Name: 'Deployment', Value: 'Broker/TokenBroker' }],
    });
  });

  it('outputs the table and the rotator for broker-keys', () => {
    template.hasOutput('KeyRotationTable', { Value: { Ref: logicalId(broker.table) } });
    template.hasOutput('KeyRotatorFunction', { Value: { Ref: logicalId(issuer.keyRotatorFunction) } });
  });
});

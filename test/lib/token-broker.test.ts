import { Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { parseBrokerConfig, runtimeConfigJson } from '../../contract/broker-config';
import { KMS_SIGNING_ALGORITHM } from '../../contract/aws-names';
import { TokenBroker } from '../../lib/token-broker';
import { actionsOf, brokerStack, config, errorThrownBy, kmsIssuerOf, logicalId, newApp, policyStatements, tokenBroker } from './helpers';

describe('TokenBroker routes', () => {
  const { template } = brokerStack();

  it('has discovery, jwks, one route per alias and the catch-all, with the contract auth types', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Route', 2 + 2 + 1);
    const expected: Record<string, string> = {
      'GET /.well-known/openid-configuration': 'NONE',
      'GET /jwks': 'NONE',
      'GET /token/graph': 'AWS_IAM',
      'GET /token/storage': 'AWS_IAM',
      'GET /token/{alias}': 'AWS_IAM',
    };
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => [r.Properties.RouteKey, r.Properties.AuthorizationType] as const,
    );
    expect(Object.fromEntries(routes)).toEqual(expected);
  });

  it('sends every /token route to the token function and the public routes to their own functions', () => {
    const { stack } = brokerStack();
    const t = Template.fromStack(stack);
    const integrationTarget = (routeKey: string) => {
      const [route] = Object.values(t.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }));
      const integrationId = (route!.Properties.Target['Fn::Join'][1][1] as { Ref: string }).Ref;
      return t.toJSON().Resources[integrationId].Properties.IntegrationUri['Fn::GetAtt'][0] as string;
    };
    const { broker } = stack;
    const issuer = kmsIssuerOf(broker);
    expect(integrationTarget('GET /.well-known/openid-configuration')).toBe(logicalId(issuer.discoveryFunction));
    expect(integrationTarget('GET /jwks')).toBe(logicalId(issuer.jwksFunction));
    for (const key of ['GET /token/graph', 'GET /token/storage', 'GET /token/{alias}']) {
      expect(integrationTarget(key)).toBe(logicalId(broker.tokenFunction));
    }
  });

  it('throttles the default stage from the configuration', () => {
    const { template: t } = brokerStack(config({ throttlingRateLimit: 7, throttlingBurstLimit: 9 }));
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
  });

  it('throttles each public route on its own, from the configuration, once the routes exist', () => {
    const { template: t } = brokerStack(config({ publicThrottlingRateLimit: 3, publicThrottlingBurstLimit: 6 }));
    const [[, stage]] = Object.entries(t.findResources('AWS::ApiGatewayV2::Stage')) as [[string, Record<string, any>]];
    expect(stage.Properties.RouteSettings).toStrictEqual({
      'GET /.well-known/openid-configuration': { ThrottlingRateLimit: 3, ThrottlingBurstLimit: 6 },
      'GET /jwks': { ThrottlingRateLimit: 3, ThrottlingBurstLimit: 6 },
    });
    // API Gateway refuses settings for a route key it does not know yet.
    const publicRouteIds = Object.entries(t.findResources('AWS::ApiGatewayV2::Route'))
      .filter(([, route]) => route.Properties.AuthorizationType === 'NONE')
      .map(([id]) => id);
    expect(publicRouteIds).toHaveLength(2);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(publicRouteIds));
    const defaults = brokerStack().template;
    defaults.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: { 'GET /jwks': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } },
    });
  });

  it('lets only API Gateway invoke the functions, each permission naming this API (what CT.LAMBDA.PR.2 cannot read)', () => {
    const all = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(all).toHaveLength(5);
    // The other two: EventBridge runs the key rotator and the proactive refresh, each on this broker's rule only.
    const scheduled = all.filter((permission) => permission.Properties.Principal === 'events.amazonaws.com');
    expect(scheduled.map((permission) => permission.Properties.SourceArn)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^TokenBrokerKeyRotationSchedule/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^TokenBrokerProactiveRefreshRule/), 'Arn'] },
    ]);
    const permissions = all.filter((permission) => !scheduled.includes(permission));
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      const sourceArn = JSON.stringify(permission.Properties.SourceArn);
      expect(sourceArn).toMatch(/execute-api/);
      expect(sourceArn).toContain(`{"Ref":"${logicalId(brokerStack().stack.broker.httpApi)}"}`);
    }
  });

  it('writes a JSON access log with the caller identity and nothing that can carry a secret', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const format = JSON.parse(stage!.Properties.AccessLogSettings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      requestTime: '$context.requestTime',
      httpMethod: '$context.httpMethod',
      routeKey: '$context.routeKey',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      integrationErrorMessage: '$context.integrationErrorMessage',
      userArn: '$context.identity.userArn',
      accountId: '$context.identity.accountId',
    });
    for (const variable of Object.values(format)) {
      expect(variable).not.toMatch(/header|querystring|body|authorization|token|signature/i);
    }
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

/** The account root: the default statement that keeps the key administrable (and lets IAM policies grant). */
const ACCOUNT_ROOT = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
};
const DENY_GRANTS = {
  Sid: 'DenyGrantsExceptForAwsServices',
  Effect: 'Deny',
  Principal: { AWS: '*' },
  Action: 'kms:CreateGrant',
  Resource: '*',
  Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
};

describe('TokenBroker key policies', () => {
  const { stack, template } = brokerStack();
  const { broker } = stack;
  const issuer = kmsIssuerOf(broker);
  const keys = template.findResources('AWS::KMS::Key');
  const tokenRoleArn = { 'Fn::GetAtt': [logicalId(broker.tokenFunction.role), 'Arn'] };
  const policyOf = (key: kms.IKey) => keys[logicalId(key)]!.Properties.KeyPolicy.Statement as unknown[];

  it('signing key: RSA_2048 SIGN_VERIFY, retained; Sign only by the token role, only RS256; no grants; the account administers it', () => {
    // The signing key, the cache key and the rotation state key.
    expect(Object.keys(keys)).toHaveLength(3);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' } });
    expect(policyOf(issuer.signingKey)).toStrictEqual([
      { Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'DenySignWithOtherAlgorithms',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: { StringNotEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' } },
      },
      DENY_GRANTS,
      {
        Sid: 'DenySignToAllButTheTokenFunction',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:Sign',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': tokenRoleArn } },
      },
    ]);
  });

  it('cache key: symmetric, rotated, destroyed with the stack; its data keys only for the token role; no grants', () => {
    const key = keys[logicalId(broker.tokenCacheKey)]!;
    expect(key).toMatchObject({ DeletionPolicy: 'Delete', Properties: { EnableKeyRotation: true } });
    expect(key.Properties.KeySpec).toBeUndefined(); // SYMMETRIC_DEFAULT
    expect(policyOf(broker.tokenCacheKey)).toStrictEqual([
      { Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT }, Action: 'kms:*', Resource: '*' },
      DENY_GRANTS,
      {
        Sid: 'DenyDataKeysToAllButTheTokenFunction',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        // Reading a token (Decrypt), moving it under another key (ReEncrypt), or forging an item that opens.
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': tokenRoleArn } },
      },
    ]);
  });

  it('rotation state key: HMAC_256 GENERATE_VERIFY_MAC, destroyed with the stack; MACs made by the key rotator alone; no grants', () => {
    const key = keys[logicalId(issuer.rotationStateKey)]!;
    expect(logicalId(issuer.rotationStateKey)).toMatch(/^TokenBrokerRotationStateKey[0-9A-F]{8}$/);
    expect(key).toMatchObject({ DeletionPolicy: 'Delete', Properties: { KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' } });
    expect(policyOf(issuer.rotationStateKey)).toStrictEqual([
      { Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT }, Action: 'kms:*', Resource: '*' },
      DENY_GRANTS,
      {
        Sid: 'DenyGenerateMacToAllButTheKeyRotator',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:GenerateMac',
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [logicalId(issuer.keyRotatorFunction.role), 'Arn'] } } },
      },
    ]);
  });

  it('uses supplied keys instead of creating them, and leaves their policies alone', () => {
    const stack2 = new Stack(newApp(), 'Stack');
    const signingKey = kms.Key.fromKeyArn(stack2, 'Key', 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const tokenCacheKey = kms.Key.fromKeyArn(
      stack2,
      'CacheKey',
      'arn:aws:kms:eu-west-1:111122223333:key/cccccccc-12ab-34cd-56ef-1234567890ab',
    );
    new TokenBroker(stack2, 'Broker', { config: config(), signingKey, tokenCacheKey });
    const t = Template.fromStack(stack2);
    // Only the rotation state key, which is always the broker's own.
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'HMAC_256' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ BROKER_SIGNING_KEY_ARN: signingKey.keyArn, BROKER_TOKEN_CACHE_KEY_ARN: tokenCacheKey.keyArn }),
      },
    });
  });
});

describe('TokenBroker token cache', () => {
  it('is an on-demand table keyed by pk, TTL on ttl, AWS-managed KMS encryption, destroyed with the stack', () => {
    const { template } = brokerStack();
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      },
    });
  });

  const IMPORTED_TABLE_ARN = 'arn:aws:dynamodb:eu-west-1:111122223333:table/shared-token-cache';

  it('refuses an imported table with signer kms, naming the two statements to add and the roles they name', () => {
    const stack = new Stack(newApp(), 'Stack');
    const tokenCacheTable = dynamodb.Table.fromTableArn(stack, 'Imported', IMPORTED_TABLE_ARN);
    const { message } = errorThrownBy(() => new TokenBroker(stack, 'Broker', { config: config(), tokenCacheTable }));
    expect(message).toMatch(
      /tokenCacheTable: an imported table keeps its resource policy as it is.*Set tokenCacheTableProtectedExternally: true/,
    );
    const statements = JSON.parse(message.slice(message.indexOf('[{'))) as Array<{ Sid: string; Condition: Record<string, unknown> }>;
    expect(statements.map((statement) => statement.Sid)).toEqual([
      'DenyItemWritesToAllButTheBroker',
      'DenyRotationStateWritesToAllButTheRotator',
    ]);
    expect(JSON.stringify(statements[0]!.Condition)).toMatch(
      /<ARN of role BrokerTokenFunctionRole[0-9A-F]{8}: TokenBroker\.tokenFunctionRole>/,
    );
    expect(JSON.stringify(statements[1]!.Condition)).toMatch(/<ARN of role BrokerKeyRotatorFunctionRole[0-9A-F]{8}: the key rotator's>/);
    expect(message).not.toContain('${Token[');
  });

  it('takes an imported table once acknowledged (kms), or with signer aws-sts, and puts no policy on it', () => {
    for (const props of [{ config: config(), tokenCacheTableProtectedExternally: true }, { config: config({ signer: 'aws-sts' }) }]) {
      const stack = new Stack(newApp(), 'Stack');
      const tokenCacheTable = dynamodb.Table.fromTableArn(stack, 'Imported', IMPORTED_TABLE_ARN);
      new TokenBroker(stack, 'Broker', { ...props, tokenCacheTable });
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::DynamoDB::Table', 0);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ BROKER_TABLE_NAME: 'shared-token-cache' }) },
      });
    }
  });

  it('refuses the acknowledgement without an imported table', () => {
    expect(() => tokenBroker({ tokenCacheTableProtectedExternally: true })).toThrow(
      /tokenCacheTableProtectedExternally: acknowledges an imported tokenCacheTable, and none is given; remove it/,
    );
  });

  it('puts the policy on a table of this app given as tokenCacheTable, as on its own', () => {
    const stack = new Stack(newApp(), 'Stack');
    const tokenCacheTable = new dynamodb.Table(stack, 'Mine', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    new TokenBroker(stack, 'Broker', { config: config(), tokenCacheTable });
    const [table] = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    expect(table!.Properties.ResourcePolicy.PolicyDocument.Statement.map((statement: { Sid: string }) => statement.Sid)).toEqual([
      'DenyItemWritesToAllButTheBroker',
      'DenyTableChangesToAllButTheDeployment',
      'DenyRotationStateWritesToAllButTheRotator',
    ]);
  });

  it('with signer aws-sts, keeps items to the token role and the table to the deployment (no state item, no rotator)', () => {
    const { stack, template } = brokerStack(config({ signer: 'aws-sts' }));
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    const statements = table!.Properties.ResourcePolicy.PolicyDocument.Statement as Array<{ Sid: string; Condition: unknown }>;
    expect(statements.map((statement) => statement.Sid)).toEqual([
      'DenyItemWritesToAllButTheBroker',
      'DenyTableChangesToAllButTheDeployment',
    ]);
    expect(statements[0]!.Condition).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': [logicalId(stack.broker.tokenFunctionRole), 'Arn'] } },
    });
  });

  it('excepts the deployment role pattern given as deployRoleArnPattern from the table policy', () => {
    const pattern = 'arn:aws:iam::111122223333:role/deployer-*';
    const { broker, template } = tokenBroker({ deployRoleArnPattern: pattern });
    expect(broker.deployRoleArnPattern).toBe(pattern);
    const [table] = Object.values(template().findResources('AWS::DynamoDB::Table'));
    const changes = (table!.Properties.ResourcePolicy.PolicyDocument.Statement as Array<{ Sid: string; Condition: unknown }>).find(
      (statement) => statement.Sid === 'DenyTableChangesToAllButTheDeployment',
    );
    expect(changes?.Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': pattern } });
  });
});

describe('TokenBroker functions', () => {
  const { stack, template } = brokerStack();
  const { broker } = stack;
  const issuer = kmsIssuerOf(broker);
  const functions = template.findResources('AWS::Lambda::Function');
  const fn = (f: { node: { defaultChild?: unknown } }) => functions[logicalId(f)]!.Properties;

  it('runs every function on nodejs24.x, arm64, with its own log group', () => {
    expect(Object.keys(functions)).toHaveLength(4);
    for (const props of Object.values(functions)) {
      expect(props.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 4 + 1);
  });

  it('sizes and times out each function for its job', () => {
    expect(fn(broker.tokenFunction)).toMatchObject({ Timeout: 15, MemorySize: 256 });
    expect(fn(issuer.discoveryFunction)).toMatchObject({ Timeout: 5, MemorySize: 128 });
    expect(fn(issuer.jwksFunction)).toMatchObject({ Timeout: 5, MemorySize: 128 });
  });

  it('gives each function exactly the environment of the contract', () => {
    const logging = ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME'];
    expect(Object.keys(fn(issuer.discoveryFunction).Environment.Variables).sort()).toEqual(['BROKER_ISSUER', ...logging]);
    expect(Object.keys(fn(issuer.jwksFunction).Environment.Variables).sort()).toEqual([
      'BROKER_DEPLOYMENT',
      'BROKER_KEY_ROTATION',
      'BROKER_PUBLISHED_KEY_ARNS',
      'BROKER_ROTATION_STATE_KEY_ARN',
      'BROKER_TABLE_NAME',
      ...logging,
    ]);
    expect(Object.keys(fn(issuer.keyRotatorFunction).Environment.Variables).sort()).toEqual([
      'BROKER_DEPLOYMENT',
      'BROKER_KEY_ROTATION',
      'BROKER_ROTATION_STATE_KEY_ARN',
      'BROKER_SIGNING_KEY_ARN',
      'BROKER_SIGNING_KEY_POLICY',
      'BROKER_TABLE_NAME',
      ...logging,
    ]);
    // The three functions that read the state verify it with the one key; the JWKS function counts refusals for this deployment.
    const stateKeyArn = { 'Fn::GetAtt': [logicalId(issuer.rotationStateKey), 'Arn'] };
    for (const f of [broker.tokenFunction, issuer.jwksFunction, issuer.keyRotatorFunction]) {
      expect(fn(f).Environment.Variables.BROKER_ROTATION_STATE_KEY_ARN).toEqual(stateKeyArn);
    }
    expect(fn(issuer.jwksFunction).Environment.Variables.BROKER_DEPLOYMENT).toBe('Broker/TokenBroker');
    const tokenEnv = fn(broker.tokenFunction).Environment.Variables;
    expect(Object.keys(tokenEnv).sort()).toEqual([
      'BROKER_API_ID',
      'BROKER_API_STAGE',
      'BROKER_CONFIG',
      'BROKER_DEPLOYMENT',
      'BROKER_ISSUER',
      'BROKER_KEY_ROTATION',
      'BROKER_ROTATION_STATE_KEY_ARN',
      'BROKER_SIGNING_KEY_ARN',
      'BROKER_TABLE_NAME',
      'BROKER_TOKEN_CACHE_KEY_ARN',
      ...logging,
    ]);
    expect(JSON.parse(tokenEnv.BROKER_KEY_ROTATION as string)).toEqual({
      intervalSeconds: 7_776_000,
      publishLeadSeconds: 172_800,
      retireAfterSeconds: 86_400,
    });
    // The tripwire: the API and stage whose events are the only ones served.
    expect(tokenEnv.BROKER_API_ID).toEqual({ Ref: logicalId(broker.httpApi) });
    expect(tokenEnv.BROKER_API_STAGE).toBe('$default');
    expect(tokenEnv.BROKER_TOKEN_CACHE_KEY_ARN).toEqual({ 'Fn::GetAtt': [logicalId(broker.tokenCacheKey), 'Arn'] });
    expect(tokenEnv.BROKER_DEPLOYMENT).toBe('Broker/TokenBroker');
    expect(tokenEnv.BROKER_CONFIG).toBe(runtimeConfigJson(parseBrokerConfig(config()).runtime));
    expect(tokenEnv.BROKER_ISSUER).toEqual({ 'Fn::GetAtt': [logicalId(broker.httpApi), 'ApiEndpoint'] });
    expect(tokenEnv.BROKER_TABLE_NAME).toEqual({ Ref: logicalId(broker.table) });
  });

  it('sets the log level (INFO unless logLevel says otherwise) and the Powertools service name on every function', () => {
    for (const f of [broker.tokenFunction, issuer.discoveryFunction, issuer.jwksFunction, issuer.keyRotatorFunction]) {
      expect(fn(f).Environment.Variables).toMatchObject({
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_SERVICE_NAME: 'aws-azure-token-broker',
      });
    }
    const debug = tokenBroker({ logLevel: 'DEBUG' }).template().findResources('AWS::Lambda::Function');
    expect(Object.values(debug).map((f) => f.Properties.Environment.Variables.POWERTOOLS_LOG_LEVEL)).toEqual([
      'DEBUG',
      'DEBUG',
      'DEBUG',
      'DEBUG',
    ]);
  });

  it('reserves token concurrency from the configuration, and leaves it unreserved without', () => {
    expect(fn(broker.tokenFunction).ReservedConcurrentExecutions).toBeUndefined();
    const fromConfig = tokenBroker({ config: config({ tokenReservedConcurrency: 20 }) });
    fromConfig.template().hasResourceProperties('AWS::Lambda::Function', { Timeout: 15, ReservedConcurrentExecutions: 20 });
  });

  it('uses a custom issuer everywhere the issuer appears', () => {
    const { broker: b, template: t } = tokenBroker({ issuer: 'https://auth.example.com/broker' });
    expect(b.issuerUrl).toBe('https://auth.example.com/broker');
    expect(b.tokenUrl('graph')).toBe('https://auth.example.com/broker/token/graph');
    const envs = Object.values(t().findResources('AWS::Lambda::Function')).map((f) => f.Properties.Environment.Variables);
    expect(envs.filter((e) => 'BROKER_ISSUER' in e).map((e) => e.BROKER_ISSUER)).toEqual([
      'https://auth.example.com/broker',
      'https://auth.example.com/broker',
    ]);
  });

  it('publishes the signing key first, then the extra keys, and sets BROKER_ALLOWED_CALLERS only when asked', () => {
    const stack2 = new Stack(newApp(), 'Stack');
    const next = kms.Key.fromKeyArn(stack2, 'Next', 'arn:aws:kms:eu-west-1:111122223333:key/next');
    const b = new TokenBroker(stack2, 'Broker', {
      config: config(),
      publishedKeys: [next],
      allowedCallers: { accountIds: ['111122223333'], principalOrgIds: ['o-a1b2c3d4e5'] },
    });
    const functions2 = Template.fromStack(stack2).findResources('AWS::Lambda::Function');
    const env = (f: TokenBroker['tokenFunction']) => functions2[logicalId(f)]!.Properties.Environment.Variables;
    expect(env(kmsIssuerOf(b).jwksFunction).BROKER_PUBLISHED_KEY_ARNS).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(kmsIssuerOf(b).signingKey), 'Arn'] }, ',arn:aws:kms:eu-west-1:111122223333:key/next']],
    });
    expect(JSON.parse(env(b.tokenFunction).BROKER_ALLOWED_CALLERS)).toEqual({
      accountIds: ['111122223333'],
      principalOrgIds: ['o-a1b2c3d4e5'],
    });
    expect(fn(broker.tokenFunction).Environment.Variables).not.toHaveProperty('BROKER_ALLOWED_CALLERS');
  });
});

describe('TokenBroker least privilege', () => {
  const { stack, template } = brokerStack();
  const { broker } = stack;
  const issuer = kmsIssuerOf(broker);
  const statements = policyStatements(template);
  const roleOf = (f: TokenBroker['tokenFunction']) => logicalId(f.role);
  const kmsActions = (f: TokenBroker['tokenFunction']) =>
    statements
      .filter((s) => s.roles.includes(roleOf(f)))
      .flatMap((s) => actionsOf(s.statement))
      .filter((a) => a.startsWith('kms:'));
  const keyArn = { 'Fn::GetAtt': [logicalId(issuer.signingKey), 'Arn'] };

  it("lets only the token function sign, only with the stack's key or this deployment's tagged keys, only RS256", () => {
    const signing = statements.filter((s) => actionsOf(s.statement).some((a) => a === 'kms:Sign' || a === 'kms:*' || a === 'kms:Sign*'));
    expect(signing).toHaveLength(2);
    for (const s of signing) expect(s.roles).toEqual([roleOf(broker.tokenFunction)]);
    expect(signing.map((s) => s.statement)).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: keyArn,
        Condition: { StringEquals: { 'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM } },
      },
      {
        Effect: 'Allow',
        Action: 'kms:Sign',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':key/*']],
        },
        Condition: {
          StringEquals: {
            'kms:SigningAlgorithm': KMS_SIGNING_ALGORITHM,
            'aws:ResourceTag/aws-azure-token-broker:deployment': 'Broker/TokenBroker',
          },
        },
      },
    ]);
    // Only CreateKey and TagResource, which name no key, have `*`; both are limited by conditions (key-rotation.test.ts).
    const starred = statements.filter((s) => s.statement.Resource === '*').flatMap((s) => actionsOf(s.statement));
    expect(starred.sort()).toEqual(['kms:CreateKey', 'kms:TagResource']);
  });

  it('gives the token function GetPublicKey on the signing key, data keys of the cache key for its purpose only, VerifyMac on the state key, and no other KMS action', () => {
    expect([...new Set(kmsActions(broker.tokenFunction))].sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'kms:GetPublicKey',
      'kms:Sign',
      'kms:VerifyMac',
    ]);
    const sealing = statements.filter((s) => actionsOf(s.statement).includes('kms:Decrypt'));
    expect(sealing).toHaveLength(1);
    expect(sealing[0]!.roles).toEqual([roleOf(broker.tokenFunction)]);
    expect(sealing[0]!.statement).toEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [logicalId(broker.tokenCacheKey), 'Arn'] },
      Condition: { StringEquals: { 'kms:EncryptionContext:purpose': 'aws-azure-token-broker/token-cache' } },
    });
  });

  it('gives the jwks function only kms:GetPublicKey and kms:VerifyMac, and the discovery function no KMS action', () => {
    expect(kmsActions(issuer.jwksFunction).sort()).toEqual(['kms:GetPublicKey', 'kms:VerifyMac']);
    expect(kmsActions(issuer.discoveryFunction)).toEqual([]);
  });

  it('lets only the key rotator make MACs with the state key, and the token and JWKS functions verify them, HMAC_SHA_256 only', () => {
    const mac = statements.filter((s) => actionsOf(s.statement).some((a) => a.endsWith('Mac') || a === 'kms:*'));
    const byRole = Object.fromEntries(mac.map((s) => [s.roles[0], s.statement]));
    const onStateKey = (actions: string | string[]) => ({
      Effect: 'Allow',
      Action: actions,
      Resource: { 'Fn::GetAtt': [logicalId(issuer.rotationStateKey), 'Arn'] },
      Condition: { StringEquals: { 'kms:MacAlgorithm': 'HMAC_SHA_256' } },
    });
    expect(mac.every((s) => s.roles.length === 1)).toBe(true);
    expect(byRole).toEqual({
      [roleOf(broker.tokenFunction)]: onStateKey('kms:VerifyMac'),
      [roleOf(issuer.jwksFunction)]: onStateKey('kms:VerifyMac'),
      [roleOf(issuer.keyRotatorFunction)]: onStateKey(['kms:GenerateMac', 'kms:VerifyMac']),
    });
  });

  it('lets the token function use the table (GetItem, PutItem, DeleteItem); the JWKS function and the rotator only the rotation state item', () => {
    const dynamo = statements.filter((s) => actionsOf(s.statement).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo).toHaveLength(3);
    const of = (f: TokenBroker['tokenFunction']) => dynamo.filter((s) => s.roles.includes(roleOf(f)));
    expect(actionsOf(of(broker.tokenFunction)[0]!.statement).sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
    ]);
    const stateOnly = { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['key-rotation#state'] } };
    expect(of(issuer.jwksFunction).map((s) => s.statement)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': [logicalId(broker.table), 'Arn'] }, Condition: stateOnly },
    ]);
    expect(of(issuer.keyRotatorFunction).map((s) => s.statement)).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: { 'Fn::GetAtt': [logicalId(broker.table), 'Arn'] },
        Condition: stateOnly,
      },
    ]);
  });

  it("uses no AWS-managed policy and scopes log writes to each function's own log group", () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const f of [broker.tokenFunction, issuer.jwksFunction, issuer.discoveryFunction]) {
      const logs = statements.filter((s) => s.roles.includes(roleOf(f)) && actionsOf(s.statement).some((a) => a.startsWith('logs:')));
      expect(logs.map((s) => s.statement.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(f.logGroup), 'Arn'] }]);
    }
  });

  it('gives the jwks function GetPublicKey on every published key', () => {
    const stack2 = new Stack(newApp(), 'Stack');
    const next = kms.Key.fromKeyArn(stack2, 'Next', 'arn:aws:kms:eu-west-1:111122223333:key/next');
    const b = new TokenBroker(stack2, 'Broker', { config: config(), publishedKeys: [next] });
    const jwks = policyStatements(Template.fromStack(stack2)).filter(
      (s) => s.roles.includes(logicalId(kmsIssuerOf(b).jwksFunction.role)) && actionsOf(s.statement).includes('kms:GetPublicKey'),
    );
    const resources = jwks.flatMap((s) => [s.statement.Resource].flat());
    expect(resources).toHaveLength(2);
    expect(resources).toEqual(
      expect.arrayContaining([
        { 'Fn::GetAtt': [logicalId(kmsIssuerOf(b).signingKey), 'Arn'] },
        'arn:aws:kms:eu-west-1:111122223333:key/next',
      ]),
    );
  });
});

describe('TokenBroker.grantToken', () => {
  it('grants execute-api:Invoke on exactly that alias route', () => {
    const { stack, broker, template } = tokenBroker();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    broker.grantToken(role, 'graph');
    template().hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(role) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'execute-api:Invoke',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':execute-api:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':',
                  { Ref: logicalId(broker.httpApi) },
                  '/*/GET/token/graph',
                ],
              ],
            },
          },
        ],
      },
    });
  });

  it('throws for an unknown alias, naming it and the configured ones', () => {
    const { stack, broker } = tokenBroker();
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => broker.grantToken(role, 'graf')).toThrow('Unknown alias "graf" for grantToken; configured aliases: graph, storage');
    expect(() => broker.tokenUrl('graf')).toThrow(/Unknown alias "graf" for tokenUrl/);
  });
});

describe('TokenBroker props validation', () => {
  it.each([
    ['https://auth.example.com/', /issuer: expected no trailing slash.*received "https:\/\/auth\.example\.com\/"/],
    ['http://auth.example.com', /issuer: expected an https:\/\/ URL.*received "http:\/\/auth\.example\.com"/],
    ['auth.example.com', /issuer: expected an absolute https:\/\/ URL, received "auth\.example\.com"/],
    ['https://auth.example.com?x=1', /issuer: expected no query.*received "https:\/\/auth\.example\.com\?x=1"/],
  ])('rejects the issuer %s', (issuer, message) => {
    expect(() => tokenBroker({ issuer })).toThrow(message);
  });

  it('skips unresolved values', () => {
    const issuer = Lazy.string({ produce: () => 'https://late.example.com' });
    expect(() => tokenBroker({ issuer })).not.toThrow();
  });

  it('collects every problem into one error', () => {
    const call = () =>
      tokenBroker({
        config: config({ tokenReservedConcurrency: 0 }),
        issuer: 'http://x.example.com/',
        allowedCallers: { accountIds: ['1234'], principalOrgIds: ['org-1'] },
      });
    expect(call).toThrow(/issuer: .*received "http:\/\/x\.example\.com\/"/);
    expect(call).toThrow(/config\.tokenReservedConcurrency: expected an integer from 1 to 1000, received 0/);
    expect(call).toThrow(/allowedCallers\.accountIds\[0\]: expected a 12-digit AWS account id, received "1234"/);
    expect(call).toThrow(/allowedCallers\.principalOrgIds\[0\]: expected an AWS Organizations id.*received "org-1"/);
  });

  it('rejects an empty allowedCallers and unknown fields in it', () => {
    expect(() => tokenBroker({ allowedCallers: {} })).toThrow(/allowedCallers: expected at least one account id or organization id/);
    expect(() => tokenBroker({ allowedCallers: { accountIds: ['111122223333'], ...({ orgIds: [] } as object) } })).toThrow(
      /allowedCallers\.orgIds: unknown field/,
    );
  });

  it('rejects publishing the signing key twice', () => {
    const stack = new Stack(newApp(), 'Stack');
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:eu-west-1:111122223333:key/a');
    const same = kms.Key.fromKeyArn(stack, 'Same', 'arn:aws:kms:eu-west-1:111122223333:key/a');
    expect(() => new TokenBroker(stack, 'Broker', { config: config(), signingKey: key, publishedKeys: [same] })).toThrow(
      /publishedKeys\[0\]: "arn:aws:kms:eu-west-1:111122223333:key\/a" is the signing key/,
    );
  });

  it('fails at synth, not at deploy, when the configuration outgrows the 4 KB Lambda environment', () => {
    const scopes = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`alias-${i}`, `https://api-${i}.example.com/.default`]));
    expect(() => tokenBroker({ config: config({ scopes }) })).toThrow(
      /config\.scopes: the token function's environment would take about \d+ bytes, over Lambda's 4096/,
    );
  });
});

import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { BROKER_ENV } from '../../contract/environment';
import { PRIVATE_STAGE_NAME } from '../../lib/private-token-api';
import { TokenBroker } from '../../lib/token-broker';
import { brokerStack, config, errorThrownBy, logicalId, newApp, tokenBroker } from './helpers';

const VPCE = 'vpce-0123456789abcdef0';
const OTHER_VPCE = 'vpce-0fedcba9876543210';
const privateEndpoint = { endpoint: { type: 'private' as const, vpcEndpointIds: [VPCE, OTHER_VPCE] } };

/** The private REST API's logical id; fails the test when the broker has none. */
function restApiId(broker: TokenBroker): string {
  return logicalId(broker.privateApi?.restApi);
}

type Resource = { Properties: Record<string, any> };
const resourcesOf = (template: Template, type: string) => Object.values(template.findResources(type)) as Resource[];

describe.each([
  ['kms', {}],
  ['aws-sts', { signer: 'aws-sts' as const }],
])('private endpoint, signer %s', (signer, signerConfig) => {
  const { stack, template } = brokerStack(config({ ...signerConfig, ...privateEndpoint }));
  const { broker } = stack;
  const apiRef = { Ref: restApiId(broker) };

  it('puts a PRIVATE REST API bound to the listed VPC endpoints', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', {
      EndpointConfiguration: { Types: ['PRIVATE'], VpcEndpointIds: [VPCE, OTHER_VPCE] },
    });
  });

  it('denies invocation from any other VPC endpoint and leaves the decision to the account IAM policies', () => {
    const [api] = resourcesOf(template, 'AWS::ApiGateway::RestApi');
    expect(api?.Properties.Policy.Statement).toStrictEqual([
      {
        Sid: 'OnlyThroughTheListedVpcEndpoints',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { StringNotEquals: { 'aws:SourceVpce': [VPCE, OTHER_VPCE] } },
      },
      {
        Sid: 'AccountsWhoseIamPoliciesDecide',
        Effect: 'Allow',
        // An account principal, never "*": in the same account it delegates to IAM, so grantToken decides per alias.
        Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
      },
    ]);
  });

  it('has one GET method per alias and the catch-all, every one with AWS_IAM, all to the token function', () => {
    const methods = resourcesOf(template, 'AWS::ApiGateway::Method');
    expect(methods).toHaveLength(2 + 1);
    for (const method of methods) {
      expect(method.Properties).toMatchObject({ HttpMethod: 'GET', AuthorizationType: 'AWS_IAM', Integration: { Type: 'AWS_PROXY' } });
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(logicalId(broker.tokenFunction));
    }
    const pathParts = resourcesOf(template, 'AWS::ApiGateway::Resource').map((r) => r.Properties.PathPart as string);
    expect(pathParts.sort()).toStrictEqual(['graph', 'storage', 'token', '{alias}']);
  });

  it('puts no token route on a public API', () => {
    const routeKeys = resourcesOf(template, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey as string);
    expect(routeKeys.filter((key) => key.includes('/token'))).toStrictEqual([]);
    expect(broker.tokenRoutes).toStrictEqual({});
  });

  it('throttles the stage and writes a JSON access log with the caller, the route and the VPC endpoint', () => {
    const [stage] = resourcesOf(template, 'AWS::ApiGateway::Stage');
    expect(stage?.Properties).toMatchObject({
      StageName: PRIVATE_STAGE_NAME,
      TracingEnabled: true,
      MethodSettings: [
        { HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, DataTraceEnabled: false },
      ],
    });
    const format = JSON.parse(stage?.Properties.AccessLogSetting.Format as string) as Record<string, string>;
    expect(format).toMatchObject({
      userArn: '$context.identity.userArn',
      accountId: '$context.identity.accountId',
      principalOrgId: '$context.identity.principalOrgId',
      routeKey: '$context.httpMethod $context.resourcePath',
      status: '$context.status',
      apiId: '$context.apiId',
      vpceId: '$context.identity.vpceId',
    });
    // Nothing that can carry a signature or a token.
    expect(Object.values(format).join(' ')).not.toMatch(/header|Authorization|querystring|body/i);
    expect(JSON.stringify(stage?.Properties.AccessLogSetting.DestinationArn)).toContain(logicalId(broker.accessLogGroup));
  });

  it("lets API Gateway invoke the token function only from this broker's APIs (SourceArn)", () => {
    const permissions = resourcesOf(template, 'AWS::Lambda::Permission').filter(
      (p) => p.Properties.Principal === 'apigateway.amazonaws.com',
    );
    const ownApis = [restApiId(broker), ...(broker.httpApi ? [logicalId(broker.httpApi)] : [])];
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions) {
      const sourceArn = JSON.stringify(permission.Properties.SourceArn);
      expect(ownApis.some((id) => sourceArn.includes(`{"Ref":"${id}"}`))).toBe(true);
    }
    const tokenPermissions = permissions.filter((p) => JSON.stringify(p.Properties.FunctionName).includes(logicalId(broker.tokenFunction)));
    // One API-wide permission: the function's resource policy stays small whatever the number of aliases.
    expect(tokenPermissions).toHaveLength(1);
    expect(JSON.stringify(tokenPermissions[0]?.Properties.SourceArn)).toContain(`{"Ref":"${restApiId(broker)}"}`);
  });

  it("points the token function's tripwire at the REST API and its stage", () => {
    const [fn] = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { [BROKER_ENV.apiStage]: Match.anyValue() } } },
      }),
    ) as Resource[];
    expect(fn?.Properties.Environment.Variables[BROKER_ENV.apiId]).toStrictEqual(apiRef);
    expect(fn?.Properties.Environment.Variables[BROKER_ENV.apiStage]).toBe(PRIVATE_STAGE_NAME);
  });

  it('gives the token URLs and the private invoke URL forms, with and without private DNS', () => {
    const base = ['https://', apiRef, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }];
    template.hasOutput('TokenUrlGraph', { Value: { 'Fn::Join': ['', [...base, `/${PRIVATE_STAGE_NAME}/token/graph`]] } });
    template.hasOutput('PrivateApiUrl', { Value: { 'Fn::Join': ['', [...base, `/${PRIVATE_STAGE_NAME}`]] } });
    for (const id of [VPCE, OTHER_VPCE]) {
      template.hasOutput(`PrivateApiUrl${id.slice('vpce-'.length)}`, {
        Value: {
          'Fn::Join': [
            '',
            ['https://', apiRef, `-${id}.execute-api.`, { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, `/${PRIVATE_STAGE_NAME}`],
          ],
        },
      });
    }
  });

  it('watches the REST API stage: the 5xx alarm reads AWS/ApiGateway 5XXError by ApiName and Stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Dimensions: Match.arrayWith([
        { Name: 'ApiName', Value: Match.anyValue() },
        { Name: 'Stage', Value: { Ref: logicalId(broker.privateApi?.stage) } },
      ]),
    });
    expect(broker.tokenStage).toBe(broker.privateApi?.stage);
    const [dashboard] = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    expect(body).toContain('API requests and errors (private token API)');
    expect(body).toContain('\\"AWS/ApiGateway\\",\\"5XXError\\",\\"ApiName\\"');
  });

  it('keeps the REST API out of reach in the DirectInvocationGuardPolicy output', () => {
    const output = JSON.stringify(template.findOutputs('DirectInvocationGuardPolicy'));
    expect(output).toContain(`::/restapis/",{"Ref":"${restApiId(broker)}"}`);
    if (signer === 'aws-sts') expect(output).not.toContain('::/apis/');
    else expect(output).toContain(`::/apis/",{"Ref":"${logicalId(broker.httpApi)}"}`);
  });
});

describe('private endpoint: what stays public', () => {
  const routeKeysOf = (template: Template) => resourcesOf(template, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey as string);

  it('keeps discovery and JWKS on the public HTTP API with signer kms, where Entra reads them', () => {
    const { stack, template } = brokerStack(config(privateEndpoint));
    expect(routeKeysOf(template).sort()).toStrictEqual(['GET /.well-known/openid-configuration', 'GET /jwks']);
    template.hasOutput('IssuerUrl', { Value: { 'Fn::GetAtt': [logicalId(stack.broker.httpApi), 'ApiEndpoint'] } });
  });

  it('deploys no public API at all with signer aws-sts', () => {
    const { stack, template } = brokerStack(config({ signer: 'aws-sts', ...privateEndpoint }));
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 0);
    expect(stack.broker.httpApi).toBeUndefined();
  });
});

describe('private endpoint: grants', () => {
  it("grantToken allows execute-api:Invoke on the REST API's GET /token/<alias> in its stage, nothing wider", () => {
    const { stack, broker, template } = tokenBroker({ config: config(privateEndpoint) });
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    broker.grantToken(role, 'graph');
    const statements = Object.values(template().findResources('AWS::IAM::Policy')).flatMap(
      (policy) => (policy as Resource).Properties.PolicyDocument.Statement as Array<Record<string, unknown>>,
    );
    const invokes = statements.filter((statement) => statement.Action === 'execute-api:Invoke');
    expect(invokes).toHaveLength(1);
    expect(invokes[0]?.Effect).toBe('Allow');
    const arn = JSON.stringify(invokes[0]?.Resource);
    expect(arn).toContain(`{"Ref":"${restApiId(broker)}"}`);
    expect(arn).toMatch(/\/GET\/token\/graph"\]\]\}$/);
    // The stage by name (the deployment stage's Ref), never a wildcard.
    expect(arn).toContain(`{"Ref":"${logicalId(broker.privateApi?.stage)}"}`);
    expect(arn).not.toContain('*');
  });

  it('grantToken names the configured aliases for an unknown one', () => {
    const { stack, broker } = tokenBroker({ config: config(privateEndpoint) });
    const role = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => broker.grantToken(role, 'keyvault')).toThrow(
      'Unknown alias "keyvault" for grantToken; configured aliases: graph, storage',
    );
  });

  it('tokenUrl follows the mode: the private stage URL', () => {
    const { stack, broker } = tokenBroker({ config: config(privateEndpoint) });
    expect(stack.resolve(broker.tokenUrl('graph'))).toStrictEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: restApiId(broker) },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/broker/token/graph',
        ],
      ],
    });
  });

  it('admits the allowedCallers accounts and, from other accounts, the allowed organizations in the resource policy', () => {
    const { template } = tokenBroker({
      config: config(privateEndpoint),
      allowedCallers: { accountIds: ['444455556666'], principalOrgIds: ['o-abc123def4'] },
    });
    const [api] = resourcesOf(template(), 'AWS::ApiGateway::RestApi');
    const statements = api?.Properties.Policy.Statement as Array<Record<string, any>>;
    expect(statements[1]?.Principal.AWS).toStrictEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::444455556666:root']] },
    ]);
    expect(statements[2]).toStrictEqual({
      Sid: 'AllowedOrganizationsWhoseIamPoliciesDecide',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Condition: {
        StringEquals: { 'aws:PrincipalOrgID': ['o-abc123def4'] },
        StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } },
      },
    });
  });

  it('refuses an issuer with signer aws-sts and a private endpoint: nothing is public', () => {
    const error = errorThrownBy(() =>
      tokenBroker({ config: config({ signer: 'aws-sts', ...privateEndpoint }), issuer: 'https://broker.example.com' }),
    );
    expect(error.message).toMatch(/issuer: with signer "aws-sts" and a private endpoint nothing is public/);
  });

  it('names the field and value of a bad VPC endpoint id in the construct error', () => {
    const error = errorThrownBy(() => tokenBroker({ config: config({ endpoint: { type: 'private', vpcEndpointIds: ['vpce-12'] } }) }));
    expect(error.message).toContain('config.endpoint.vpcEndpointIds[0]: expected "vpce-" and 17 lowercase hexadecimal digits');
    expect(error.message).toContain('"vpce-12"');
  });

  it('keeps the public mode as it was: no REST API', () => {
    const { template } = tokenBroker();
    template().resourceCountIs('AWS::ApiGateway::RestApi', 0);
  });
});

describe('private endpoint: the identity endpoint', () => {
  it('points BROKER_URL at the private stage URL and grants the mapped alias on the REST API', () => {
    const stack = new Stack(newApp(), 'Stack');
    const broker = new TokenBroker(stack, 'Broker', { config: config(privateEndpoint), monitoring: false });
    const fn = new lambda.Function(stack, 'Workload', {
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromBucket(s3.Bucket.fromBucketName(stack, 'Code', 'function-code'), 'function.zip'),
    });
    broker.addIdentityEndpoint(fn, { resources: { 'https://storage.azure.com': 'storage' } });
    const template = Template.fromStack(stack);
    const [workload] = Object.values(
      template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'python3.13' } }),
    ) as Resource[];
    expect(stack.resolve(workload?.Properties.Environment.Variables.BROKER_URL)).toStrictEqual(stack.resolve(broker.apiUrl));
    expect(JSON.stringify(workload?.Properties.Environment.Variables.BROKER_URL)).toContain('/broker');
    const invokes = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => (policy as Resource).Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
      .filter((statement) => statement.Action === 'execute-api:Invoke');
    expect(invokes).toHaveLength(1);
    expect(JSON.stringify(invokes[0]?.Resource)).toMatch(/\/GET\/token\/storage"\]\]\}$/);
    expect(JSON.stringify(invokes[0]?.Resource)).toContain(`{"Ref":"${restApiId(broker)}"}`);
  });
});

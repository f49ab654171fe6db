/**
 * `TokenBroker.addIdentityEndpoint` in the template (bundling off: the layer's build is test/client/identity-endpoint/
 * extension/layer.int.test.ts): the layer for the function's architecture, one per stack and architecture; the
 * function's environment; the grant of exactly the mapped aliases; and every refusal, named.
 */
import { Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { TokenBroker } from '../../lib/token-broker';
import { actionsOf, config, errorThrownBy, logicalId, newApp, policyStatements } from './helpers';

function setup() {
  const stack = new Stack(newApp(), 'Stack');
  const broker = new TokenBroker(stack, 'Broker', { config: config(), monitoring: false });
  const bucket = s3.Bucket.fromBucketName(stack, 'Code', 'function-code');
  let count = 0;
  const fn = (props: Partial<lambda.FunctionProps> = {}) =>
    new lambda.Function(stack, `Function${++count}`, {
      runtime: lambda.Runtime.PYTHON_3_13,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromBucket(bucket, 'function.zip'),
      ...props,
    });
  return { stack, broker, fn };
}

const STORAGE = { 'https://storage.azure.com': 'storage' };

// Each test synthesizes a broker; under load that takes seconds.
describe('addIdentityEndpoint', { timeout: 60_000 }, () => {
  it('adds the extension layer for the function’s architecture', () => {
    const { stack, broker, fn } = setup();
    const python = fn();
    const attachment = broker.addIdentityEndpoint(python, { resources: STORAGE });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', {
      CompatibleArchitectures: ['arm64'],
      Description: Match.stringLikeRegexp('broker-identity-endpoint \\(Node.js 24, arm64\\)'),
      LicenseInfo: 'Apache-2.0 AND MIT',
    });
    const layerId = logicalId(attachment.layer);
    template.hasResourceProperties('AWS::Lambda::Function', { Runtime: 'python3.13', Layers: [{ Ref: layerId }] });
    expect(layerId).toMatch(/^BrokerIdentityEndpointLayerArm64/);
  });

  it('sets IDENTITY_ENDPOINT, IDENTITY_HEADER (the stack’s generated secret), BROKER_URL and BROKER_IDENTITY_RESOURCES', () => {
    const { stack, broker, fn } = setup();
    const attachment = broker.addIdentityEndpoint(fn(), {
      resources: { 'https://storage.azure.com': 'storage', 'https://graph.microsoft.com/': 'graph' },
    });
    expect(attachment.identityEndpoint).toBe('http://127.0.0.1:41991/msi/token');
    const template = Template.fromStack(stack);
    const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(secretId).toMatch(/^BrokerIdentityEndpointHeader/);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'python3.13',
      Environment: {
        Variables: {
          IDENTITY_ENDPOINT: 'http://127.0.0.1:41991/msi/token',
          IDENTITY_HEADER: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] },
          BROKER_URL: { 'Fn::GetAtt': [logicalId(broker.httpApi), 'ApiEndpoint'] },
          BROKER_IDENTITY_RESOURCES: '{"https://storage.azure.com":"storage","https://graph.microsoft.com/":"graph"}',
        },
      },
    });
  });

  it('takes another port', () => {
    const { stack, broker, fn } = setup();
    broker.addIdentityEndpoint(fn(), { resources: STORAGE, port: 2900 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { IDENTITY_ENDPOINT: 'http://127.0.0.1:2900/msi/token' } },
    });
  });

  it('grants execute-api:Invoke on the mapped alias’s route only', () => {
    const { stack, broker, fn } = setup();
    const python = fn();
    const attachment = broker.addIdentityEndpoint(python, {
      resources: { 'https://storage.azure.com': 'storage', 'https://storage.azure.com/.default': 'storage' },
    });
    expect(attachment.grants).toHaveLength(1);
    const roleId = logicalId(python.role);
    const invokes = policyStatements(Template.fromStack(stack)).filter(
      ({ roles, statement }) => roles.includes(roleId) && actionsOf(statement).includes('execute-api:Invoke'),
    );
    expect(invokes).toHaveLength(1);
    const resource = JSON.stringify(invokes[0]!.statement.Resource);
    expect(resource).toContain('/GET/token/storage');
    expect(resource).not.toContain('graph');
    expect(actionsOf(invokes[0]!.statement)).toEqual(['execute-api:Invoke']);
  });

  it('builds one layer per architecture, shared by the stack’s functions, with their own environment each', () => {
    const { stack, broker, fn } = setup();
    const armPython = fn();
    const armJava = fn({ runtime: lambda.Runtime.JAVA_21, handler: 'example.Handler::handleRequest' });
    const x86Dotnet = fn({
      runtime: lambda.Runtime.DOTNET_8,
      architecture: lambda.Architecture.X86_64,
      handler: 'App::App.Function::Handler',
    });
    const x86Provided = fn({ runtime: lambda.Runtime.PROVIDED_AL2023, architecture: lambda.Architecture.X86_64, handler: 'bootstrap' });
    const armNode = fn({ runtime: lambda.Runtime.NODEJS_24_X });
    const layers = [armPython, armJava, x86Dotnet, x86Provided, armNode].map(
      (each) => broker.addIdentityEndpoint(each, { resources: STORAGE }).layer,
    );
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Lambda::LayerVersion', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const [arm, , x86] = layers;
    expect(new Set(layers)).toEqual(new Set([arm, x86]));
    expect(layers).toEqual([arm, arm, x86, x86, arm]);
    template.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['x86_64'] });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['x86_64'],
      Layers: [{ Ref: logicalId(x86) }],
    });
    // Two assets, one per architecture.
    const keys = Object.values(template.findResources('AWS::Lambda::LayerVersion')).map(
      (layer) => layer.Properties.Content.S3Key as string,
    );
    expect(new Set(keys).size).toBe(2);
  });

  it('leaves cdk-nag nothing to report: the header’s secret, the layer, the grant (its wildcard is the stage only)', () => {
    const { stack, broker, fn } = setup();
    const role = new iam.Role(stack, 'FunctionRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    broker.addIdentityEndpoint(fn({ runtime: lambda.Runtime.PROVIDED_AL2023, handler: 'bootstrap', role }), {
      resources: { 'https://storage.azure.com': 'storage', 'https://graph.microsoft.com': 'graph' },
    });
    Aspects.of(stack).add(new AwsSolutionsChecks());
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    const suppressed = JSON.stringify(Template.fromStack(stack).toJSON().Resources);
    expect(suppressed).toContain('AwsSolutions-SMG4');
    expect(suppressed).toContain('GET\\\\/token\\\\/graph$/g');
  });
});

describe('addIdentityEndpoint refuses, naming each problem', { timeout: 60_000 }, () => {
  it('an alias that is not configured, with the configured ones, and a malformed resource, in one error', () => {
    const { broker, fn } = setup();
    const error = errorThrownBy(() =>
      broker.addIdentityEndpoint(fn(), {
        resources: { 'https://storage.azure.com': 'storage', 'https://vault.azure.net': 'vault', 'http://graph.microsoft.com': 'graph' },
      }),
    );
    expect(error.message).toBe(
      [
        'Invalid addIdentityEndpoint for Stack/Function1:',
        '  - resources: the alias "vault" for https://vault.azure.net is not configured; configured aliases: graph, storage',
        '  - resources: "http://graph.microsoft.com" must be an https:// or api:// URI (or an application id)',
      ].join('\n'),
    );
  });

  it.each([
    ['storage account', 'holds blanks'],
    ['storage', 'is not a resource such as https://storage.azure.com, api://<app id> or an application id'],
    ['https://storage.azure.com?x=1', 'must not hold a user, a query or a fragment'],
    ['https://user@storage.azure.com', 'must not hold a user, a query or a fragment'],
  ])('the resource %j', (resource, problem) => {
    const { broker, fn } = setup();
    expect(() => broker.addIdentityEndpoint(fn(), { resources: { [resource]: 'storage' } })).toThrow(
      `resources: ${JSON.stringify(resource)} ${problem}`,
    );
  });

  it('accepts api:// URIs and bare application ids', () => {
    const { broker, fn } = setup();
    expect(
      broker.addIdentityEndpoint(fn(), {
        resources: { 'api://orders-api': 'graph', '00000003-0000-0000-c000-000000000000': 'graph' },
      }).grants,
    ).toHaveLength(1);
  });

  it('an empty map, one resource mapped to two aliases', () => {
    const { broker, fn } = setup();
    expect(() => broker.addIdentityEndpoint(fn(), { resources: {} })).toThrow(
      "resources: map at least one Azure resource to an alias, e.g. { 'https://storage.azure.com': 'graph' }",
    );
    expect(() =>
      broker.addIdentityEndpoint(fn(), { resources: { 'https://storage.azure.com': 'storage', 'https://storage.azure.com/': 'graph' } }),
    ).toThrow('resources: https://storage.azure.com/ is mapped to both "storage" and "graph"');
  });

  it.each([80, 9001, 70_000, 1.5])('port %d', (port) => {
    const { broker, fn } = setup();
    expect(() => broker.addIdentityEndpoint(fn(), { resources: STORAGE, port })).toThrow(
      `port: expected an integer from 1024 to 65535 other than 9001 (Lambda's Runtime API), got ${port}`,
    );
  });

  it.each([
    lambda.Runtime.PYTHON_3_11,
    lambda.Runtime.JAVA_17,
    // Retired runtimes, named as Lambda names them (CDK deprecates their constants).
    new lambda.Runtime('nodejs18.x', lambda.RuntimeFamily.NODEJS),
    lambda.Runtime.PROVIDED_AL2,
    new lambda.Runtime('dotnet6', lambda.RuntimeFamily.DOTNET_CORE),
    lambda.Runtime.RUBY_3_2,
  ])('a runtime on Amazon Linux 2: %s', (runtime) => {
    const { broker, fn } = setup();
    expect(() => broker.addIdentityEndpoint(fn({ runtime }), { resources: STORAGE })).toThrow(
      `the runtime ${runtime.name} runs on Amazon Linux 2 or older (glibc 2.26), where the layer's Node.js 24 cannot run`,
    );
  });

  it.each([
    lambda.Runtime.PYTHON_3_12,
    lambda.Runtime.PYTHON_3_14,
    lambda.Runtime.JAVA_17_AL2023,
    lambda.Runtime.JAVA_25,
    lambda.Runtime.DOTNET_10,
    lambda.Runtime.NODEJS_20_X,
    lambda.Runtime.RUBY_3_3,
    lambda.Runtime.PROVIDED_AL2023,
  ])('accepts a runtime on Amazon Linux 2023: %s', (runtime) => {
    const { broker, fn } = setup();
    expect(broker.addIdentityEndpoint(fn({ runtime }), { resources: STORAGE }).grants).toHaveLength(1);
  });

  it('a container image function, and an architecture the layer is not built for', () => {
    const { stack, broker, fn } = setup();
    const image = new lambda.Function(stack, 'Image', {
      runtime: lambda.Runtime.FROM_IMAGE,
      handler: lambda.Handler.FROM_IMAGE,
      code: lambda.Code.fromEcrImage(ecr.Repository.fromRepositoryName(stack, 'Repo', 'app')),
    });
    expect(() => broker.addIdentityEndpoint(image, { resources: STORAGE })).toThrow(
      'the function is a container image, which takes extensions in the image (under /opt/extensions), not as layers',
    );
    expect(() => broker.addIdentityEndpoint(fn({ architecture: lambda.Architecture.custom('riscv64') }), { resources: STORAGE })).toThrow(
      `the function's architecture "riscv64" is not one the layer is built for: arm64 or x86_64`,
    );
  });

  it('a second call for the same function', () => {
    const { broker, fn } = setup();
    const python = fn();
    broker.addIdentityEndpoint(python, { resources: STORAGE });
    expect(() => broker.addIdentityEndpoint(python, { resources: { 'https://graph.microsoft.com': 'graph' } })).toThrow(
      'the function has the identity endpoint already: map every resource in one addIdentityEndpoint call',
    );
  });
});

import { createHmac } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EMERGENCY_COST, KEYS_EXIT, main } from '../../client/keys/cli';
import { rotationStateMacMessage, type RotationKey } from '../../contract/key-rotation-state';
import { KMS_ERRORS, mockKms, ROTATION_STATE_KEY_ARN } from '../support/kms-mock';

const T0 = 1_800_000_000;
const JWK = { kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'kid-1', n: 'AQAB', e: 'AQAB' } as const;
const KEYS: RotationKey[] = [
  {
    keyId: 'arn:aws:kms:eu-west-1:111122223333:key/old',
    jwk: JWK,
    status: 'retired',
    reason: 'adopted',
    publishedAt: T0 - 100 * 86_400,
    activatesAt: T0 - 100 * 86_400,
    activatedAt: T0 - 100 * 86_400,
    retiredAt: T0 - 3_600,
  },
  {
    keyId: 'arn:aws:kms:eu-west-1:111122223333:key/new',
    jwk: { ...JWK, kid: 'kid-2' },
    status: 'active',
    reason: 'schedule',
    publishedAt: T0 - 2 * 86_400 - 3_600,
    activatesAt: T0 - 3_600,
    activatedAt: T0 - 3_600,
  },
];

const STATE_JSON = JSON.stringify({ keys: KEYS });

interface ClientOptions {
  outputs?: boolean;
  rotatorAnswer?: { payload: unknown; functionError?: string };
  /** The item's MAC: made with the rotation state key (the default), with another key, or none. */
  mac?: 'valid' | 'other-key' | 'none';
  /** GetFunctionConfiguration on the rotator is refused. */
  configurationDenied?: boolean;
}

function clients(options: ClientOptions = {}) {
  const kmsMock = mockKms();
  const macKey = options.mac === 'other-key' ? Buffer.alloc(32, 7) : kmsMock.hmacKey(ROTATION_STATE_KEY_ARN);
  const mac = createHmac('sha256', macKey).update(rotationStateMacMessage(7, STATE_JSON)).digest();
  const cloudFormation = new CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const dynamodb = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const lambda = new LambdaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  mockClient(cloudFormation)
    .on(DescribeStacksCommand)
    .resolves({
      Stacks: [
        {
          StackName: 'Broker',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs:
            options.outputs === false
              ? []
              : [
                  { OutputKey: 'KeyRotationTable', OutputValue: 'broker-table' },
                  { OutputKey: 'KeyRotatorFunction', OutputValue: 'broker-rotator' },
                ],
        },
      ],
    });
  const dynamo = mockClient(dynamodb);
  dynamo.on(GetItemCommand).resolves({
    Item: {
      pk: { S: 'key-rotation#state' },
      version: { N: '7' },
      rotation: { S: STATE_JSON },
      ...(options.mac === 'none' ? {} : { mac: { B: new Uint8Array(mac) } }),
    },
  });
  const invoke = mockClient(lambda);
  if (options.configurationDenied) {
    invoke.on(GetFunctionConfigurationCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
  } else {
    invoke
      .on(GetFunctionConfigurationCommand, { FunctionName: 'broker-rotator' })
      .resolves({ Environment: { Variables: { BROKER_ROTATION_STATE_KEY_ARN: ROTATION_STATE_KEY_ARN } } });
  }
  const answer = options.rotatorAnswer ?? { payload: { version: 8, steps: ['create'], keys: KEYS.map(({ jwk: _jwk, ...key }) => key) } };
  invoke.on(InvokeCommand).resolves({
    StatusCode: 200,
    // The bytes Lambda answers; the CLI reads them as bytes (the SDK's blob class is not a top-level package here).
    Payload: new Uint8Array(Buffer.from(JSON.stringify(answer.payload))) as InvokeCommandOutput['Payload'],
    ...(answer.functionError ? { FunctionError: answer.functionError } : {}),
  });
  return { clients: { cloudFormation, dynamodb, lambda, kms: kmsMock.client }, dynamo, invoke, kms: kmsMock };
}

async function run(argv: string[], setup = clients()) {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    clients: setup.clients,
    now: () => T0 * 1000,
  });
  return { code, out, err };
}

describe('broker-keys', () => {
  it('status: reads the state item from the table the stack outputs name, and shows each key with its state and dates', async () => {
    const setup = clients();
    const { code, out } = await run(['status', '--stack', 'Broker'], setup);
    expect(code).toBe(KEYS_EXIT.ok);
    expect(setup.dynamo.commandCalls(GetItemCommand)[0]?.args[0].input).toMatchObject({
      TableName: 'broker-table',
      Key: { pk: { S: 'key-rotation#state' } },
      ConsistentRead: true,
    });
    expect(out).toContain('rotation state version 7');
    expect(out).toMatch(/active \(signs\)\s+new\s+schedule/);
    expect(out).toMatch(/retired \(in JWKS\)\s+old\s+adopted/);
    expect(out).toContain(new Date((T0 - 3_600) * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it("status: checks the state's MAC as the broker does, and says so", async () => {
    const setup = clients();
    const { code, out } = await run(['status', '--stack', 'Broker'], setup);
    expect(code).toBe(KEYS_EXIT.ok);
    expect(out).toMatch(/\nMAC: verified\n$/);
    expect(setup.kms.verifyMacInputs()).toMatchObject([{ KeyId: ROTATION_STATE_KEY_ARN, MacAlgorithm: 'HMAC_SHA_256' }]);
  });

  it.each([
    ['a MAC made with another key', 'other-key', 'its MAC does not verify'],
    ['no MAC', 'none', 'it has no MAC'],
  ] as const)('status: shows a state item with %s as refused, says how to recover, exits 1', async (_, mac, why) => {
    const { code, out, err } = await run(['status', '--stack', 'Broker'], clients({ mac }));
    expect(code).toBe(KEYS_EXIT.failed);
    expect(out).toContain(`MAC: DOES NOT VERIFY (${why}): the broker refuses this state`);
    expect(err).toContain('broker-keys rotate --emergency');
  });

  it('status: without kms:VerifyMac or lambda:GetFunctionConfiguration, says the MAC was not checked and why, and does not fail', async () => {
    const noVerify = clients();
    noVerify.kms.failNext('VerifyMac', KMS_ERRORS.accessDenied());
    const denied = await run(['status', '--stack', 'Broker'], noVerify);
    expect(denied.code).toBe(KEYS_EXIT.ok);
    expect(denied.out).toContain(
      'MAC: not checked: KMS VerifyMac failed (AccessDeniedException; needs kms:VerifyMac on the rotation state key)',
    );
    const noConfiguration = await run(['status', '--stack', 'Broker'], clients({ configurationDenied: true }));
    expect(noConfiguration.code).toBe(KEYS_EXIT.ok);
    expect(noConfiguration.out).toContain(
      "MAC: not checked: cannot read the rotator's configuration (AccessDeniedException; needs lambda:GetFunctionConfiguration)",
    );
  });

  it('rotate: invokes the rotator with the request and says no exchange fails; --emergency states its cost', async () => {
    const setup = clients();
    const plain = await run(['rotate', '--stack', 'Broker'], setup);
    expect(plain.code).toBe(KEYS_EXIT.ok);
    expect(plain.out).toContain('no exchange fails');
    const emergency = await run(['rotate', '--emergency', '--stack', 'Broker'], setup);
    expect(emergency.out).toContain(EMERGENCY_COST);
    expect(EMERGENCY_COST).toContain('AADSTS7000272');
    const payloads = setup.invoke
      .commandCalls(InvokeCommand)
      .map((call) => [call.args[0].input.FunctionName, JSON.parse(Buffer.from(call.args[0].input.Payload as Uint8Array).toString('utf8'))]);
    expect(payloads).toEqual([
      ['broker-rotator', { action: 'rotate', requestedAt: T0 }],
      ['broker-rotator', { action: 'emergency', requestedAt: T0 }],
    ]);
  });

  it('migrate: invokes the rotator with the migrate action and says how to check the result', async () => {
    const setup = clients();
    const { code, out } = await run(['migrate', '--stack', 'Broker'], setup);
    expect(code).toBe(KEYS_EXIT.ok);
    expect(out).toContain('The rotation state carries its MAC');
    const payload = setup.invoke.commandCalls(InvokeCommand)[0]?.args[0].input.Payload as Uint8Array;
    expect(JSON.parse(Buffer.from(payload).toString('utf8'))).toEqual({ action: 'migrate', requestedAt: T0 });
  });

  it('fails with a message naming what to fix: a stack without the outputs, a rotator error', async () => {
    const missing = await run(['status', '--stack', 'Other'], clients({ outputs: false }));
    expect(missing.code).toBe(KEYS_EXIT.failed);
    expect(missing.err).toContain('stack Other has no outputs KeyRotationTable and KeyRotatorFunction');
    const failing = await run(
      ['rotate', '--stack', 'Broker'],
      clients({
        rotatorAnswer: { payload: { errorType: 'AccessDeniedException', errorMessage: 'kms:CreateKey' }, functionError: 'Unhandled' },
      }),
    );
    expect(failing.code).toBe(KEYS_EXIT.failed);
    expect(failing.err).toContain('the rotator broker-rotator failed (AccessDeniedException: kms:CreateKey)');
  });

  it('refuses bad usage with exit 2', async () => {
    expect((await run(['status'])).err).toContain('--stack is required');
    expect((await run(['delete', '--stack', 'B'])).code).toBe(KEYS_EXIT.usage);
    expect((await run(['status', '--emergency', '--stack', 'B'])).err).toContain('--emergency goes with rotate');
    expect((await run(['--help'])).out).toContain('broker-keys rotate [--emergency] --stack <name>');
  });
});

describe('broker-keys without an AWS setup (the real SDK clients and default chain)', () => {
  // No region and no credentials anywhere the SDK looks: environment, profile files, container or instance metadata.
  beforeEach(() => {
    for (const name of [
      'AWS_REGION',
      'AWS_DEFAULT_REGION',
      'AWS_PROFILE',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
    ]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  async function runWithDefaults(argv: string[]) {
    let err = '';
    const code = await main(argv, { stdout: { write: () => undefined }, stderr: { write: (text: string) => (err += text) } });
    return { code, err };
  }

  it('no region: says to pass --region or set AWS_REGION, not the SDK\'s bare "Region is missing"', async () => {
    const { code, err } = await runWithDefaults(['status', '--stack', 'Broker']);
    expect(code).toBe(KEYS_EXIT.failed);
    expect(err).toMatch(/^broker-keys: no AWS region: pass --region <region> \(the stack's region\) or set AWS_REGION/);
    expect(err).not.toContain('Error: Region is missing');
    expect(err.trimEnd().split('\n')).toHaveLength(1);
  });

  it("no credentials: names the ways to give them first, the SDK's words after", async () => {
    const { code, err } = await runWithDefaults(['status', '--stack', 'Broker', '--region', 'eu-west-1']);
    expect(code).toBe(KEYS_EXIT.failed);
    expect(err).toMatch(/^broker-keys: no AWS credentials: set AWS_PROFILE to a profile of the stack's account/);
    expect(err).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the SDK said: Could not load credentials from any providers)');
    expect(err).not.toContain('CredentialsProviderError');
    expect(err.trimEnd().split('\n')).toHaveLength(1);
  });
});

/**
 * `entra-aws-credentials` in-process, with a fake Azure credential and STS mocked at the SDK client
 * (aws-sdk-client-mock) raising the SDK's own exception classes; the real STS client against the STS stand-in is
 * covered in test/local/sts-emulator and test/e2e.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import {
  AssumeRoleWithWebIdentityCommand,
  ExpiredTokenException,
  IDPCommunicationErrorException,
  InvalidIdentityTokenException,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENTRA_AWS_EXIT, ENTRA_AWS_HELP, main } from '../../../client/reverse-direction/cli';
import { AUDIENCE, FakeAzureCredential, NOW_MS, OBJECT_ID, ROLE, TENANT, credentialsAnswer, entraToken } from './fakes';

const sts = new STSClient({ region: 'us-east-1' });
const stsMock = mockClient(sts);
let home: string;

async function runCli(args: string[], options: { azure?: TokenCredential; now?: number; env?: Readonly<Record<string, string>> } = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: { HOME: home, XDG_CACHE_HOME: join(home, 'cache'), ...options.env },
    azureCredential: options.azure ?? new FakeAzureCredential(),
    sts,
    now: () => options.now ?? NOW_MS,
  });
  return { code, stdout, stderr };
}

beforeEach(() => {
  stsMock.reset();
  home = mkdtempSync(join(tmpdir(), 'entra-aws-test-'));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

describe('entra-aws-credentials', () => {
  it('prints credential_process JSON, asking Entra for <audience>/.default and STS for the role, session named after the identity', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer());
    const azure = new FakeAzureCredential();
    const result = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE, '--duration-seconds', '1800'], { azure });
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: `${JSON.stringify({ Version: 1, AccessKeyId: 'ASIAEXAMPLE000000001', SecretAccessKey: 'secret-key-value', SessionToken: 'session-token-value', Expiration: new Date(NOW_MS + 3600_000).toISOString() })}\n`,
    });
    expect(azure.calls).toEqual([`${AUDIENCE}/.default`]);
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)[0]?.args[0].input).toEqual({
      RoleArn: ROLE,
      RoleSessionName: `azure-${OBJECT_ID}`,
      WebIdentityToken: entraToken(),
      DurationSeconds: 1800,
    });
  });

  it('serves from the cache until 5 minutes before expiry, then refreshes', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer());
    const azure = new FakeAzureCredential();
    const args = ['--role-arn', ROLE, '--audience', AUDIENCE];
    const first = await runCli(args, { azure });
    const cached = await runCli(args, { azure, now: NOW_MS + 3600_000 - 301_000 });
    expect(cached.stdout).toBe(first.stdout);
    expect(azure.calls).toHaveLength(1);
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
    await runCli(args, { azure, now: NOW_MS + 3600_000 - 299_000 });
    expect(azure.calls).toHaveLength(2);
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
    // Another audience or session name is another cache entry.
    await runCli([...args, '--session-name', 'ci-job'], { azure });
    expect(azure.calls).toHaveLength(3);
    const dir = join(home, 'cache', 'entra-aws-credentials');
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it('never serves one Azure identity the session cached for another, and still serves each its own', async () => {
    // Each identity has its own token and STS answers each with its own credentials.
    const identities = ['a1a1a1a1-0000-0000-0000-000000000001', 'b2b2b2b2-0000-0000-0000-000000000002'];
    const tokens = identities.map((oid) => entraToken({ oid, sub: oid }));
    tokens.forEach((token, index) => {
      stsMock
        .on(AssumeRoleWithWebIdentityCommand, { WebIdentityToken: token })
        .resolves({ Credentials: { ...credentialsAnswer().Credentials, AccessKeyId: `ASIAIDENTITY${index}00000000` } });
    });
    const as = (index: number) => new FakeAzureCredential(() => tokens[index] ?? '');
    const args = ['--role-arn', ROLE, '--audience', AUDIENCE];
    const keyOf = (result: { stdout: string }) => (JSON.parse(result.stdout) as { AccessKeyId: string }).AccessKeyId;
    const stsCalls = () => stsMock.commandCalls(AssumeRoleWithWebIdentityCommand).length;

    // AZURE_CLIENT_ID selects the user-assigned identity (DefaultAzureCredential, ManagedIdentityCredential).
    expect(keyOf(await runCli(args, { azure: as(0), env: { AZURE_CLIENT_ID: 'client-a' } }))).toBe('ASIAIDENTITY000000000');
    expect(keyOf(await runCli(args, { azure: as(1), env: { AZURE_CLIENT_ID: 'client-b' } }))).toBe('ASIAIDENTITY100000000');
    expect(stsCalls()).toBe(2);
    // --managed-identity-client-id selects too, over AZURE_CLIENT_ID.
    const flag = [...args, '--managed-identity-client-id', 'client-b'];
    expect(keyOf(await runCli(flag, { azure: as(1), env: { AZURE_CLIENT_ID: 'client-a' } }))).toBe('ASIAIDENTITY100000000');
    expect(stsCalls()).toBe(3);
    // The same identity, selected the same way, is served from the cache: no Entra or STS call.
    const azureA = as(0);
    expect(keyOf(await runCli(args, { azure: azureA, env: { AZURE_CLIENT_ID: 'client-a' } }))).toBe('ASIAIDENTITY000000000');
    expect(keyOf(await runCli(flag, { azure: as(1), env: { AZURE_CLIENT_ID: 'client-a' } }))).toBe('ASIAIDENTITY100000000');
    expect(azureA.calls).toEqual([]);
    expect(stsCalls()).toBe(3);
  });

  it('keys the cache on the az login (its tenant) and on the STS region and endpoint', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer());
    const args = ['--role-arn', ROLE, '--audience', AUDIENCE];
    const stsCalls = () => stsMock.commandCalls(AssumeRoleWithWebIdentityCommand).length;
    const azureConfig = join(home, 'az-config');
    mkdirSync(azureConfig);
    const azLogin = (tenantId: string) =>
      writeFileSync(
        join(azureConfig, 'azureProfile.json'),
        `\uFEFF${JSON.stringify({ subscriptions: [{ id: 's', isDefault: true, tenantId, user: { name: 'dev@contoso.com', type: 'user' }, environmentName: 'AzureCloud' }] })}`,
      );
    const env = { AZURE_CONFIG_DIR: azureConfig };
    azLogin(TENANT);
    await runCli(args, { env });
    await runCli(args, { env });
    expect(stsCalls()).toBe(1);
    // az login into another tenant (or az account set to a subscription of another tenant): another identity.
    azLogin('22222222-2222-2222-2222-222222222222');
    await runCli(args, { env });
    expect(stsCalls()).toBe(2);
    // Another STS region or endpoint is another STS: its sessions are its own.
    await runCli([...args, '--region', 'eu-west-1'], { env });
    await runCli(args, { env: { ...env, AWS_REGION: 'eu-west-1' } });
    expect(stsCalls()).toBe(3);
    await runCli(args, { env: { ...env, AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1' } });
    expect(stsCalls()).toBe(4);
  });

  it('ignores and replaces a cache file others can read, and tightens a loose cache folder', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer());
    const args = ['--role-arn', ROLE, '--audience', AUDIENCE];
    await runCli(args);
    const dir = join(home, 'cache', 'entra-aws-credentials');
    const [file] = readdirSync(dir);
    const path = join(dir, file ?? '');
    chmodSync(path, 0o644);
    chmodSync(dir, 0o755);
    await runCli(args);
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(2);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('refuses a cache folder that is not a folder, with exit 7, and works with --no-cache', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer());
    const base = join(home, 'cache');
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base);
    mkdirSync(join(home, 'elsewhere'));
    symlinkSync(join(home, 'elsewhere'), join(base, 'entra-aws-credentials'));
    const result = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE]);
    expect(result.code).toBe(ENTRA_AWS_EXIT.cacheUnusable);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/entra-aws-credentials\/? is a symbolic link; it would hold AWS secret keys/);
    expect((await runCli(['--role-arn', ROLE, '--audience', AUDIENCE, '--no-cache'])).code).toBe(0);
  });

  it('explains AccessDenied with the object id, issuer and audience of the token (exit 4)', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).rejects(
      new STSServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        $metadata: { httpStatusCode: 403 },
      }),
    );
    const result = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE]);
    expect(result.code).toBe(ENTRA_AWS_EXIT.accessDenied);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `entra-aws-credentials: STS refused to let the Azure identity (object id ${OBJECT_ID}, issuer https://sts.windows.net/${TENANT}/, audience ${AUDIENCE}) assume ${ROLE}: AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity. Check that the role exists and that its trust lists this object id as sub and ${AUDIENCE} as aud (cdk.json azureToAws.roles.<role>.managedIdentityObjectIds); if the workload has several identities, pick the listed one with AZURE_CLIENT_ID or --managed-identity-client-id.\n`,
    );
    expect(result.stderr).not.toContain(entraToken());
  });

  it('explains the refusals of the token itself (exit 5): no provider, wrong audience (v2: azp), expired', async () => {
    const cases: Array<[Error, string | undefined, RegExp]> = [
      [
        new InvalidIdentityTokenException({
          message: `No OpenIDConnect provider found in your account for https://sts.windows.net/${TENANT}/`,
          $metadata: {},
        }),
        undefined,
        /deploy the AzureToAws stack there, with tokenVersion matching/,
      ],
      [
        new InvalidIdentityTokenException({ message: 'Incorrect token audience', $metadata: {} }),
        undefined,
        /pass --audience equal to azureToAws.audience\.$/,
      ],
      [
        new InvalidIdentityTokenException({ message: 'Incorrect token audience', $metadata: {} }),
        '44444444-4444-4444-4444-444444444444',
        /audience 44444444-.* \(azp; aud .*this is a v2 token, and IAM matches its azp/,
      ],
      [
        new ExpiredTokenException({
          message: 'Token expired: current date/time 2 must be before the expiration date/time1',
          $metadata: {},
        }),
        undefined,
        /ExpiredToken: Token expired: .*check this machine's clock/,
      ],
    ];
    for (const [error, azp, expected] of cases) {
      stsMock.reset();
      stsMock.on(AssumeRoleWithWebIdentityCommand).rejects(error);
      const azure = new FakeAzureCredential(() => entraToken(azp ? { azp, ver: '2.0' } : {}));
      const result = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE, '--no-cache'], { azure });
      expect(result.code, error.message).toBe(ENTRA_AWS_EXIT.invalidIdentityToken);
      expect(result.stderr.trim(), error.message).toMatch(expected);
      expect(result.stderr.split('\n')).toHaveLength(2);
    }
  });

  it('maps an unreachable identity provider or STS to exit 6', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).rejects(new IDPCommunicationErrorException({ message: 'idp down', $metadata: {} }));
    expect((await runCli(['--role-arn', ROLE, '--audience', AUDIENCE])).code).toBe(ENTRA_AWS_EXIT.stsUnavailable);
    stsMock.reset();
    stsMock
      .on(AssumeRoleWithWebIdentityCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }));
    const refused = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE]);
    expect(refused.code).toBe(ENTRA_AWS_EXIT.stsUnavailable);
    expect(refused.stderr).toMatch(/Cannot get credentials for .* from STS: .*ECONNREFUSED.*Check the network path to STS/);
  });

  it('explains a missing Azure credential (exit 3)', async () => {
    const azure = new FakeAzureCredential(() => {
      throw new Error('ManagedIdentityCredential: Network unreachable.\nAzureCliCredential: Azure CLI not found');
    });
    const result = await runCli(['--role-arn', ROLE, '--audience', AUDIENCE], { azure });
    expect(result.code).toBe(ENTRA_AWS_EXIT.azureTokenUnavailable);
    expect(result.stderr).toBe(
      `entra-aws-credentials: Cannot get an Entra token for ${AUDIENCE}/.default. On Azure, assign a managed identity to the resource (for a user-assigned one, set AZURE_CLIENT_ID or --managed-identity-client-id to its client id); on a laptop, run az login; and check that ${AUDIENCE} is the app ID URI of an app registration in the tenant. What the Azure credential said: ManagedIdentityCredential: Network unreachable. AzureCliCredential: Azure CLI not found\n`,
    );
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(0);
  });

  it('refuses bad arguments with exit 2 before any request, naming the value', async () => {
    const azure = new FakeAzureCredential();
    const cases: Array<[string[], RegExp]> = [
      [[], /both --role-arn and --audience are required/],
      [['--role-arn', 'reader', '--audience', AUDIENCE], /--role-arn: expected an IAM role ARN .*got "reader"/],
      [
        ['--role-arn', ROLE, '--audience', `${AUDIENCE}/.default`],
        /--audience: .*without \/.default.*got "api:\/\/aws-federation\/.default"/,
      ],
      [
        ['--role-arn', ROLE, '--audience', AUDIENCE, '--duration-seconds', '600'],
        /--duration-seconds: expected an integer from 900 to 43200, got 600/,
      ],
      [['--role-arn', ROLE, '--audience', AUDIENCE, '--duration-seconds', '1h'], /--duration-seconds: .*got NaN/],
      [['--role-arn', ROLE, '--audience', AUDIENCE, '--session-name', 'a b'], /--session-name: .*got "a b"/],
      [['--role', ROLE], /Unknown option '--role'/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(args, { azure });
      expect(result.code, args.join(' ')).toBe(ENTRA_AWS_EXIT.usage);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(expected);
    }
    expect(azure.calls).toEqual([]);
    const help = await runCli(['--help']);
    expect(help).toEqual({ code: 0, stdout: ENTRA_AWS_HELP, stderr: '' });
  });
});

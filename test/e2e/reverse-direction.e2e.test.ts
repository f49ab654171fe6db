/**
 * The reverse direction end to end, with real parts only: the built `entra-aws-credentials` CLI (as a workload
 * installs it) gets a v1 token from the Entra emulator's App Service managed-identity endpoint through
 * `@azure/identity`, and trades it at the STS stand-in through `@aws-sdk/client-sts` (`AWS_ENDPOINT_URL_STS`).
 * The stand-in verifies the token against the emulator's JWKS and evaluates the trust policy of the role in the
 * synthesized AzureToAws stack. The credentials are then used by a real SDK client (GetCallerIdentity, SigV4
 * checked by the stand-in), also through `credential_process` as the SDK runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromProcess } from '@aws-sdk/credential-providers';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ENTRA_AWS_EXIT } from '../../client/reverse-direction/cli';
import { AzureToAwsStack } from '../../lib/azure-to-aws-stack';
import { startEntraEmulator, type EntraEmulator } from '../../local/entra-emulator/emulator';
import { startStsEmulator, type StsEmulator } from '../../local/sts-emulator/sts-emulator';
import { accountFromTemplates, type AccountModel } from '../../local/sts-emulator/template-trust';
import { newApp } from '../lib/helpers';

const run = promisify(execFile);
const TENANT = '11111111-1111-1111-1111-111111111111';
const RESOURCE_APP = '33333333-3333-3333-3333-333333333333';
const AUDIENCE = 'api://aws-federation';
const TRUSTED = { objectId: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', clientId: 'a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1' };
const STRANGER = { objectId: 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb', clientId: 'b1b1b1b1-b1b1-b1b1-b1b1-b1b1b1b1b1b1' };
/** A second identity of the same workload, trusted by the writer role only. */
const SECOND = { objectId: 'cccccccc-cccc-cccc-cccc-cccccccccccc', clientId: 'c1c1c1c1-c1c1-c1c1-c1c1-c1c1c1c1c1c1' };
const IDENTITY_HEADER = 'local-identity-header-secret';
const REGION = 'eu-west-1';

let entra: EntraEmulator;
let sts: StsEmulator;
let account: AccountModel;
let roleArn: string;
let writerArn: string;
let home: string;

beforeAll(async () => {
  entra = await startEntraEmulator({
    // The app registration that holds the app ID URI lives in the tenant, which also serves the keys.
    apps: [{ tenantId: TENANT, clientId: RESOURCE_APP, federatedCredentials: [] }],
    managedIdentity: {
      identityHeader: IDENTITY_HEADER,
      identities: [
        { tenantId: TENANT, ...TRUSTED },
        { tenantId: TENANT, ...STRANGER },
        { tenantId: TENANT, ...SECOND },
      ],
      resources: [AUDIENCE, 'api://other-app'],
    },
  });
  const stack = new AzureToAwsStack(newApp(), 'AzureToAws', {
    config: {
      tenantId: TENANT,
      audience: AUDIENCE,
      roles: {
        reader: { managedIdentityObjectIds: [TRUSTED.objectId] },
        writer: { managedIdentityObjectIds: [TRUSTED.objectId, SECOND.objectId] },
      },
    },
  });
  account = accountFromTemplates([Template.fromStack(stack).toJSON()], { accountId: '123456789012', region: REGION });
  roleArn = account.outputs.RoleArnReader ?? '';
  writerArn = account.outputs.RoleArnWriter ?? '';
  sts = await startStsEmulator({ account, jwksUris: { [`https://sts.windows.net/${TENANT}/`]: entra.jwksUri(TENANT) } });
}, 60_000);

afterAll(async () => {
  await sts?.close();
  await entra?.close();
});

function freshHome(): string {
  home = mkdtempSync(join(tmpdir(), 'entra-aws-home-'));
  return home;
}

afterAll(() => {
  if (home) rmSync(home, { recursive: true, force: true });
});

function workloadEnv(homeDir: string, identity: { clientId: string } = TRUSTED): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: homeDir,
    XDG_CACHE_HOME: join(homeDir, '.cache'),
    IDENTITY_ENDPOINT: `${entra.url}${entra.managedIdentity?.path ?? ''}`,
    IDENTITY_HEADER,
    // A user-assigned identity is picked by its client id, as on App Service.
    AZURE_CLIENT_ID: identity.clientId,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: REGION,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = inject('builtPackage').bins['entra-aws-credentials'] ?? '';
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The assumed-role ARN STS names for credential_process output (GetCallerIdentity with the real SDK). */
async function callerArn(stdout: string): Promise<string | undefined> {
  const output = JSON.parse(stdout) as { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  const client = new STSClient({
    region: REGION,
    endpoint: sts.url,
    credentials: { accessKeyId: output.AccessKeyId, secretAccessKey: output.SecretAccessKey, sessionToken: output.SessionToken },
  });
  try {
    return (await client.send(new GetCallerIdentityCommand({}))).Arn;
  } finally {
    client.destroy();
  }
}

describe('entra-aws-credentials against the emulators', () => {
  it('prints credentials that an AWS SDK client accepts, for the trusted managed identity', async () => {
    const env = workloadEnv(freshHome());
    const result = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], env);
    expect(result.stderr, sts.lastError?.detail).toBe('');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(Object.keys(output)).toEqual(['Version', 'AccessKeyId', 'SecretAccessKey', 'SessionToken', 'Expiration']);
    expect(output.Version).toBe(1);
    expect(output.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(Date.parse(output.Expiration) - Date.now()).toBeGreaterThan(3500_000);

    const client = new STSClient({
      region: REGION,
      endpoint: sts.url,
      credentials: { accessKeyId: output.AccessKeyId, secretAccessKey: output.SecretAccessKey, sessionToken: output.SessionToken },
    });
    const identity = await client.send(new GetCallerIdentityCommand({}));
    client.destroy();
    expect(identity.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/${roleArn.split('/').pop() ?? ''}/azure-${TRUSTED.objectId}`);
    expect(identity.Account).toBe('123456789012');
  });

  it('serves the second call from a private cache file: no Entra or STS request', async () => {
    const env = workloadEnv(freshHome());
    const first = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], env);
    expect(first.code, first.stderr).toBe(0);
    const tokensBefore = entra.managedIdentity?.counts.tokens;
    const stsBefore = sts.requests.AssumeRoleWithWebIdentity;
    const second = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(entra.managedIdentity?.counts.tokens).toBe(tokensBefore);
    expect(sts.requests.AssumeRoleWithWebIdentity).toBe(stsBefore);

    const dir = join(env.XDG_CACHE_HOME ?? '', 'entra-aws-credentials');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(statSync(join(dir, files[0] ?? '')).mode & 0o777).toBe(0o600);
    // --no-cache goes to Entra and STS again.
    const third = await cli(['--role-arn', roleArn, '--audience', AUDIENCE, '--no-cache'], env);
    expect(third.code, third.stderr).toBe(0);
    expect(sts.requests.AssumeRoleWithWebIdentity).toBe(stsBefore + 1);
  });

  it("never serves one managed identity another's cached session, and still serves each its own from the cache", async () => {
    const env = workloadEnv(freshHome());
    const writer = ['--role-arn', writerArn, '--audience', AUDIENCE];
    const asTrusted = await cli(writer, env);
    expect(asTrusted.code, asTrusted.stderr).toBe(0);
    expect(await callerArn(asTrusted.stdout)).toMatch(new RegExp(`/azure-${TRUSTED.objectId}$`));

    // The same cache folder, another identity picked by AZURE_CLIENT_ID: its own session, named after it.
    const asSecond = await cli(writer, { ...env, AZURE_CLIENT_ID: SECOND.clientId });
    expect(asSecond.code, asSecond.stderr).toBe(0);
    expect(await callerArn(asSecond.stdout)).toMatch(new RegExp(`/azure-${SECOND.objectId}$`));
    // Picked by --managed-identity-client-id (over AZURE_CLIENT_ID): the same.
    const flagged = await cli([...writer, '--managed-identity-client-id', SECOND.clientId], env);
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(await callerArn(flagged.stdout)).toMatch(new RegExp(`/azure-${SECOND.objectId}$`));
    // An identity the role does not list is refused, not handed the session cached for the trusted one.
    const reader = ['--role-arn', roleArn, '--audience', AUDIENCE];
    expect((await cli(reader, env)).code).toBe(0);
    const stranger = await cli(reader, { ...env, AZURE_CLIENT_ID: STRANGER.clientId });
    expect(stranger.code).toBe(ENTRA_AWS_EXIT.accessDenied);
    expect(stranger.stdout).toBe('');

    // Each identity, picked as before, is served from its cache entry: no request at Entra or STS.
    const tokensBefore = entra.managedIdentity?.counts.tokens;
    const stsBefore = sts.requests.AssumeRoleWithWebIdentity;
    expect((await cli(writer, env)).stdout).toBe(asTrusted.stdout);
    expect((await cli(writer, { ...env, AZURE_CLIENT_ID: SECOND.clientId })).stdout).toBe(asSecond.stdout);
    expect(entra.managedIdentity?.counts.tokens).toBe(tokensBefore);
    expect(sts.requests.AssumeRoleWithWebIdentity).toBe(stsBefore);
  });

  it('works as credential_process for an AWS SDK profile', async () => {
    const dir = freshHome();
    const bin = inject('builtPackage').bins['entra-aws-credentials'] ?? '';
    mkdirSync(join(dir, '.aws'));
    writeFileSync(
      join(dir, '.aws', 'config'),
      `[profile from-azure]\ncredential_process = ${process.execPath} ${bin} --role-arn ${roleArn} --audience ${AUDIENCE}\n`,
    );
    for (const [name, value] of Object.entries(workloadEnv(dir))) vi.stubEnv(name, value);
    try {
      const client = new STSClient({ region: REGION, endpoint: sts.url, credentials: fromProcess({ profile: 'from-azure' }) });
      const identity = await client.send(new GetCallerIdentityCommand({}));
      client.destroy();
      expect(identity.Arn).toMatch(new RegExp(`:assumed-role/.+/azure-${TRUSTED.objectId}$`));
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('explains AccessDenied for an identity the role does not list, with its object id, and prints nothing on stdout', async () => {
    const result = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], workloadEnv(freshHome(), STRANGER));
    expect(result.code).toBe(ENTRA_AWS_EXIT.accessDenied);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`object id ${STRANGER.objectId}`);
    expect(result.stderr).toContain('AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity');
    expect(result.stderr).toContain('managedIdentityObjectIds');
    expect(sts.lastError?.code).toBe('AccessDenied');
  });

  it('explains a wrong audience: the token is for another app ID URI than the provider knows', async () => {
    const result = await cli(['--role-arn', roleArn, '--audience', 'api://other-app'], workloadEnv(freshHome()));
    expect(result.code).toBe(ENTRA_AWS_EXIT.invalidIdentityToken);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('InvalidIdentityToken: Incorrect token audience');
    expect(result.stderr).toContain('audience api://other-app');
    expect(result.stderr).toContain('pass --audience equal to azureToAws.audience');
  });

  it('never writes a token, secret key or session token to stderr', async () => {
    const env = workloadEnv(freshHome(), STRANGER);
    const result = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], env);
    expect(result.code).toBe(ENTRA_AWS_EXIT.accessDenied);
    expect(result.stderr).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(result.stderr).not.toContain(IDENTITY_HEADER);
  });

  it('fails with exit 3 and one line when no Azure credential is available', async () => {
    const env = { ...workloadEnv(freshHome()), IDENTITY_HEADER: 'wrong-header' };
    const result = await cli(['--role-arn', roleArn, '--audience', AUDIENCE], env);
    expect(result.code).toBe(ENTRA_AWS_EXIT.azureTokenUnavailable);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    // The fix comes first, within the first 400 characters; the credential chain's long detail after it.
    expect(result.stderr).toMatch(
      /^entra-aws-credentials: Cannot get an Entra token for api:\/\/aws-federation\/.default\. On Azure, assign a managed identity/,
    );
    expect(result.stderr.indexOf('run az login')).toBeLessThan(400);
    expect(result.stderr).toMatch(/What the Azure credential said: \S/);
    expect(result.stderr).not.toContain('wrong-header');
  });
});

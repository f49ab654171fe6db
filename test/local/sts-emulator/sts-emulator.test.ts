/**
 * The STS stand-in with the real `@aws-sdk/client-sts`, against trust policies taken from synthesized stacks:
 * GitHub tokens (signed here with jsonwebtoken, keys served by a loopback JWKS server) and Entra v2 tokens. Each
 * refusal is checked for the error the SDK raises, since the client's explanations key on it.
 */
import { createServer, type Server } from 'node:http';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { Template } from 'aws-cdk-lib/assertions';
import jsonwebtoken from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureToAwsStack } from '../../../lib/azure-to-aws-stack';
import { GitHubActionsStack } from '../../../lib/github-actions-stack';
import { startStsEmulator, type StsEmulator } from '../../../local/sts-emulator/sts-emulator';
import { accountFromTemplates, type AccountModel } from '../../../local/sts-emulator/template-trust';
import { newApp } from '../../lib/helpers';
import { rsaKeyPair } from '../../support/rsa-keys';

const GITHUB = 'https://token.actions.githubusercontent.com';
const TENANT = '11111111-1111-1111-1111-111111111111';
const V2_ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const APP_CLIENT = '22222222-2222-2222-2222-222222222222';
const MI = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa';
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW = NOW_MS / 1000;
const WORKFLOW = 'octo-org/automation/.github/workflows/deploy.yml@refs/heads/main';

let jwksServer: Server;
let jwksUrl: string;
let sts: StsEmulator;
let account: AccountModel;
let clock = NOW_MS;
let client: STSClient;

function sign(claims: Record<string, unknown>, options: { key?: string; kid?: string } = {}): string {
  return jsonwebtoken.sign({ iat: NOW - 60, nbf: NOW - 60, exp: NOW + 300, ...claims }, rsaKeyPair(options.key ?? 'issuer').privateKey, {
    algorithm: 'RS256',
    keyid: options.kid ?? 'key-1',
  });
}

const github = (sub: string, extra: Record<string, unknown> = {}) => sign({ iss: GITHUB, aud: 'sts.amazonaws.com', sub, ...extra });

async function assume(roleOutput: string, token: string, extra: { DurationSeconds?: number } = {}) {
  return client.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: account.outputs[roleOutput],
      RoleSessionName: 'test-session',
      WebIdentityToken: token,
      ...extra,
    }),
  );
}

async function refusal(promise: Promise<unknown>): Promise<{ name: string; message: string; status: number | undefined }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e as { name: string; message: string; $metadata?: { httpStatusCode?: number } },
  );
  if (!error) throw new Error('expected STS to refuse');
  return { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode };
}

beforeAll(async () => {
  const jwk = { ...rsaKeyPair('issuer').publicKey.export({ format: 'jwk' }), kid: 'key-1', use: 'sig', alg: 'RS256' };
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const address = jwksServer.address();
  jwksUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/keys`;

  const app = newApp();
  const githubStack = new GitHubActionsStack(app, 'GitHub', {
    config: {
      roles: {
        deploy: { repository: 'octo-org/octo-repo', environments: ['prod'], maxSessionDurationSeconds: 3600 },
        release: { repository: 'octo-org/octo-repo', tags: ['v*'], branches: ['release/?'] },
        immutable: { repository: 'octo-org/octo-repo', repositoryOwnerId: 123456, repositoryId: 456789, environments: ['prod'] },
        pinned: {
          repository: 'octo-org/octo-repo',
          repositoryId: 456789,
          subjectClaims: ['repository_id', 'context', 'job_workflow_ref'],
          branches: ['main'],
          jobWorkflowRefs: [WORKFLOW],
        },
      },
    },
  });
  const azureStack = new AzureToAwsStack(app, 'AzureV2', {
    config: {
      tenantId: TENANT,
      tokenVersion: 2,
      audience: APP_CLIENT,
      dangerouslyAllowV2TokensForAnyResource: true,
      roles: { app: { managedIdentityObjectIds: [MI] } },
    },
  });
  account = accountFromTemplates([Template.fromStack(githubStack).toJSON(), Template.fromStack(azureStack).toJSON()]);
  sts = await startStsEmulator({ account, jwksUris: { [GITHUB]: jwksUrl, [V2_ISSUER]: jwksUrl }, now: () => clock });
  client = new STSClient({ region: 'us-east-1', endpoint: sts.url, maxAttempts: 1 });
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await sts?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe('STS stand-in: AssumeRoleWithWebIdentity with synthesized GitHub trusts', { timeout: 20_000 }, () => {
  it('admits the environment named in the role, and answers like STS', async () => {
    const answer = await assume('RoleArnDeploy', github('repo:octo-org/octo-repo:environment:prod'));
    expect(answer.SubjectFromWebIdentityToken).toBe('repo:octo-org/octo-repo:environment:prod');
    expect(answer.Audience).toBe('sts.amazonaws.com');
    expect(answer.Provider).toBe(GITHUB);
    expect(answer.AssumedRoleUser?.Arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/GitHubActionsdeploy[0-9A-F]{8}\/test-session$/);
    expect(answer.Credentials?.Expiration?.getTime()).toBe(NOW_MS + 3600_000);
  });

  it('admits wildcard tags and branches through StringLike, and nothing else of the repository', async () => {
    await expect(assume('RoleArnRelease', github('repo:octo-org/octo-repo:ref:refs/tags/v1.2.0'))).resolves.toBeDefined();
    await expect(assume('RoleArnRelease', github('repo:octo-org/octo-repo:ref:refs/heads/release/7'))).resolves.toBeDefined();
    for (const sub of [
      'repo:octo-org/octo-repo:ref:refs/heads/release/10',
      'repo:octo-org/octo-repo:ref:refs/heads/main',
      'repo:octo-org/octo-repo:pull_request',
      'repo:octo-org/octo-repo-fork:ref:refs/tags/v1',
      'repo:evil/octo-repo:ref:refs/tags/v1',
    ]) {
      expect(await refusal(assume('RoleArnRelease', github(sub))), sub).toEqual({
        name: 'AccessDenied',
        message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        status: 403,
      });
    }
    // A branch job of the deploy repository is not its environment.
    expect((await refusal(assume('RoleArnDeploy', github('repo:octo-org/octo-repo:ref:refs/heads/main')))).name).toBe('AccessDenied');
  });

  it("admits GitHub's immutable sub and refuses the same names with another repository's id (a name reused)", async () => {
    await expect(assume('RoleArnImmutable', github('repo:octo-org@123456/octo-repo@456789:environment:prod'))).resolves.toBeDefined();
    for (const sub of [
      'repo:octo-org/octo-repo:environment:prod',
      'repo:octo-org@123456/octo-repo@999999:environment:prod',
      'repo:octo-org@654321/octo-repo@456789:environment:prod',
      'repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main',
    ]) {
      expect((await refusal(assume('RoleArnImmutable', github(sub)))).name, sub).toBe('AccessDenied');
    }
  });

  it('admits the customized sub (repository_id, context, job_workflow_ref) and nothing else', async () => {
    const sub = (repositoryId: number, context: string, workflow: string) =>
      `repository_id:${repositoryId}:${context}:job_workflow_ref:${workflow}`;
    await expect(assume('RoleArnPinned', github(sub(456789, 'ref:refs/heads/main', WORKFLOW)))).resolves.toMatchObject({
      SubjectFromWebIdentityToken: sub(456789, 'ref:refs/heads/main', WORKFLOW),
    });
    for (const other of [
      sub(999999, 'ref:refs/heads/main', WORKFLOW),
      sub(456789, 'ref:refs/heads/dev', WORKFLOW),
      sub(456789, 'pull_request', WORKFLOW),
      sub(456789, 'ref:refs/heads/main', 'octo-org/automation/.github/workflows/deploy.yml@refs/heads/dev'),
      sub(456789, 'ref:refs/heads/main', 'evil/automation/.github/workflows/deploy.yml@refs/heads/main'),
      'repo:octo-org/octo-repo:ref:refs/heads/main',
    ]) {
      expect((await refusal(assume('RoleArnPinned', github(other)))).name, other).toBe('AccessDenied');
    }
  });

  it('refuses an audience that is not in the provider client ID list', async () => {
    expect(await refusal(assume('RoleArnDeploy', github('repo:octo-org/octo-repo:environment:prod', { aud: 'sigstore' })))).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'Incorrect token audience',
      status: 400,
    });
  });

  it('refuses an expired token with ExpiredTokenException, naming both times', async () => {
    const token = github('repo:octo-org/octo-repo:environment:prod', { exp: NOW - 1 });
    expect(await refusal(assume('RoleArnDeploy', token))).toEqual({
      name: 'ExpiredTokenException',
      message: `Token expired: current date/time ${NOW} must be before the expiration date/time${NOW - 1}`,
      status: 400,
    });
  });

  it('refuses a token from an issuer with no provider, an unknown key and a forged signature', async () => {
    const foreign = sign({ iss: 'https://accounts.example.com', aud: 'sts.amazonaws.com', sub: 'x' });
    expect(await refusal(assume('RoleArnDeploy', foreign))).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'No OpenIDConnect provider found in your account for https://accounts.example.com',
      status: 400,
    });
    const unknownKid = sign({ iss: GITHUB, aud: 'sts.amazonaws.com', sub: 'repo:octo-org/octo-repo:environment:prod' }, { kid: 'key-2' });
    expect((await refusal(assume('RoleArnDeploy', unknownKid))).message).toMatch(
      /^Couldn't retrieve verification key from your identity provider/,
    );
    const forged = sign({ iss: GITHUB, aud: 'sts.amazonaws.com', sub: 'repo:octo-org/octo-repo:environment:prod' }, { key: 'attacker' });
    expect(await refusal(assume('RoleArnDeploy', forged))).toEqual({
      name: 'InvalidIdentityTokenException',
      message: 'The web identity token signature could not be validated.',
      status: 400,
    });
    expect((await refusal(assume('RoleArnDeploy', 'not-a-jwt'))).name).toBe('InvalidIdentityTokenException');
  });

  it('refuses a duration past the role maximum and a role that does not exist', async () => {
    const token = github('repo:octo-org/octo-repo:environment:prod');
    expect(await refusal(assume('RoleArnDeploy', token, { DurationSeconds: 7200 }))).toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    });
    const missing = client.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: 'arn:aws:iam::123456789012:role/nope',
        RoleSessionName: 'x1',
        WebIdentityToken: token,
      }),
    );
    expect((await refusal(missing)).name).toBe('AccessDenied');
    expect(sts.lastError?.detail).toContain('no role arn:aws:iam::123456789012:role/nope');
  });
});

describe('STS stand-in: an identity provider whose keys cannot be fetched', { timeout: 20_000 }, () => {
  it('answers IDPCommunicationError', async () => {
    const unreachable = await startStsEmulator({
      account,
      // A port nothing listens on: the key fetch is refused.
      jwksUris: { [GITHUB]: 'http://127.0.0.1:9/keys', [V2_ISSUER]: jwksUrl },
      now: () => clock,
    });
    const local = new STSClient({ region: 'us-east-1', endpoint: unreachable.url, maxAttempts: 1 });
    try {
      const token = github('repo:octo-org/octo-repo:environment:prod');
      const error = await refusal(
        local.send(
          new AssumeRoleWithWebIdentityCommand({ RoleArn: account.outputs.RoleArnDeploy, RoleSessionName: 'x1', WebIdentityToken: token }),
        ),
      );
      expect(error).toMatchObject({ name: 'IDPCommunicationErrorException', status: 400 });
      expect(unreachable.lastError?.detail).toContain('GET http://127.0.0.1:9/keys');
    } finally {
      local.destroy();
      await unreachable.close();
    }
  });
});

describe('STS stand-in: Entra v2 tokens', { timeout: 20_000 }, () => {
  it('matches azp, not aud, against the client ID list when the token has one', async () => {
    const v2 = (azp: string) => sign({ iss: V2_ISSUER, aud: APP_CLIENT, azp, sub: MI, oid: MI, ver: '2.0' });
    // A managed identity's v2 token: aud is the app, azp is the identity's own client id.
    expect(await refusal(assume('RoleArnApp', v2('44444444-4444-4444-4444-444444444444')))).toMatchObject({
      name: 'InvalidIdentityTokenException',
      message: 'Incorrect token audience',
    });
    // The app calling as itself: azp equals the audience.
    await expect(assume('RoleArnApp', v2(APP_CLIENT))).resolves.toMatchObject({ Audience: APP_CLIENT, SubjectFromWebIdentityToken: MI });
  });

  it('accepts a v2 token the client got for any other resource: the risk dangerouslyAllowV2TokensForAnyResource names', async () => {
    const forAnotherApi = sign({
      iss: V2_ISSUER,
      aud: '55555555-5555-5555-5555-555555555555',
      azp: APP_CLIENT,
      sub: MI,
      oid: MI,
      ver: '2.0',
    });
    await expect(assume('RoleArnApp', forAnotherApi)).resolves.toMatchObject({ Audience: APP_CLIENT });
  });
});

describe('STS stand-in: GetCallerIdentity with issued credentials', { timeout: 20_000 }, () => {
  it('answers for the session, and refuses a wrong secret, an unknown key and expired credentials', async () => {
    const answer = await assume('RoleArnDeploy', github('repo:octo-org/octo-repo:environment:prod'));
    const issued = answer.Credentials!;
    const withCredentials = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
      new STSClient({ region: 'us-east-1', endpoint: sts.url, maxAttempts: 1, credentials, systemClockOffset: clock - Date.now() });
    const good = { accessKeyId: issued.AccessKeyId!, secretAccessKey: issued.SecretAccessKey!, sessionToken: issued.SessionToken! };

    const caller = withCredentials(good);
    expect(await caller.send(new GetCallerIdentityCommand({}))).toMatchObject({
      Arn: answer.AssumedRoleUser?.Arn,
      Account: '123456789012',
      UserId: answer.AssumedRoleUser?.AssumedRoleId,
    });
    caller.destroy();

    const wrongSecret = withCredentials({ ...good, secretAccessKey: 'x'.repeat(40) });
    expect((await refusal(wrongSecret.send(new GetCallerIdentityCommand({})))).name).toBe('SignatureDoesNotMatch');
    wrongSecret.destroy();
    const unknown = withCredentials({ ...good, accessKeyId: 'ASIAUNKNOWNUNKNOWN00' });
    expect(await refusal(unknown.send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'InvalidClientTokenId', status: 403 });
    unknown.destroy();

    clock = NOW_MS + 3601_000;
    try {
      const late = withCredentials(good);
      expect(await refusal(late.send(new GetCallerIdentityCommand({})))).toMatchObject({ name: 'ExpiredToken', status: 403 });
      late.destroy();
    } finally {
      clock = NOW_MS;
    }
  });
});

// `npm run demo -- --reverse`: the reverse direction, an Azure workload into an AWS role, with no account. The Entra
// emulator plays the App Service managed-identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER), the STS stand-in
// plays AssumeRoleWithWebIdentity with the trust of the role the AzureToAws stack synthesizes, and a real AWS SDK
// client gets its credentials from `entra-aws-credentials` as a profile's `credential_process`; its second run is
// served from the private cache file, which the demo shows (never the secret).
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromProcess } from '@aws-sdk/credential-providers';
import { App } from 'aws-cdk-lib';
import { AzureToAwsStack } from '../../lib/azure-to-aws-stack';
import { startEntraEmulator, type EntraEmulator } from '../entra-emulator/emulator';
import { startStsEmulator, type StsEmulator } from '../sts-emulator/sts-emulator';
import { accountFromTemplates } from '../sts-emulator/template-trust';

const TENANT = '11111111-1111-1111-1111-111111111111';
/** The app registration whose app ID URI is the token's audience (the AWS side trusts that `aud`). */
const RESOURCE_APP = '33333333-3333-3333-3333-333333333333';
const AUDIENCE = 'api://aws-federation';
const WORKLOAD = { objectId: 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa', clientId: 'a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1' };
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const PROFILE = 'from-azure';
const CLI = resolve(fileURLToPath(new URL('../../client/bin/entra-aws-credentials.ts', import.meta.url)));

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (n: number, title: string) => process.stdout.write(`\n${bold(`${String(n)}. ${title}`)}\n`);
const show = (text: string) => process.stdout.write(`${text.replace(/^/gm, '   ')}\n`);

/** The role ARN the AzureToAws stack outputs for `reader`, from its synthesized template. */
function synthesizeReaderRole(): { roleArn: string; templates: unknown[] } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new AzureToAwsStack(app, 'AzureToAws', {
    config: { tenantId: TENANT, audience: AUDIENCE, roles: { reader: { managedIdentityObjectIds: [WORKLOAD.objectId] } } },
  });
  const templates = [app.synth().getStackByName(stack.stackName).template as unknown];
  const account = accountFromTemplates(templates, { accountId: ACCOUNT, region: REGION });
  const roleArn = account.outputs.RoleArnReader;
  if (!roleArn) throw new Error('the AzureToAws stack has no RoleArnReader output');
  return { roleArn, templates };
}

/** One AWS SDK call with a fresh client, as a new workload process would make it: the profile's credential_process runs. */
async function whoAmI(): Promise<string> {
  const client = new STSClient({ region: REGION, credentials: fromProcess({ profile: PROFILE }) });
  try {
    return (await client.send(new GetCallerIdentityCommand({}))).Arn ?? '';
  } finally {
    client.destroy();
  }
}

/**
 * Runs the reverse-direction walkthrough.
 * @returns true when the SDK got the role's credentials through credential_process and the second run came from the cache
 */
export async function reverseDemo(): Promise<boolean> {
  const folder = await mkdtemp(join(tmpdir(), 'broker-reverse-demo-'));
  let entra: EntraEmulator | undefined;
  let sts: StsEmulator | undefined;
  try {
    process.stdout.write(`${bold('The reverse direction: an Azure workload into an AWS role (local demo)')}\n`);
    const { roleArn, templates } = synthesizeReaderRole();
    const identityHeader = 'demo-identity-header';
    entra = await startEntraEmulator({
      apps: [{ tenantId: TENANT, clientId: RESOURCE_APP, federatedCredentials: [] }],
      managedIdentity: { identityHeader, identities: [{ tenantId: TENANT, ...WORKLOAD }], resources: [AUDIENCE] },
    });
    const issuer = `https://sts.windows.net/${TENANT}/`;
    sts = await startStsEmulator({
      account: accountFromTemplates(templates, { accountId: ACCOUNT, region: REGION }),
      jwksUris: { [issuer]: entra.jwksUri(TENANT) },
    });
    const identityEndpoint = `${entra.url}${entra.managedIdentity?.path ?? ''}`;

    // What the Azure platform sets for the workload, and the SDK's standard settings for the STS endpoint; the
    // profile file and the cache live in a temporary folder, so nothing of the user's AWS setup is read or changed.
    const configFile = join(folder, 'aws-config');
    const credentialProcess = `${process.execPath} --import tsx ${CLI} --role-arn ${roleArn} --audience ${AUDIENCE}`;
    await writeFile(configFile, `[profile ${PROFILE}]\nregion = ${REGION}\ncredential_process = ${credentialProcess}\n`, { mode: 0o600 });
    Object.assign(process.env, {
      IDENTITY_ENDPOINT: identityEndpoint,
      IDENTITY_HEADER: identityHeader,
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_REGION: REGION,
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: join(folder, 'no-credentials'),
      XDG_CACHE_HOME: join(folder, 'cache'),
    });
    show(
      `managed identity  ${identityEndpoint}  (the Entra emulator: object id ${WORKLOAD.objectId})\n` +
        `AWS STS (local)   ${sts.url}  (AssumeRoleWithWebIdentity, the role's trust from the synthesized AzureToAws stack)\n` +
        `AWS role          ${roleArn}  (trusts aud ${AUDIENCE}, sub ${WORKLOAD.objectId})`,
    );

    step(1, "The workload's AWS profile: credential_process runs entra-aws-credentials");
    show(`[profile ${PROFILE}]\ncredential_process = entra-aws-credentials --role-arn ${roleArn} --audience ${AUDIENCE}`);
    show('(here through tsx from the sources; in a workload node_modules/.bin/entra-aws-credentials, never npx of a registry name)');

    step(2, 'An AWS SDK client calls GetCallerIdentity with that profile');
    const first = await whoAmI();
    const afterFirst = { entra: entra.managedIdentity?.counts.tokens ?? 0, sts: sts.requests.AssumeRoleWithWebIdentity };
    show(
      `Arn: ${first}\n` +
        `managed-identity tokens so far: ${String(afterFirst.entra)}, AssumeRoleWithWebIdentity calls so far: ${String(afterFirst.sts)}`,
    );

    step(3, 'A second client (a new process would do the same): the cached session');
    const second = await whoAmI();
    const afterSecond = { entra: entra.managedIdentity?.counts.tokens ?? 0, sts: sts.requests.AssumeRoleWithWebIdentity };
    show(
      `Arn: ${second}\n` +
        `managed-identity tokens so far: ${String(afterSecond.entra)}, AssumeRoleWithWebIdentity calls so far: ${String(afterSecond.sts)} (none new)`,
    );

    step(4, 'The cache: one private file per role, identity and audience (its content is a secret: not shown)');
    const cacheDir = join(folder, 'cache', 'entra-aws-credentials');
    const files = await readdir(cacheDir);
    for (const file of files) {
      const info = await stat(join(cacheDir, file));
      show(`${join(cacheDir, file)}  mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, ${String(info.size)} bytes`);
    }

    const ok =
      first.startsWith(`arn:aws:sts::${ACCOUNT}:assumed-role/`) &&
      second === first &&
      afterFirst.sts === 1 &&
      afterSecond.sts === 1 &&
      afterSecond.entra === afterFirst.entra &&
      files.length === 1;
    if (!ok) throw new Error('the demo did not behave as expected');
    process.stdout.write(`\n${bold('Done.')} Stopping everything.\n`);
    return true;
  } finally {
    await sts?.close();
    await entra?.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * What decides, before any request, which session a run of `entra-aws-credentials` would get: the Entra identity
 * `DefaultAzureCredential` signs in as, and the STS that answers. The credential cache keys on it, so a run as one
 * identity (or against another STS) never gets the session cached for another.
 *
 * Read from `@azure/identity` 4.x (`DefaultAzureCredential` and its factories, `ManagedIdentityCredential`,
 * `AzureCliCredential`) and `@azure/msal-node` (its managed-identity sources), each credential of the chain in order:
 * - `EnvironmentCredential`: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_USERNAME` (the secret or certificate
 *   belongs to that client, so it selects nothing more); `AZURE_AUTHORITY_HOST` names the cloud.
 * - `WorkloadIdentityCredential` (AKS): the same tenant and client id, and `AZURE_FEDERATED_TOKEN_FILE`.
 * - `ManagedIdentityCredential`: the user-assigned identity's client id (`--managed-identity-client-id`, else
 *   `AZURE_CLIENT_ID`), and the platform's endpoint variables that pick the source (App Service, Arc, Service
 *   Fabric, Cloud Shell, Azure ML, pod identity). `IDENTITY_HEADER` and `MSI_SECRET` are secrets and select nothing.
 * - `AzureCliCredential`: the az login, i.e. the default subscription's tenant, user and cloud in
 *   `azureProfile.json` under `AZURE_CONFIG_DIR`, else `~/.azure` (azure-cli's `get_config_dir`; the file is written
 *   with a UTF-8 byte order mark).
 * - `AzurePowerShellCredential` and `AzureDeveloperCliCredential` ask `pwsh` and `azd`, whose logins live in
 *   `~/.Azure/AzureRmContext.json` and `config.json` under `AZD_CONFIG_DIR` (else `~/.azd`; `auth.account.currentUser`,
 *   Azure/azure-dev#1022): a digest of each file stands for their login, so any change to it misses the cache.
 * - `AZURE_TOKEN_CREDENTIALS` narrows the chain.
 * The Visual Studio Code and broker credentials need plugins this package never loads, so they never answer.
 *
 * For STS: the region (`--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`) and the endpoint overrides the SDK reads
 * (`AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, and the profile's `endpoint_url` through `AWS_PROFILE`).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variables whose value selects the Entra identity of some credential in the chain. */
export const AZURE_IDENTITY_VARIABLES = [
  'AZURE_TOKEN_CREDENTIALS',
  'AZURE_AUTHORITY_HOST',
  'AZURE_TENANT_ID',
  'AZURE_CLIENT_ID',
  'AZURE_USERNAME',
  'AZURE_FEDERATED_TOKEN_FILE',
  'IDENTITY_ENDPOINT',
  'IMDS_ENDPOINT',
  'MSI_ENDPOINT',
  'IDENTITY_SERVER_THUMBPRINT',
  'DEFAULT_IDENTITY_CLIENT_ID',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_CONFIG_DIR',
  'AZD_CONFIG_DIR',
] as const;

/** Environment variables the AWS SDK reads for STS's endpoint. */
export const STS_ENDPOINT_VARIABLES = ['AWS_ENDPOINT_URL_STS', 'AWS_ENDPOINT_URL', 'AWS_PROFILE'] as const;

export interface SessionSelectorOptions {
  readonly env: Env;
  /** `--managed-identity-client-id`. @default - none */
  readonly managedIdentityClientId?: string;
  /** The STS region the run uses (already resolved). */
  readonly stsRegion: string;
}

/**
 * Every value that decides which identity and which STS a run would use, by name; absent ones are left out.
 * Reads three small files; never throws (an unreadable file counts as no login).
 */
export async function sessionSelectors(options: SessionSelectorOptions): Promise<Readonly<Record<string, string>>> {
  const { env } = options;
  const home = env.HOME || env.USERPROFILE || homedir();
  const selectors: Record<string, string> = { stsRegion: options.stsRegion };
  if (options.managedIdentityClientId) selectors.managedIdentityClientId = options.managedIdentityClientId;
  for (const name of [...AZURE_IDENTITY_VARIABLES, ...STS_ENDPOINT_VARIABLES]) {
    const value = env[name];
    if (value) selectors[name] = value;
  }
  const [azureCli, powerShell, developerCli] = await Promise.all([
    azureCliAccount(join(env.AZURE_CONFIG_DIR || join(home, '.azure'), 'azureProfile.json')),
    fileDigest(join(home, '.Azure', 'AzureRmContext.json')),
    fileDigest(join(env.AZD_CONFIG_DIR || join(home, '.azd'), 'config.json')),
  ]);
  if (azureCli) selectors.azureCliAccount = azureCli;
  if (powerShell) selectors.azurePowerShellContext = powerShell;
  if (developerCli) selectors.azureDeveloperCliConfig = developerCli;
  return selectors;
}

/** The az login: `{tenant} {user type}:{user} {cloud}` of the default subscription, or a digest of a file it cannot read. */
async function azureCliAccount(profileFile: string): Promise<string | undefined> {
  const text = await readText(profileFile);
  if (text === undefined) return undefined;
  try {
    const profile = JSON.parse(text.replace(/^\uFEFF/, '')) as {
      subscriptions?: Array<{
        isDefault?: unknown;
        tenantId?: unknown;
        environmentName?: unknown;
        user?: { name?: unknown; type?: unknown };
      }>;
    };
    const current = profile.subscriptions?.find((subscription) => subscription.isDefault === true);
    if (!current) return 'no default subscription';
    return [current.tenantId, `${String(current.user?.type)}:${String(current.user?.name)}`, current.environmentName].map(String).join(' ');
  } catch {
    return digest(text);
  }
}

async function fileDigest(file: string): Promise<string | undefined> {
  const text = await readText(file);
  return text === undefined ? undefined : digest(text);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * `entra-aws-credentials --role-arn <arn> --audience <app id uri>`: prints AWS `credential_process` JSON for an
 * Azure workload, from a cache while the credentials last. Run by client/bin/entra-aws-credentials.ts;
 * `main` has no side effects on import, so tests call it in-process too.
 */
import { parseArgs } from 'node:util';
import type { TokenCredential } from '@azure/core-auth';
import type { STSClient } from '@aws-sdk/client-sts';
import { assumeRoleWithEntraToken, checkAssumeRoleOptions, stsRegion } from './assume-role-with-entra';
import { CredentialFileCache, defaultCacheDir, type CacheKey, type CredentialProcessOutput } from './credential-file-cache';
import { sessionSelectors } from './session-selectors';
import { WorkloadIdentityError, type WorkloadIdentityErrorCode } from './workload-identity-error';

/** Exit codes, stable for scripts (also listed in `--help`). */
export const ENTRA_AWS_EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  azureTokenUnavailable: 3,
  accessDenied: 4,
  invalidIdentityToken: 5,
  stsUnavailable: 6,
  cacheUnusable: 7,
} as const;

const EXIT_BY_CODE: Record<WorkloadIdentityErrorCode, number> = {
  invalid_argument: ENTRA_AWS_EXIT.usage,
  azure_token_unavailable: ENTRA_AWS_EXIT.azureTokenUnavailable,
  access_denied: ENTRA_AWS_EXIT.accessDenied,
  invalid_identity_token: ENTRA_AWS_EXIT.invalidIdentityToken,
  sts_unavailable: ENTRA_AWS_EXIT.stsUnavailable,
  cache_unusable: ENTRA_AWS_EXIT.cacheUnusable,
  sts_error: ENTRA_AWS_EXIT.other,
};

/** Cached credentials with less than this left are refreshed, never served. */
export const REFRESH_MARGIN_SECONDS = 300;

export const ENTRA_AWS_HELP = `Usage: entra-aws-credentials --role-arn <arn> --audience <app id uri> [--session-name N] [--duration-seconds N]
                             [--region R] [--managed-identity-client-id ID] [--no-cache]

Prints temporary AWS credentials as credential_process JSON, for an Azure workload: an Entra token for the
audience (DefaultAzureCredential: managed identity, AKS workload identity, az login) traded at STS
AssumeRoleWithWebIdentity. In ~/.aws/config, with the installed command (on PATH after a global install of the
package, or its full node_modules/.bin path; never npx, which could fetch another package of that name):

  [profile from-azure]
  credential_process = entra-aws-credentials --role-arn arn:aws:iam::123456789012:role/reader --audience api://aws-federation

Options:
  --role-arn <arn>                  role to assume (a RoleArn output of the AzureToAws stack)
  --audience <uri>                  app ID URI the role trusts (its aud), without /.default
  --session-name <name>             role session name (default: azure-<object id of the identity>)
  --duration-seconds <n>            900 to the role's maximum (default: 3600)
  --region <region>                 STS region (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1);
                                    $AWS_ENDPOINT_URL_STS overrides the endpoint
  --managed-identity-client-id <id> user-assigned managed identity to use (default: $AZURE_CLIENT_ID, else system-assigned)
  --no-cache                        always call Entra and STS (default: cache in $XDG_CACHE_HOME or ~/.cache,
                                    per role, audience, Azure identity and STS endpoint, mode 0600, refreshed
                                    ${REFRESH_MARGIN_SECONDS / 60} minutes before expiry)
  -h, --help                        show this help

Output: {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"} on stdout.
Errors: one line on stderr, nothing on stdout; never a token or secret.

Exit codes:
  0  success
  1  any other error
  2  usage error (bad argument, duration longer than the role allows)
  3  no Entra token (no managed identity or login here, or Entra refused the audience)
  4  access denied: the role's trust does not list this identity (object id) or the role does not exist
  5  STS refused the token: no IAM OIDC provider for its issuer, wrong audience, expired
  6  STS unreachable or throttling
  7  credential cache folder not safe to use (use --no-cache)
`;

export interface EntraAwsCliIo {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly azureCredential?: TokenCredential;
  readonly sts?: STSClient;
  /** Milliseconds since the epoch, for cache freshness. */
  readonly now?: () => number;
}

/** The credential_process JSON for credentials. */
export function credentialProcessOutput(credentials: {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}): CredentialProcessOutput {
  return {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration.toISOString(),
  };
}

/**
 * Runs the CLI with `argv` (without node and script).
 * @returns the exit code (see `ENTRA_AWS_EXIT`); never throws
 */
export async function main(argv: readonly string[], io: EntraAwsCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const fail = (code: number, message: string) => {
    stderr.write(`entra-aws-credentials: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    return code;
  };

  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'role-arn': { type: 'string' },
        audience: { type: 'string' },
        'session-name': { type: 'string' },
        'duration-seconds': { type: 'string' },
        region: { type: 'string' },
        'managed-identity-client-id': { type: 'string' },
        'no-cache': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return fail(ENTRA_AWS_EXIT.usage, `${error instanceof Error ? error.message : String(error)} (see --help)`);
  }
  if (values.help) {
    stdout.write(ENTRA_AWS_HELP);
    return ENTRA_AWS_EXIT.ok;
  }
  const roleArn = values['role-arn'];
  const audience = values.audience;
  if (!roleArn || !audience) return fail(ENTRA_AWS_EXIT.usage, 'both --role-arn and --audience are required (see --help)');
  let durationSeconds: number | undefined;
  if (values['duration-seconds'] !== undefined) {
    durationSeconds = /^\d+$/.test(values['duration-seconds']) ? Number(values['duration-seconds']) : Number.NaN;
  }
  const request = {
    roleArn,
    audience,
    ...(values['session-name'] !== undefined ? { sessionName: values['session-name'] } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
  };
  const managedIdentityClientId = values['managed-identity-client-id'];

  try {
    checkAssumeRoleOptions(request);
    const cache = values['no-cache'] ? undefined : new CredentialFileCache(defaultCacheDir(env), io.now);
    const key: CacheKey | undefined = cache && {
      ...request,
      selectors: await sessionSelectors({
        env,
        stsRegion: stsRegion(values.region, env),
        ...(managedIdentityClientId ? { managedIdentityClientId } : {}),
      }),
    };
    const cached = cache && key && (await cache.read(key, REFRESH_MARGIN_SECONDS));
    if (cached) {
      stdout.write(`${JSON.stringify(cached)}\n`);
      return ENTRA_AWS_EXIT.ok;
    }
    const credentials = await assumeRoleWithEntraToken({
      ...request,
      env,
      ...(values.region ? { region: values.region } : {}),
      ...(managedIdentityClientId ? { managedIdentityClientId } : {}),
      ...(io.azureCredential ? { azureCredential: io.azureCredential } : {}),
      ...(io.sts ? { sts: io.sts } : {}),
    });
    const output = credentialProcessOutput(credentials);
    if (cache && key) await cache.write(key, output);
    stdout.write(`${JSON.stringify(output)}\n`);
    return ENTRA_AWS_EXIT.ok;
  } catch (error) {
    if (error instanceof WorkloadIdentityError) return fail(EXIT_BY_CODE[error.code], error.message);
    return fail(ENTRA_AWS_EXIT.other, `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

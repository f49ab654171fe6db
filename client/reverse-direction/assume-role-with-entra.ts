/**
 * The exchange at the heart of the reverse direction: an Entra access token for the audience, from an Azure
 * `TokenCredential` (by default `DefaultAzureCredential`: managed identity on App Service, Functions and VMs, AKS
 * workload identity, `az login` on a laptop), traded at STS `AssumeRoleWithWebIdentity` for temporary AWS
 * credentials. STS is called with `@aws-sdk/client-sts` and the SDK's standard configuration (`AWS_REGION`,
 * `AWS_ENDPOINT_URL_STS`, proxies); the call needs no AWS credentials.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { STSClient } from '@aws-sdk/client-sts';
import { identityClaims, type IdentityClaims } from './web-identity-claims';
import { WorkloadIdentityError } from './workload-identity-error';

export interface AssumeRoleWithEntraOptions {
  /** The role to assume, e.g. an `RoleArn…` output of the AzureToAws stack. */
  readonly roleArn: string;
  /** The app ID URI the token is requested for (`api://aws-federation`), without `/.default`. */
  readonly audience: string;
  /** @default `azure-<object id of the token>` (so CloudTrail names the identity), else `entra-aws-credentials` */
  readonly sessionName?: string;
  /** 900 to the role's maximum. @default - STS's default (3600) */
  readonly durationSeconds?: number;
  /** @default new DefaultAzureCredential() (with `managedIdentityClientId` when given) */
  readonly azureCredential?: TokenCredential;
  /** Client id of the user-assigned managed identity to use with the default credential. @default - AZURE_CLIENT_ID or the system-assigned one */
  readonly managedIdentityClientId?: string;
  /** @default - an STSClient for `region` */
  readonly sts?: STSClient;
  /** @default - AWS_REGION, AWS_DEFAULT_REGION, else us-east-1 (as the SDK's own web identity provider falls back) */
  readonly region?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface AwsTemporaryCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
  /** The assumed-role ARN STS returned. */
  readonly assumedRoleArn: string | undefined;
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/**
 * Checks the options that can be checked without a request.
 * @throws WorkloadIdentityError `invalid_argument` naming the option and the value
 */
export function checkAssumeRoleOptions(
  options: Pick<AssumeRoleWithEntraOptions, 'roleArn' | 'audience' | 'sessionName' | 'durationSeconds'>,
): void {
  if (!ROLE_ARN.test(options.roleArn)) {
    throw new WorkloadIdentityError(
      'invalid_argument',
      `--role-arn: expected an IAM role ARN such as arn:aws:iam::123456789012:role/reader, got "${options.roleArn}"`,
    );
  }
  if (options.audience.trim() === '' || /\s/.test(options.audience) || options.audience.endsWith('/.default')) {
    throw new WorkloadIdentityError(
      'invalid_argument',
      `--audience: expected the app ID URI the role trusts (e.g. api://aws-federation, without /.default), got "${options.audience}"`,
    );
  }
  if (options.sessionName !== undefined && !SESSION_NAME.test(options.sessionName)) {
    throw new WorkloadIdentityError(
      'invalid_argument',
      `--session-name: expected 2-64 of letters, digits and +=,.@_-, got "${options.sessionName}"`,
    );
  }
  const duration = options.durationSeconds;
  if (duration !== undefined && !(Number.isInteger(duration) && duration >= 900 && duration <= 43_200)) {
    throw new WorkloadIdentityError(
      'invalid_argument',
      `--duration-seconds: expected an integer from 900 to 43200, got ${String(duration)}`,
    );
  }
}

/** The region for STS: explicit, else the SDK's environment variables, else us-east-1. */
export function stsRegion(explicit: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return explicit || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}

/**
 * Gets an Entra token for `audience` and assumes `roleArn` with it.
 * @throws WorkloadIdentityError `invalid_argument`, `azure_token_unavailable`, `access_denied`,
 *   `invalid_identity_token`, `sts_unavailable` or `sts_error`, each explaining what to check
 */
export async function assumeRoleWithEntraToken(options: AssumeRoleWithEntraOptions): Promise<AwsTemporaryCredentials> {
  checkAssumeRoleOptions(options);
  const env = options.env ?? process.env;
  const token = await entraToken(options);
  const claims = identityClaims(token);
  const sessionName = options.sessionName ?? defaultSessionName(claims);
  const { AssumeRoleWithWebIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const sts =
    options.sts ??
    new STSClient({
      region: stsRegion(options.region, env),
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 5000, requestTimeout: 10_000 },
    });
  try {
    const answer = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: options.roleArn,
        RoleSessionName: sessionName,
        WebIdentityToken: token,
        ...(options.durationSeconds !== undefined ? { DurationSeconds: options.durationSeconds } : {}),
      }),
    );
    const credentials = answer.Credentials;
    if (!credentials?.AccessKeyId || !credentials.SecretAccessKey || !credentials.SessionToken || !credentials.Expiration) {
      throw new WorkloadIdentityError(
        'sts_error',
        `STS answered AssumeRoleWithWebIdentity for ${options.roleArn} without complete credentials.`,
      );
    }
    return {
      accessKeyId: credentials.AccessKeyId,
      secretAccessKey: credentials.SecretAccessKey,
      sessionToken: credentials.SessionToken,
      expiration: credentials.Expiration,
      assumedRoleArn: answer.AssumedRoleUser?.Arn,
    };
  } catch (error) {
    if (error instanceof WorkloadIdentityError) throw error;
    throw explainStsError(error, options, claims);
  } finally {
    if (!options.sts) sts.destroy();
  }
}

async function entraToken(options: AssumeRoleWithEntraOptions): Promise<string> {
  const scope = `${options.audience}/.default`;
  let credential = options.azureCredential;
  try {
    if (!credential) {
      const { DefaultAzureCredential } = await import('@azure/identity');
      credential = new DefaultAzureCredential(
        options.managedIdentityClientId ? { managedIdentityClientId: options.managedIdentityClientId } : {},
      );
    }
    const answer = await credential.getToken(scope);

    if (!answer?.token) throw new Error('the credential returned no token');
    return answer.token;
  } catch (error) {
    const why = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
    throw new WorkloadIdentityError(
      'azure_token_unavailable',
      // The fix first: DefaultAzureCredential's detail lists every credential it tried (often 2,000 characters).
      `Cannot get an Entra token for ${scope}. On Azure, assign a managed identity to the resource (for a user-assigned one, set AZURE_CLIENT_ID or --managed-identity-client-id to its client id); on a laptop, run az login; and check that ${options.audience} is the app ID URI of an app registration in the tenant. What the Azure credential said: ${why}`,
      { cause: error },
    );
  }
}

function defaultSessionName(claims: IdentityClaims): string {
  const name = `azure-${claims.objectId ?? ''}`;
  return claims.objectId && SESSION_NAME.test(name) ? name : 'entra-aws-credentials';
}

interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Maps an STS or network failure to a WorkloadIdentityError whose message says what to check. */
export function explainStsError(
  error: unknown,
  options: Pick<AssumeRoleWithEntraOptions, 'roleArn' | 'audience'>,
  claims: IdentityClaims,
): WorkloadIdentityError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkError;
  const name = e.name ?? '';
  const stsMessage = (e.message ?? String(error)).replace(/\s+/g, ' ').trim();
  const who = `object id ${claims.objectId ?? '(none in the token)'}, issuer ${claims.issuer ?? '(none)'}, audience ${claims.authorizedParty ? `${claims.authorizedParty} (azp; aud ${claims.audience ?? '?'})` : (claims.audience ?? '(none)')}`;
  const status = e.$metadata?.httpStatusCode;
  if (name === 'AccessDenied' || name === 'AccessDeniedException') {
    return new WorkloadIdentityError(
      'access_denied',
      `STS refused to let the Azure identity (${who}) assume ${options.roleArn}: AccessDenied: ${stsMessage}. Check that the role exists and that its trust lists this object id as sub and ${options.audience} as aud (cdk.json azureToAws.roles.<role>.managedIdentityObjectIds); if the workload has several identities, pick the listed one with AZURE_CLIENT_ID or --managed-identity-client-id.`,
      { cause: error },
    );
  }
  if (
    name === 'InvalidIdentityTokenException' ||
    name === 'InvalidIdentityToken' ||
    name === 'IDPRejectedClaimException' ||
    name === 'ExpiredTokenException'
  ) {
    let hint = `Check that the role's account has an IAM OIDC provider for the token's issuer ${claims.issuer ?? ''} with ${options.audience} in its client ID list (the AzureToAws stack creates it).`;
    if (/audience/i.test(stsMessage)) {
      hint = `The token's audience is not a client ID of the IAM OIDC provider for ${claims.issuer ?? 'its issuer'}: pass --audience equal to azureToAws.audience${claims.authorizedParty ? "; this is a v2 token, and IAM matches its azp (the calling identity's client id), so use v1 tokens (accessTokenAcceptedVersion null or 1) for managed identities" : ''}.`;
    } else if (/No OpenIDConnect provider/i.test(stsMessage)) {
      hint = `The role's account has no IAM OIDC provider for ${claims.issuer ?? 'the issuer'}: deploy the AzureToAws stack there, with tokenVersion matching the token (v1 issuer https://sts.windows.net/{tenant}/, v2 https://login.microsoftonline.com/{tenant}/v2.0).`;
    } else if (name === 'ExpiredTokenException') {
      hint = "The Entra token had expired when STS checked it: check this machine's clock, and run the command again for a new token.";
    }
    return new WorkloadIdentityError(
      'invalid_identity_token',
      `STS refused the Entra token (${who}) for ${options.roleArn}: ${name.replace(/Exception$/, '')}: ${stsMessage}. ${hint}`,
      {
        cause: error,
      },
    );
  }
  if (name === 'ValidationError' && /DurationSeconds/i.test(stsMessage)) {
    return new WorkloadIdentityError(
      'invalid_argument',
      `STS refused --duration-seconds for ${options.roleArn}: ${stsMessage} (raise the role's maxSessionDurationSeconds, or ask for less).`,
      { cause: error },
    );
  }
  const network =
    e.code ??
    (typeof (e as { cause?: { code?: string } }).cause?.code === 'string' ? (e as { cause: { code: string } }).cause.code : undefined);
  if (
    name === 'IDPCommunicationErrorException' ||
    name === 'TimeoutError' ||
    name === 'Throttling' ||
    name === 'ThrottlingException' ||
    (status !== undefined && status >= 500) ||
    (status === undefined && (network !== undefined || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|socket|network/i.test(stsMessage)))
  ) {
    return new WorkloadIdentityError(
      'sts_unavailable',
      `Cannot get credentials for ${options.roleArn} from STS: ${name || 'error'}: ${stsMessage}${network ? ` (${network})` : ''}. Check the network path to STS (AWS_ENDPOINT_URL_STS, proxy) and retry.`,
      { cause: error },
    );
  }
  return new WorkloadIdentityError(
    'sts_error',
    `STS refused AssumeRoleWithWebIdentity for ${options.roleArn} (${who}): ${name || 'error'}: ${stsMessage}`,
    { cause: error },
  );
}

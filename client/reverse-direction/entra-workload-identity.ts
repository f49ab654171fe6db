/**
 * `fromEntraWorkloadIdentity`: the reverse direction as an AWS SDK v3 credential provider, for Node code running
 * in Azure:
 *
 *   const s3 = new S3Client({ credentials: fromEntraWorkloadIdentity({ roleArn, audience: 'api://aws-federation' }) });
 *
 * Credentials are kept in memory and refreshed `refreshMarginSeconds` before they expire; concurrent calls share
 * one request; failures are not cached. The SDK clients also refresh on `expiration`, so either side refreshing
 * first is fine.
 */
import {
  assumeRoleWithEntraToken,
  checkAssumeRoleOptions,
  type AssumeRoleWithEntraOptions,
  type AwsTemporaryCredentials,
} from './assume-role-with-entra';

/** The options of `assumeRoleWithEntraToken` (role, audience, session, Azure credential, STS client), plus the refresh. */
export interface EntraWorkloadIdentityOptions extends AssumeRoleWithEntraOptions {
  /** @default 300 */
  readonly refreshMarginSeconds?: number;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
}

/** The identity the AWS SDK expects from a credential provider. */
export interface EntraAwsCredentialIdentity {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/**
 * An AWS SDK v3 credential provider backed by an Entra workload identity.
 * @throws WorkloadIdentityError `invalid_argument` at once for a bad role ARN, audience, session name or duration;
 *   the provider rejects with the errors of `assumeRoleWithEntraToken`
 */
export function fromEntraWorkloadIdentity(options: EntraWorkloadIdentityOptions): () => Promise<EntraAwsCredentialIdentity> {
  checkAssumeRoleOptions(options);
  const clock = options.clock ?? Date.now;
  const marginMs = (options.refreshMarginSeconds ?? 300) * 1000;
  let current: AwsTemporaryCredentials | undefined;
  let inFlight: Promise<AwsTemporaryCredentials> | undefined;
  return async () => {
    if (current && current.expiration.getTime() - clock() > marginMs) return identity(current);
    inFlight ??= assumeRoleWithEntraToken(options).finally(() => {
      inFlight = undefined;
    });
    current = await inFlight;
    return identity(current);
  };
}

function identity(credentials: AwsTemporaryCredentials): EntraAwsCredentialIdentity {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = credentials;
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

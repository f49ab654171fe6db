/**
 * What to do when the AWS SDK could not even start a call: no region, or no credentials. The SDK's own messages
 * ("Region is missing", "Could not load credentials from any providers") say what is missing, not how to give it.
 */

/** The SDK's error when no region comes from the client, the environment or the profile (@smithy/config-resolver). */
const REGION_MISSING = 'Region is missing';
/** The SDK's error class name when the default credential chain found nothing (@smithy/property-provider). */
const CREDENTIALS_PROVIDER_ERROR = 'CredentialsProviderError';

/**
 * A one-line message with the fix first, for the SDK's "no region" and "no credentials" errors.
 * @returns undefined for any other error
 */
export function awsSetupHint(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.message === REGION_MISSING) {
    return "no AWS region: pass --region <region> (the stack's region) or set AWS_REGION, or use a profile that names one (AWS_PROFILE)";
  }
  if (error.name === CREDENTIALS_PROVIDER_ERROR) {
    const detail = error.message.split('\n')[0] ?? '';
    return (
      'no AWS credentials: set AWS_PROFILE to a profile of the stack\'s account (after "aws sso login" for an SSO profile), ' +
      `or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the SDK said: ${detail})`
    );
  }
  return undefined;
}

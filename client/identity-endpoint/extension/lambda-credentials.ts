/**
 * The AWS credentials an extension signs with: the function's own. Lambda puts them in the environment it gives the
 * runtime and every extension (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), so they are read
 * there first, with no module to load on the function's first token request. With SnapStart the environment holds
 * container credentials instead (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, AWS's "Activating and managing Lambda
 * SnapStart"), which the SDK's default chain resolves: it is loaded then, and only then.
 */
import { defaultCredentialsProvider, type AwsCredentialsProvider, type Env } from '../../sign-request';

/** Reads the function's credentials from `env` on each call; otherwise asks `fallback`. */
export function lambdaCredentials(env: Env, fallback: AwsCredentialsProvider = defaultCredentialsProvider()): AwsCredentialsProvider {
  return async () => {
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (accessKeyId && secretAccessKey) {
      const sessionToken = env.AWS_SESSION_TOKEN;
      return sessionToken ? { accessKeyId, secretAccessKey, sessionToken } : { accessKeyId, secretAccessKey };
    }
    return fallback();
  };
}

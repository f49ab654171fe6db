/** The extension signs with the function's own credentials: from the environment Lambda gives it, else the SDK chain. */
import { describe, expect, it } from 'vitest';
import { lambdaCredentials } from '../../../../client/identity-endpoint/extension/lambda-credentials';

const fallbackCalls: string[] = [];
const fallback = async () => {
  fallbackCalls.push('called');
  return { accessKeyId: 'AKIDCONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-token' };
};

describe('lambdaCredentials', () => {
  it("reads the function's credentials from the environment, without the SDK chain", async () => {
    fallbackCalls.length = 0;
    const env = { AWS_ACCESS_KEY_ID: 'ASIAFUNCTION', AWS_SECRET_ACCESS_KEY: 'function-secret', AWS_SESSION_TOKEN: 'function-token' };
    expect(await lambdaCredentials(env, fallback)()).toEqual({
      accessKeyId: 'ASIAFUNCTION',
      secretAccessKey: 'function-secret',
      sessionToken: 'function-token',
    });
    expect(await lambdaCredentials({ AWS_ACCESS_KEY_ID: 'AKIDLONG', AWS_SECRET_ACCESS_KEY: 'long-secret' }, fallback)()).toEqual({
      accessKeyId: 'AKIDLONG',
      secretAccessKey: 'long-secret',
    });
    expect(fallbackCalls).toEqual([]);
  });

  it('asks the SDK chain when the environment has none (SnapStart: container credentials)', async () => {
    fallbackCalls.length = 0;
    const env = { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://127.0.0.1:9001/2021-04-23/credentials', AWS_ACCESS_KEY_ID: 'AKIDHALF' };
    expect(await lambdaCredentials(env, fallback)()).toEqual({
      accessKeyId: 'AKIDCONTAINER',
      secretAccessKey: 'container-secret',
      sessionToken: 'container-token',
    });
    expect(fallbackCalls).toEqual(['called']);
  });
});

/**
 * `fromEntraWorkloadIdentity`: the reverse direction as an AWS SDK credential provider, with a fake Azure credential
 * and STS mocked at the SDK client.
 */
import { AssumeRoleWithWebIdentityCommand, IDPCommunicationErrorException, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { fromEntraWorkloadIdentity } from '../../../client/reverse-direction/entra-workload-identity';
import { WorkloadIdentityError } from '../../../client/reverse-direction/workload-identity-error';
import { AUDIENCE, FakeAzureCredential, NOW_MS, ROLE, credentialsAnswer } from './fakes';

const sts = new STSClient({ region: 'us-east-1' });
const stsMock = mockClient(sts);

beforeEach(() => {
  stsMock.reset();
});

describe('fromEntraWorkloadIdentity', () => {
  it('keeps credentials until the refresh margin, shares one request between concurrent callers, and does not cache failures', async () => {
    let now = NOW_MS;
    stsMock
      .on(AssumeRoleWithWebIdentityCommand)
      .resolvesOnce(credentialsAnswer())
      .rejectsOnce(new IDPCommunicationErrorException({ message: 'idp down', $metadata: {} }))
      .resolves(credentialsAnswer(NOW_MS + 7200_000));
    const azure = new FakeAzureCredential();
    const provider = fromEntraWorkloadIdentity({ roleArn: ROLE, audience: AUDIENCE, azureCredential: azure, sts, clock: () => now });
    const [a, b] = await Promise.all([provider(), provider()]);
    expect(a).toEqual({
      accessKeyId: 'ASIAEXAMPLE000000001',
      secretAccessKey: 'secret-key-value',
      sessionToken: 'session-token-value',
      expiration: new Date(NOW_MS + 3600_000),
    });
    expect(b).toEqual(a);
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
    now = NOW_MS + 3600_000 - 301_000;
    await provider();
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(1);
    now = NOW_MS + 3600_000 - 299_000;
    await expect(provider()).rejects.toMatchObject({ name: 'WorkloadIdentityError', code: 'sts_unavailable' });
    const renewed = await provider();
    expect(renewed.expiration).toEqual(new Date(NOW_MS + 7200_000));
    expect(stsMock.commandCalls(AssumeRoleWithWebIdentityCommand)).toHaveLength(3);
  });

  it('refuses bad options at once', () => {
    expect(() => fromEntraWorkloadIdentity({ roleArn: 'x', audience: AUDIENCE })).toThrow(WorkloadIdentityError);
    expect(() => fromEntraWorkloadIdentity({ roleArn: ROLE, audience: '' })).toThrow(/--audience: expected the app ID URI/);
  });

  it('is accepted by an AWS SDK client as its credentials', async () => {
    stsMock.on(AssumeRoleWithWebIdentityCommand).resolves(credentialsAnswer(Date.now() + 3600_000));
    const provider = fromEntraWorkloadIdentity({ roleArn: ROLE, audience: AUDIENCE, azureCredential: new FakeAzureCredential(), sts });
    const other = new STSClient({ region: 'us-east-1', credentials: provider });
    await expect(other.config.credentials()).resolves.toMatchObject({
      accessKeyId: 'ASIAEXAMPLE000000001',
      sessionToken: 'session-token-value',
    });
    other.destroy();
  });
});

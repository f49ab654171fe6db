/** What AWS workloads import to get Entra tokens from the broker. */
export { BrokerCredential, scopeKey } from './broker-credential';
export type { BrokerCredentialOptions } from './broker-credential';
export { DEFAULT_TIMEOUT_MS, fetchBrokerToken } from './broker-client';
export type { FetchBrokerTokenOptions } from './broker-client';
export type { BrokerToken } from './broker-response';
export type { Fetch } from './caller-identity';
export { stsCallerIdentity } from './caller-identity';
export type { CallerIdentityLookup, StsCallerIdentityOptions } from './caller-identity';
export { BrokerClientError } from './errors';
export type { BrokerClientErrorCode, BrokerClientErrorDetails } from './errors';
export { defaultCredentialsProvider } from './sign-request';
export type { AwsCredentials, AwsCredentialsProvider, CredentialsSource } from './sign-request';

// The reverse direction: Azure workloads into AWS roles (docs/reverse-direction.md).
export { assumeRoleWithEntraToken } from './reverse-direction/assume-role-with-entra';
export type { AssumeRoleWithEntraOptions, AwsTemporaryCredentials } from './reverse-direction/assume-role-with-entra';
export { fromEntraWorkloadIdentity } from './reverse-direction/entra-workload-identity';
export type { EntraAwsCredentialIdentity, EntraWorkloadIdentityOptions } from './reverse-direction/entra-workload-identity';
export { WorkloadIdentityError } from './reverse-direction/workload-identity-error';
export type { WorkloadIdentityErrorCode } from './reverse-direction/workload-identity-error';

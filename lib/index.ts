/**
 * What a CDK app imports from `aws-azure-token-broker/cdk`: the constructs, their props and the configuration types
 * they validate. The package's build compiles this entry to `dist/lib/index.js`; the functions deploy the prebuilt
 * bundles shipped beside it (`dist/functions/`), and `addIdentityEndpoint`'s layer is assembled from the prebuilt
 * extension (`dist/layers/`) by the script shipped there too (`dist/scripts/`), so the app needs no esbuild. A new
 * export is one line here.
 */
export { TokenBroker, TOKEN_FUNCTION_TIMEOUT } from './token-broker';
export type { BrokerSigner, TokenStage } from './token-broker';
export type { PrivateTokenApi } from './private-token-api';
export type { TokenBrokerProps } from './token-broker-props';
export type { KmsIssuer } from './kms-issuer';
export type { StsSigner } from './sts-signer';
export type { IdentityEndpointAttachment, IdentityEndpointOptions } from './identity-endpoint';
export { BrokerMonitoring } from './broker-monitoring';
export type { BrokerAlarmName, BrokerAlarms, BrokerMonitoringOptions, BrokerMonitoringProps } from './broker-monitoring';
export { BrokerStack } from './broker-stack';
export type { BrokerStackProps } from './broker-stack';

// The reverse direction: Azure and GitHub workloads into AWS roles.
export { AzureToAwsFederation } from './azure-to-aws-federation';
export type { AzureToAwsFederationProps } from './azure-to-aws-federation';
export { GitHubActionsFederation } from './github-actions-federation';
export type { GitHubActionsFederationProps } from './github-actions-federation';

// The configuration the constructs take, and the error that names every bad field.
export type { BrokerConfigInput, EndpointSettings, ScopeInput } from '../contract/broker-config';
export type { AzureToAwsConfigInput } from '../contract/azure-to-aws-config';
export type { GitHubActionsConfigInput } from '../contract/github-actions-config';
export { ConfigError } from '../contract/config-error';

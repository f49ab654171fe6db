// A CDK app that deploys the token broker from the package: the construct ships its functions' code prebuilt, so this
// app needs no esbuild. Replace the configuration's fake values with yours (README, "Configure").
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { TokenBroker } from 'aws-azure-token-broker/cdk';

const app = new App();
const stack = new Stack(app, 'TokenBrokerExample');

const broker = new TokenBroker(stack, 'TokenBroker', {
  config: {
    tenantId: '11111111-1111-1111-1111-111111111111', // your Entra tenant
    // The app registration, or user-assigned managed identity, that holds the federated credential.
    clientId: '22222222-2222-2222-2222-222222222222',
    scopes: { graph: 'https://graph.microsoft.com/.default' },
  },
});

// A workload's role: it may call GET /token/graph, and no other alias.
const workload = new iam.Role(stack, 'WorkloadRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
broker.grantToken(workload, 'graph');

new CfnOutput(stack, 'IssuerUrl', { value: broker.issuerUrl });
new CfnOutput(stack, 'TokenUrlGraph', { value: `${broker.apiUrl}/token/graph` });
new CfnOutput(stack, 'WorkloadRoleArn', { value: workload.roleArn });

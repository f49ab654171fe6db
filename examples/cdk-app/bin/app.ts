// A CDK app that deploys the token broker from the package: the construct ships its functions' code prebuilt, so this
// app needs no esbuild. Replace the configuration's fake values with yours (README, "Configure").
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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

// A Python function whose unchanged Azure SDK code gets the broker's Graph tokens: addIdentityEndpoint adds the
// identity endpoint's extension layer for arm64 (assembled at synth from the package and Node.js from npm) and the
// variables DefaultAzureCredential reads, and lets the function's role call /token/graph only. azure-identity is not
// part of Lambda's Python runtime: a real function ships it with its code (`pip install azure-identity -t build/`,
// `lambda.Code.fromAsset('build')`); inline code keeps this example to one file.
const reader = new lambda.Function(stack, 'GraphReader', {
  runtime: lambda.Runtime.PYTHON_3_13,
  architecture: lambda.Architecture.ARM_64,
  memorySize: 256, // the extension uses about 64 MB of it
  timeout: Duration.seconds(30),
  handler: 'index.handler',
  code: lambda.Code.fromInline(
    [
      'from azure.identity import DefaultAzureCredential',
      '',
      'credential = DefaultAzureCredential()',
      '',
      'def handler(event, context):',
      '    token = credential.get_token("https://graph.microsoft.com/.default")',
      '    return {"expires_on": token.expires_on}',
      '',
    ].join('\n'),
  ),
});
broker.addIdentityEndpoint(reader, { resources: { 'https://graph.microsoft.com': 'graph' } });

new CfnOutput(stack, 'IssuerUrl', { value: broker.issuerUrl });
new CfnOutput(stack, 'TokenUrlGraph', { value: `${broker.apiUrl}/token/graph` });
new CfnOutput(stack, 'WorkloadRoleArn', { value: workload.roleArn });

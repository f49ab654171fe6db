import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AZURE_TO_AWS_CONTEXT_KEY, type AzureToAwsConfigInput } from '../contract/azure-to-aws-config';
import { AzureToAwsFederation } from './azure-to-aws-federation';
import { addRoleOutputs, credentialProcessLine, suppressListedManagedPolicies } from './federation-stack-parts';

export interface AzureToAwsStackProps extends StackProps {
  /** `azureToAws` as written in cdk.json; the AzureToAwsFederation validates it. */
  readonly config: AzureToAwsConfigInput;
}

/**
 * The deployable Azure-to-AWS federation: its own stack, because the IAM OIDC provider is global to the account
 * (one per URL), so it is deployed once per account whatever region the broker runs in, and it changes on its own
 * schedule (a new managed identity) without touching the broker.
 */
export class AzureToAwsStack extends Stack {
  readonly federation: AzureToAwsFederation;

  constructor(scope: Construct, id: string, props: AzureToAwsStackProps) {
    super(scope, id, { description: 'Azure managed identities into AWS roles (IAM OIDC provider for the Entra tenant)', ...props });
    // Construct id is part of the contract: it prefixes the logical ids of the provider and the roles.
    this.federation = new AzureToAwsFederation(this, 'AzureToAws', { config: props.config });
    const { audience, issuerUrl, tokenVersion } = this.federation.config;
    new CfnOutput(this, 'ProviderArn', {
      description: `IAM OIDC provider for ${issuerUrl}`,
      value: this.federation.provider.oidcProviderArn,
    });
    new CfnOutput(this, 'Audience', {
      description: `The audience workloads request tokens for (v${tokenVersion} tokens): --audience of entra-aws-credentials`,
      value: audience,
    });
    for (const role of this.federation.config.roles) {
      suppressListedManagedPolicies(this.federation.role(role.name), role, AZURE_TO_AWS_CONTEXT_KEY);
    }
    addRoleOutputs(
      this,
      this.federation.roles,
      (name) => {
        const ids = this.federation.config.roles.find((role) => role.name === name)?.managedIdentityObjectIds ?? [];
        return `Role "${name}", for the managed identities ${ids.join(', ')}`.slice(0, 1000);
      },
      (name, role, id) => {
        new CfnOutput(this, `CredentialProcess${id}`, {
          description: `AWS config profile line for role "${name}" (run where the managed identity is)`,
          value: credentialProcessLine(role, audience),
        });
      },
    );
  }
}

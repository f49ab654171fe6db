import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { KEY_ROTATION_OUTPUTS } from '../contract/aws-names';
import type { BrokerConfigInput } from '../contract/broker-config';
import {
  MANAGED_IDENTITY_PLACEHOLDERS,
  federatedCredentialCreateCommand,
  managedIdentityCredentialCreateCommand,
} from '../contract/federated-credential';
import { aliasOutputIds } from './alias-output-ids';
import { directInvocationGuard } from './direct-invocation-guard';
import { TokenBroker } from './token-broker';

export interface BrokerStackProps extends StackProps {
  /** The broker configuration as written in cdk.json (see `brokerConfigFromContext`); the TokenBroker validates it. */
  readonly config: BrokerConfigInput;
}

/**
 * The deployable broker: one TokenBroker, and the outputs needed to finish the Azure side (the federated
 * identity credential on each app registration) and to call it.
 */
export class BrokerStack extends Stack {
  readonly broker: TokenBroker;

  constructor(scope: Construct, id: string, props: BrokerStackProps) {
    super(scope, id, {
      description: 'AWS-to-Azure token broker: Entra ID access tokens for IAM principals, no stored secret',
      ...props,
    });
    // Construct id is part of the contract: it prefixes the logical ids of the signing key and the table.
    this.broker = new TokenBroker(this, 'TokenBroker', { config: props.config });
    const config = this.broker.config.runtime;

    new CfnOutput(this, 'IssuerUrl', {
      description:
        config.signer === 'kms'
          ? 'Issuer of the federated identity credential (and iss of the client assertions)'
          : "Issuer of the federated identity credential: this account's AWS STS outbound identity federation issuer",
      value: this.broker.issuerUrl,
    });
    new CfnOutput(this, 'Subject', {
      description:
        config.signer === 'kms'
          ? 'Subject identifier of the federated identity credential'
          : "Subject identifier of the federated identity credential: the token function's role ARN, which STS puts in sub. Delete the credential when you delete this stack: a role made later with the same name would match it again",
      value: this.broker.assertionSubject,
    });
    new CfnOutput(this, 'Audience', {
      description: 'Audience of the federated identity credential',
      value: config.audience,
    });

    const scopes = Object.values(config.scopes);
    const outputIds = aliasOutputIds(scopes.map((s) => s.alias));
    for (const { alias, scope: entraScope } of scopes) {
      new CfnOutput(this, `TokenUrl${outputIds.get(alias)}`, {
        description: `Token URL for alias "${alias}" (${entraScope}); sign GET requests with SigV4, service execute-api`,
        value: this.broker.tokenUrl(alias),
      });
    }

    // The private token API's base URLs (endpoint "private"): with private DNS on the VPC endpoint, and through each
    // VPC endpoint without it (docs/private-endpoint.md).
    const { privateApi } = this.broker;
    if (privateApi) {
      new CfnOutput(this, 'PrivateApiUrl', {
        description: 'Base URL of the private token API from a VPC whose execute-api endpoint has private DNS on (--url of broker-token)',
        value: privateApi.url,
      });
      for (const vpcEndpointId of privateApi.vpcEndpointIds) {
        new CfnOutput(this, `PrivateApiUrl${vpcEndpointId.replace(/^vpce-/, '')}`, {
          description: `Base URL of the private token API through ${vpcEndpointId} without private DNS (its Route 53 alias)`,
          value: privateApi.vpcEndpointUrl(vpcEndpointId),
        });
      }
    }

    // What `broker-keys status|rotate --stack <name>` reads to find the rotation (kms signer only).
    const { signer } = this.broker;
    const rotator = signer.kind === 'kms' ? signer.keyRotatorFunction : undefined;
    if (rotator) {
      new CfnOutput(this, KEY_ROTATION_OUTPUTS.table, {
        description: 'Table holding the signing-key rotation state (npx --no-install broker-keys status)',
        value: this.broker.table.tableName,
      });
      new CfnOutput(this, KEY_ROTATION_OUTPUTS.rotator, {
        description: 'The key rotator function (npx --no-install broker-keys rotate)',
        value: rotator.functionName,
      });
    }

    new CfnOutput(this, 'DirectInvocationGuardPolicy', {
      description:
        'Attach as an SCP to this account (or, beside an Allow, as a permission boundary): only API Gateway invokes the token function; only the deployment changes the functions Entra trusts, their roles, the API and the table; only the broker writes the table (docs/security.md)',
      value: this.toJsonString(
        directInvocationGuard({
          tokenFunctionArn: this.broker.tokenFunction.functionArn,
          trustedFunctions: this.broker.trustedFunctions.map((fn) => ({
            functionArn: fn.functionArn,
            roleArn: (fn.role as iam.IRole).roleArn,
          })),
          tableArn: this.broker.table.tableArn,
          tableWriterRoleArns: this.broker.tableWriterRoles.map((role) => role.roleArn),
          ...(this.broker.httpApi ? { apiId: this.broker.httpApi.apiId } : {}),
          ...(this.broker.privateApi ? { restApiId: this.broker.privateApi.restApi.restApiId } : {}),
          deployRoleArnPattern: this.broker.deployRoleArnPattern,
        }).toJSON(),
      ),
    });

    // One credential per app registration; an app used from several tenants still has one home tenant.
    const clients = new Map<string, Set<string>>();
    for (const { clientId, tenantId } of scopes) clients.set(clientId, (clients.get(clientId) ?? new Set()).add(tenantId));
    // Either command, by what the client id is: an app registration, or a user-assigned managed identity.
    const roleNameNote =
      config.signer === 'aws-sts' ? '; delete the credential when you delete this stack, as its subject is a role name' : '';
    for (const [clientId, tenants] of clients) {
      const values = { clientId, issuer: this.broker.issuerUrl, subject: this.broker.assertionSubject, audience: config.audience };
      new CfnOutput(this, `FederatedCredentialCommand${clientId.replaceAll('-', '')}`, {
        description: `If ${clientId} is an app registration: run in its tenant (${[...tenants].join(', ')}) to trust this broker${roleNameNote}`,
        value: federatedCredentialCreateCommand(values),
      });
      new CfnOutput(this, `ManagedIdentityCredentialCommand${clientId.replaceAll('-', '')}`, {
        description: `If ${clientId} is a user-assigned managed identity: set IDENTITY_NAME and RESOURCE_GROUP to its name and resource group, then run in its subscription to trust this broker${roleNameNote}`,
        value: managedIdentityCredentialCreateCommand(values, MANAGED_IDENTITY_PLACEHOLDERS),
      });
    }
  }
}

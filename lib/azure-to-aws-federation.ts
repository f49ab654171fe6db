import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { parseAzureToAwsConfig, type AzureToAwsConfig, type AzureToAwsConfigInput } from '../contract/azure-to-aws-config';
import { FederatedRoles, conditionKeyPrefix } from './federated-roles';

export interface AzureToAwsFederationProps {
  /**
   * The `azureToAws` configuration (docs/reverse-direction.md). Its values are validated here (GUIDs, names, the risky
   * forms); its shape is the compiler's to check, so a field the type lacks is not reported again.
   */
  readonly config: AzureToAwsConfigInput;
}

/**
 * Azure workloads into AWS: an IAM OIDC identity provider for the Entra tenant (the issuer of the configured token
 * version, the audience in its client ID list) and one role per entry, whose trust admits exactly the listed
 * managed identities (`sub`, their object ids) with the audience (`aud`), compared with `StringEquals`.
 *
 * A workload gets an Entra token for the audience from its managed identity and calls STS
 * `AssumeRoleWithWebIdentity` (`entra-aws-credentials`, or `fromEntraWorkloadIdentity` in Node).
 */
export class AzureToAwsFederation extends Construct {
  readonly config: AzureToAwsConfig;
  /** The tenant's provider: created here, or the one named by `providerArn`. */
  readonly provider: iam.IOidcProvider;
  readonly #roles = new FederatedRoles('AzureToAwsFederation');

  /** @throws ConfigError naming every bad field of `props.config` and the value received */
  constructor(scope: Construct, id: string, props: AzureToAwsFederationProps) {
    super(scope, id);
    this.config = parseAzureToAwsConfig(props.config, `AzureToAwsFederation "${id}" config`, { reportUnknownFields: false });
    const { issuerUrl, audience, providerArn, tenantId, tokenVersion } = this.config;
    this.provider = providerArn
      ? iam.OidcProviderNative.fromOidcProviderArn(this, 'Provider', providerArn)
      : new iam.OidcProviderNative(this, 'Provider', { url: issuerUrl, clientIds: [audience] });
    const key = conditionKeyPrefix(issuerUrl);
    for (const role of this.config.roles) {
      const principal = new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: { [`${key}:aud`]: audience, [`${key}:sub`]: [...role.managedIdentityObjectIds] },
      });
      this.#roles.add(
        this,
        role,
        principal,
        `Assumed by ${role.managedIdentityObjectIds.length} managed identities of Entra tenant ${tenantId} (v${tokenVersion} tokens for ${audience})`,
      );
    }
  }

  /** Every role, by its name in the configuration. */
  get roles(): ReadonlyMap<string, iam.Role> {
    return this.#roles.all;
  }

  /**
   * The role configured under `name`; it is an `iam.IGrantable`, so permissions are granted with the usual
   * `grant*` methods (`bucket.grantRead(federation.role('reader'))`).
   * @throws Error naming the unknown role and the configured ones
   */
  role(name: string): iam.Role {
    return this.#roles.get(name);
  }
}

import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { type Construct } from 'constructs';
import type { FederatedRoleSettings } from '../contract/federated-role-config';

/** One role per configuration entry, keyed by its name; what both inbound-federation constructs share. */
export class FederatedRoles {
  readonly #roles = new Map<string, iam.Role>();

  constructor(private readonly owner: string) {}

  /**
   * Creates the role for `settings` under `scope`, trusting `principal` (its conditions pin aud and sub).
   * The construct id is the role's name: renaming a role in the configuration replaces it (and its ARN).
   */
  add(scope: Construct, settings: FederatedRoleSettings, principal: iam.IPrincipal, description: string): iam.Role {
    const role = new iam.Role(scope, settings.name, {
      assumedBy: principal,
      description: description.slice(0, 1000),
      maxSessionDuration: Duration.seconds(settings.maxSessionDurationSeconds),
      managedPolicies: settings.managedPolicyArns.map((arn, index) =>
        iam.ManagedPolicy.fromManagedPolicyArn(scope, `${settings.name}Policy${index}`, arn),
      ),
    });
    this.#roles.set(settings.name, role);
    return role;
  }

  /** Every role, by name. */
  get all(): ReadonlyMap<string, iam.Role> {
    return this.#roles;
  }

  /**
   * The role configured under `name`, to grant it permissions (`bucket.grantRead(federation.role('reader'))`).
   * @throws Error naming the unknown role and the configured ones
   */
  get(name: string): iam.Role {
    const role = this.#roles.get(name);
    if (!role) throw new Error(`${this.owner} has no role "${name}"; configured roles: ${[...this.#roles.keys()].join(', ')}`);
    return role;
  }
}

/** The prefix of an OIDC provider's condition keys: its URL without `https://` (`sts.windows.net/{tenant}/:sub`). */
export function conditionKeyPrefix(issuerUrl: string): string {
  return issuerUrl.replace(/^https:\/\//, '');
}

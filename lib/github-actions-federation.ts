import { Annotations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  GITHUB_OIDC_AUDIENCE,
  GITHUB_OIDC_ISSUER,
  parseGitHubActionsConfig,
  type GitHubActionsConfig,
  type GitHubActionsConfigInput,
} from '../contract/github-actions-config';
import { FederatedRoles, conditionKeyPrefix } from './federated-roles';

/** The id of the synth warning about a tag pattern with a wildcard (acknowledge it with `Annotations.acknowledgeWarning`). */
export const TAG_WILDCARD_WARNING = 'aws-azure-token-broker:githubTagWildcard';

export interface GitHubActionsFederationProps {
  /**
   * The `githubActions` configuration (docs/reverse-direction.md). Its values are validated here (GUIDs, names, the risky
   * forms); its shape is the compiler's to check, so a field the type lacks is not reported again.
   */
  readonly config: GitHubActionsConfigInput;
}

/**
 * GitHub Actions jobs into AWS: the IAM OIDC provider for `https://token.actions.githubusercontent.com` (client
 * ID `sts.amazonaws.com`) and one role per entry whose trust pins `aud` and `sub` (the repository and its
 * branches, environments and tags; `StringLike` only where a pattern holds a wildcard). Wildcard repositories, roles
 * open to any ref and leading wildcards are refused unless the entry opts in by name (contract/github-actions-config.ts);
 * a wildcard tag draws a synth warning, since whoever may push a matching tag may assume the role.
 */
export class GitHubActionsFederation extends Construct {
  readonly config: GitHubActionsConfig;
  /** GitHub's provider: created here, or the one named by `providerArn`. */
  readonly provider: iam.IOidcProvider;
  readonly #roles = new FederatedRoles('GitHubActionsFederation');

  /** @throws ConfigError naming every bad field of `props.config` and the value received */
  constructor(scope: Construct, id: string, props: GitHubActionsFederationProps) {
    super(scope, id);
    this.config = parseGitHubActionsConfig(props.config, `GitHubActionsFederation "${id}" config`, { reportUnknownFields: false });
    this.provider = this.config.providerArn
      ? iam.OidcProviderNative.fromOidcProviderArn(this, 'Provider', this.config.providerArn)
      : new iam.OidcProviderNative(this, 'Provider', { url: GITHUB_OIDC_ISSUER, clientIds: [GITHUB_OIDC_AUDIENCE] });
    const key = conditionKeyPrefix(GITHUB_OIDC_ISSUER);
    for (const role of this.config.roles) {
      const principal = new iam.OpenIdConnectPrincipal(this.provider, {
        StringEquals: {
          [`${key}:aud`]: GITHUB_OIDC_AUDIENCE,
          ...(role.usesWildcards ? {} : { [`${key}:sub`]: [...role.subjects] }),
        },
        ...(role.usesWildcards ? { StringLike: { [`${key}:sub`]: [...role.subjects] } } : {}),
      });
      const created = this.#roles.add(
        this,
        role,
        principal,
        `Assumed by GitHub Actions runs of ${role.repository}: ${role.subjects.join(', ')}`,
      );
      if (role.wildcardTags.length > 0) {
        const tags = role.wildcardTags.map((tag) => `"${tag}"`).join(', ');
        Annotations.of(created).addWarningV2(
          TAG_WILDCARD_WARNING,
          `GitHub role "${role.name}" trusts the tag pattern ${tags} of ${role.repository}: anyone who may push a matching tag (write access to the repository, unless a tag ruleset restricts who creates such tags) can assume the role from any commit, one never reviewed or merged included. Restrict matching tags with a ruleset, or list exact tags.`,
        );
      }
    }
  }

  /** Every role, by its name in the configuration. */
  get roles(): ReadonlyMap<string, iam.Role> {
    return this.#roles.all;
  }

  /**
   * The role configured under `name`; it is an `iam.IGrantable` (`table.grantReadData(github.role('deploy'))`).
   * @throws Error naming the unknown role and the configured ones
   */
  role(name: string): iam.Role {
    return this.#roles.get(name);
  }
}

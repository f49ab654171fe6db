import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { GITHUB_ACTIONS_CONTEXT_KEY, type GitHubActionsConfigInput } from '../contract/github-actions-config';
import { addRoleOutputs, suppressListedManagedPolicies } from './federation-stack-parts';
import { GitHubActionsFederation } from './github-actions-federation';

export interface GitHubActionsStackProps extends StackProps {
  /** `githubActions` as written in cdk.json; the GitHubActionsFederation validates it. */
  readonly config: GitHubActionsConfigInput;
}

/**
 * The deployable GitHub Actions federation: its own stack for the same reason as AzureToAwsStack (the provider is
 * per account, not per region), and apart from it so that CI roles change without touching Azure's.
 */
export class GitHubActionsStack extends Stack {
  readonly federation: GitHubActionsFederation;

  constructor(scope: Construct, id: string, props: GitHubActionsStackProps) {
    super(scope, id, {
      description: 'GitHub Actions into AWS roles (IAM OIDC provider for token.actions.githubusercontent.com)',
      ...props,
    });
    // Construct id is part of the contract: it prefixes the logical ids of the provider and the roles.
    this.federation = new GitHubActionsFederation(this, 'GitHubActions', { config: props.config });
    for (const role of this.federation.config.roles) {
      suppressListedManagedPolicies(this.federation.role(role.name), role, GITHUB_ACTIONS_CONTEXT_KEY);
    }
    addRoleOutputs(this, this.federation.roles, (name) => {
      const role = this.federation.config.roles.find((entry) => entry.name === name);
      return `Role "${name}" (role-to-assume of aws-actions/configure-aws-credentials), for ${role?.subjects.join(', ') ?? ''}`.slice(
        0,
        1000,
      );
    });
  }
}

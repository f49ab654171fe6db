import type { Construct } from 'constructs';
import { AZURE_TO_AWS_CONTEXT_KEY, validateAzureToAwsConfig, type AzureToAwsConfigInput } from '../contract/azure-to-aws-config';
import { ConfigError } from '../contract/config-error';
import { GITHUB_ACTIONS_CONTEXT_KEY, validateGitHubActionsConfig, type GitHubActionsConfigInput } from '../contract/github-actions-config';

export interface ReverseDirectionContext {
  readonly azureToAws: AzureToAwsConfigInput | undefined;
  readonly githubActions: GitHubActionsConfigInput | undefined;
}

/**
 * Reads the optional `azureToAws` and `githubActions` context keys (cdk.json, or `-c key='{...}'` as a JSON
 * string) and validates them, so a mistake is reported against cdk.json; the constructs validate them again as
 * their own input.
 * @throws ConfigError naming every bad field and the value received
 */
export function reverseDirectionFromContext(scope: Construct): ReverseDirectionContext {
  return {
    azureToAws: read(scope, AZURE_TO_AWS_CONTEXT_KEY, validateAzureToAwsConfig) as AzureToAwsConfigInput | undefined,
    githubActions: read(scope, GITHUB_ACTIONS_CONTEXT_KEY, validateGitHubActionsConfig) as GitHubActionsConfigInput | undefined,
  };
}

function read(scope: Construct, key: string, validate: (raw: unknown) => { problems: string[] }): unknown {
  const source = `cdk.json context '${key}'`;
  let raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError(source, [`expected a JSON object, received text that is not JSON (${(error as Error).message})`]);
    }
  }
  const { problems } = validate(raw);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return raw;
}

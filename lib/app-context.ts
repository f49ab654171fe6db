/**
 * The CDK app's configuration: the `broker` context key (required) and the optional `azureToAws` and `githubActions`
 * keys, from cdk.json or `-c key='{...}'` (which arrives as a JSON string). Every key is read and validated before
 * any stack is built, so a mistake is reported against cdk.json at once — all of them together, and before any
 * function is bundled. The constructs validate their own input again.
 */
import type { Construct } from 'constructs';
import { AZURE_TO_AWS_CONTEXT_KEY, validateAzureToAwsConfig, type AzureToAwsConfigInput } from '../contract/azure-to-aws-config';
import { validateBrokerConfig, type BrokerConfigInput } from '../contract/broker-config';
import { ConfigError } from '../contract/config-error';
import { GITHUB_ACTIONS_CONTEXT_KEY, validateGitHubActionsConfig, type GitHubActionsConfigInput } from '../contract/github-actions-config';

export const BROKER_CONTEXT_KEY = 'broker';

export interface AppContext {
  readonly broker: BrokerConfigInput;
  /** @default - no Azure-to-AWS stack */
  readonly azureToAws: AzureToAwsConfigInput | undefined;
  /** @default - no GitHub Actions stack */
  readonly githubActions: GitHubActionsConfigInput | undefined;
}

/** Every context key that is missing or invalid, one `ConfigError` each; its message lists them all. */
export class AppContextError extends Error {
  readonly code = 'invalid_context';
  constructor(readonly errors: readonly ConfigError[]) {
    super(errors.map((error) => error.message).join('\n'));
    this.name = 'AppContextError';
  }
}

/**
 * Reads and validates every context key the app uses.
 * @throws AppContextError naming every bad field of every key, with the value received
 */
export function readAppContext(scope: Construct): AppContext {
  const errors: ConfigError[] = [];
  const read = (key: string, validate: (raw: unknown) => { problems: readonly string[] }, required: boolean): unknown => {
    try {
      return contextValue(scope, key, validate, required);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      errors.push(error);
      return undefined;
    }
  };
  const broker = read(BROKER_CONTEXT_KEY, (raw) => validateBrokerConfig(raw), true);
  const azureToAws = read(AZURE_TO_AWS_CONTEXT_KEY, (raw) => validateAzureToAwsConfig(raw), false);
  const githubActions = read(GITHUB_ACTIONS_CONTEXT_KEY, (raw) => validateGitHubActionsConfig(raw), false);
  if (errors.length > 0) throw new AppContextError(errors);
  return {
    broker: broker as BrokerConfigInput,
    azureToAws: azureToAws as AzureToAwsConfigInput | undefined,
    githubActions: githubActions as GitHubActionsConfigInput | undefined,
  };
}

/**
 * One context key, parsed from JSON when it came as a string, and validated.
 * @throws ConfigError naming the key as in cdk.json, and every problem
 */
function contextValue(
  scope: Construct,
  key: string,
  validate: (raw: unknown) => { problems: readonly string[] },
  required: boolean,
): unknown {
  const source = `cdk.json context '${key}'`;
  let raw: unknown = scope.node.tryGetContext(key);
  if (raw === undefined) {
    if (!required) return undefined;
    throw new ConfigError(source, [
      `missing: set "${key}" under "context" in cdk.json, or pass -c ${key}='{"tenantId": ..., "clientId": ..., "scopes": {...}}'`,
    ]);
  }
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

/**
 * The `githubActions` schema (docs/reverse-direction.md): GitHub Actions jobs into AWS roles through
 * the IAM OIDC provider for `https://token.actions.githubusercontent.com` (client ID `sts.amazonaws.com`).
 *
 * Each role's trust pins `sub` to patterns built from `repository` plus `branches`, `environments` and `tags`,
 * in the forms GitHub documents ("About security hardening with OpenID Connect", example subject claims):
 * `repo:OWNER/REPO:ref:refs/heads/BRANCH`, `repo:OWNER/REPO:ref:refs/tags/TAG`,
 * `repo:OWNER/REPO:environment:NAME`. A job that names an environment gets the environment form, never the
 * branch form (github/docs#28291), so a deployment job is trusted through `environments`.
 *
 * The classic misconfiguration (a wildcard repository, a whole owner, or any ref of a repository, which lets
 * every branch and pull request of anyone with push access assume the role) is refused unless the role sets the
 * opt-in that names the risk: `dangerouslyAllowWildcardRepository`, `dangerouslyAllowAnyRef`.
 */
import { ConfigError, describeValue, isPlainObject } from './config-error';
import {
  FEDERATED_ROLE_FIELDS,
  ProblemCollector,
  type ConfigReadOptions,
  type FederatedRoleInput,
  type FederatedRoleSettings,
} from './federated-role-config';

export const GITHUB_ACTIONS_CONTEXT_KEY = 'githubActions';
export const GITHUB_OIDC_ISSUER = 'https://token.actions.githubusercontent.com';
/** The audience `aws-actions/configure-aws-credentials` requests: the provider's client ID. */
export const GITHUB_OIDC_AUDIENCE = 'sts.amazonaws.com';

export interface GitHubActionsRoleInput extends FederatedRoleInput {
  /** `owner/name`, as GitHub spells it (IAM compares `sub` case-sensitively). */
  readonly repository: string;
  /** Branches whose workflow runs may assume the role; IAM wildcards `*` and `?` allowed (`release/*`). @default - none */
  readonly branches?: readonly string[];
  /** GitHub environments whose jobs may assume the role; protect them with deployment rules. @default - none */
  readonly environments?: readonly string[];
  /** Tags whose workflow runs may assume the role (`v*`). @default - none */
  readonly tags?: readonly string[];
  /**
   * Accept a wildcard in the repository name (`owner/*`, `owner/app-*`): every matching repository of the owner,
   * including ones created later, may assume the role.
   * @default false
   */
  readonly dangerouslyAllowWildcardRepository?: boolean;
  /**
   * Accept a role with no branches, environments or tags (or with a pattern that is only wildcards): any workflow
   * run of the repository, on any branch or pull request, may assume the role.
   * @default false
   */
  readonly dangerouslyAllowAnyRef?: boolean;
}

/** `githubActions` as written in cdk.json. */
export interface GitHubActionsConfigInput {
  /**
   * Use this existing IAM OIDC provider for token.actions.githubusercontent.com instead of creating one (IAM holds
   * one per URL and account, and many accounts already have GitHub's).
   * @default - a provider is created
   */
  readonly providerArn?: string;
  readonly roles: Readonly<Record<string, GitHubActionsRoleInput>>;
}

export interface GitHubActionsRoleConfig extends FederatedRoleSettings {
  readonly repository: string;
  /** The `sub` values the trust accepts. */
  readonly subjects: readonly string[];
  /** True when a subject holds an IAM wildcard, so the trust compares with `StringLike`. */
  readonly usesWildcards: boolean;
}

export interface GitHubActionsConfig {
  readonly providerArn: string | undefined;
  readonly roles: readonly GitHubActionsRoleConfig[];
}

const FIELDS = ['providerArn', 'roles'] as const;
const ROLE_FIELDS = [
  'repository',
  'branches',
  'environments',
  'tags',
  'dangerouslyAllowWildcardRepository',
  'dangerouslyAllowAnyRef',
  ...FEDERATED_ROLE_FIELDS,
] as const;
/** GitHub's rules: owner up to 39 of letters, digits, hyphens; repository up to 100 of letters, digits, `.`, `_`, `-`. */
const OWNER = /^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/;
const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const REPOSITORY_NAME_PATTERN = /^[A-Za-z0-9._*?-]{1,100}$/;
const WILDCARD = /[*?]/;
/**
 * What a branch, tag or environment may not hold: `:` separates the parts of `sub` (git refuses it in ref names),
 * `$` starts an IAM policy variable, quotes and whitespace have no place in a ref.
 */
const FORBIDDEN_IN_REF = /[\s:$"'\\]/;

function readRepository(collector: ProblemCollector, where: string, value: unknown, allowWildcard: boolean): string {
  if (typeof value !== 'string' || !value.includes('/')) {
    collector.add(`${where}: expected "owner/name" (e.g. "octo-org/octo-repo"), received ${describeValue(value)}`);
    return '';
  }
  const [owner = '', name = '', ...rest] = value.split('/');
  if (rest.length > 0 || !OWNER.test(owner)) {
    collector.add(
      `${where}: expected "owner/name" with a literal owner (letters, digits, hyphens; a wildcard owner would trust every GitHub account), received ${describeValue(value)}`,
    );
    return '';
  }
  if (REPOSITORY_NAME.test(name)) return value;
  if (!REPOSITORY_NAME_PATTERN.test(name)) {
    collector.add(`${where}: expected a repository name of letters, digits, ".", "_", "-", received ${describeValue(value)}`);
    return '';
  }
  if (!allowWildcard) {
    const ownerWide = name.replace(/[*?]/g, '') === '';
    collector.add(
      `${where}: ${describeValue(value)} is ${ownerWide ? `owner-wide (every repository of ${owner}, including future ones)` : 'a wildcard (every matching repository, including future ones)'}; name one repository, or set dangerouslyAllowWildcardRepository: true to accept that risk`,
    );
    return '';
  }
  return value;
}

function readRefs(collector: ProblemCollector, where: string, value: unknown, allowAnyRef: boolean): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0) {
    collector.add(`${where}: expected a non-empty list of names, received ${describeValue(value)}`);
    return [];
  }
  const result: string[] = [];
  value.forEach((item: unknown, index) => {
    const at = `${where}[${index}]`;
    if (typeof item !== 'string' || item.length === 0 || item.length > 255 || FORBIDDEN_IN_REF.test(item)) {
      collector.add(`${at}: expected a name without spaces, ":", "$" or quotes (at most 255 characters), received ${describeValue(item)}`);
      return;
    }
    if (!allowAnyRef && item.replace(/[*?]/g, '') === '') {
      collector.add(
        `${at}: ${describeValue(item)} matches every name; list the names, or set dangerouslyAllowAnyRef: true to accept that risk`,
      );
      return;
    }
    result.push(item);
  });
  return result;
}

/** The `sub` values GitHub issues for one repository and its branches, environments and tags. */
export function githubSubjects(
  repository: string,
  refs: { branches: readonly string[]; environments: readonly string[]; tags: readonly string[] },
): string[] {
  return [
    ...refs.branches.map((branch) => `repo:${repository}:ref:refs/heads/${branch}`),
    ...refs.environments.map((environment) => `repo:${repository}:environment:${environment}`),
    ...refs.tags.map((tag) => `repo:${repository}:ref:refs/tags/${tag}`),
  ];
}

function readRole(collector: ProblemCollector, name: string, entry: Record<string, unknown>): GitHubActionsRoleConfig {
  const where = `roles.${name}`;
  collector.unknownFields(where, entry, ROLE_FIELDS);
  const allowWildcardRepository = collector.boolean(
    `${where}.dangerouslyAllowWildcardRepository`,
    entry.dangerouslyAllowWildcardRepository,
  );
  const allowAnyRef = collector.boolean(`${where}.dangerouslyAllowAnyRef`, entry.dangerouslyAllowAnyRef);
  const repository = readRepository(collector, `${where}.repository`, entry.repository, allowWildcardRepository);
  const refs = {
    branches: readRefs(collector, `${where}.branches`, entry.branches, allowAnyRef),
    environments: readRefs(collector, `${where}.environments`, entry.environments, allowAnyRef),
    tags: readRefs(collector, `${where}.tags`, entry.tags, allowAnyRef),
  };
  const listed = entry.branches !== undefined || entry.environments !== undefined || entry.tags !== undefined;
  if (!listed && !allowAnyRef) {
    collector.add(
      `${where}: none of branches, environments or tags is set, so every branch and pull request of ${describeValue(entry.repository)} could assume the role; list them, or set dangerouslyAllowAnyRef: true to accept that risk`,
    );
  }
  const subjects = listed ? githubSubjects(repository, refs) : [`repo:${repository}:*`];
  return {
    ...collector.roleSettings(where, name, entry),
    repository,
    subjects,
    usesWildcards: subjects.some((subject) => WILDCARD.test(subject)),
  };
}

/**
 * Validates `githubActions` as written and applies defaults.
 * @returns the configuration, or every problem (never both)
 */
export function validateGitHubActionsConfig(
  raw: unknown,
  options: ConfigReadOptions = {},
): { readonly config: GitHubActionsConfig; readonly problems: [] } | { readonly config: undefined; readonly problems: string[] } {
  if (!isPlainObject(raw)) return { config: undefined, problems: [`expected an object, received ${describeValue(raw)}`] };
  const collector = new ProblemCollector(options);
  collector.unknownFields('', raw, FIELDS);
  const providerArn = collector.optionalProviderArn('providerArn', raw.providerArn);
  const roles = collector
    .roles('roles', raw.roles, '{"deploy": {"repository": "owner/name", "environments": ["prod"]}}')
    .map(([name, entry]) => readRole(collector, name, entry));
  if (collector.problems.length > 0) return { config: undefined, problems: collector.problems };
  return { config: { providerArn, roles }, problems: [] };
}

/**
 * Validates `githubActions` as written and applies defaults.
 * @throws ConfigError naming every bad field and the value received
 */
export function parseGitHubActionsConfig(
  raw: unknown,
  source = `context '${GITHUB_ACTIONS_CONTEXT_KEY}'`,
  options: ConfigReadOptions = {},
): GitHubActionsConfig {
  const result = validateGitHubActionsConfig(raw, options);
  if (result.config === undefined) throw new ConfigError(source, result.problems);
  return result.config;
}

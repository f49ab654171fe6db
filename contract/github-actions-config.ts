/**
 * The `githubActions` schema (docs/reverse-direction.md): GitHub Actions jobs into AWS roles through
 * the IAM OIDC provider for `https://token.actions.githubusercontent.com` (client ID `sts.amazonaws.com`).
 *
 * Each role's trust pins `sub` to the values GitHub issues for `repository` and its `branches`, `environments` and
 * `tags` (./github-subject.ts: the default form, GitHub's immutable form with `repositoryOwnerId` and
 * `repositoryId`, or the repository's customized template with `subjectClaims`).
 *
 * What lets more jobs in than the operator meant is refused unless the role sets the opt-in that names the risk:
 * a wildcard repository or a whole owner (`dangerouslyAllowWildcardRepository`), any ref of the repository
 * (`dangerouslyAllowAnyRef`), a branch, environment or reusable-workflow ref that starts with a wildcard, which
 * anyone with push access can match by creating a branch named to fit (`dangerouslyAllowLeadingWildcard`). A tag
 * pattern with a wildcard is accepted; the construct warns about it at synth.
 */
import { ConfigError, describeValue, isPlainObject } from './config-error';
import {
  FEDERATED_ROLE_FIELDS,
  ProblemCollector,
  type ConfigReadOptions,
  type FederatedRoleInput,
  type FederatedRoleSettings,
} from './federated-role-config';
import {
  GITHUB_DEFAULT_SUBJECT_CLAIMS,
  GITHUB_SUBJECT_CLAIMS,
  githubSubjects,
  type GitHubRefs,
  type GitHubSubjectClaim,
} from './github-subject';

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
  /** Tags whose workflow runs may assume the role (`v*`; a wildcard draws a synth warning). @default - none */
  readonly tags?: readonly string[];
  /**
   * The repository's numeric id (`gh api repos/OWNER/NAME --jq .id`): it survives a rename and is never given to
   * another repository. Used by `subjectClaims` with `repository_id`, and with `repositoryOwnerId` for GitHub's
   * immutable subject form.
   * @default - the trust names the repository only
   */
  readonly repositoryId?: number | string;
  /**
   * The owner's numeric id (`gh api repos/OWNER/NAME --jq .owner.id`). With `repositoryId`, the repository part of
   * `sub` takes GitHub's immutable form `repo:OWNER@OWNER_ID/NAME@REPO_ID`: the default for repositories created,
   * renamed or transferred on github.com after 2026-06-18, and for those opted in.
   * @default - the name-only form `repo:OWNER/NAME`
   */
  readonly repositoryOwnerId?: number | string;
  /**
   * The repository's customized `sub` template: its `include_claim_keys`, in the same order (`repo`,
   * `repository_id`, `context`, `job_workflow_ref`). It must name the repository (`repository_id`, or `repo`).
   * @default - GitHub's default template, `["repo", "context"]`
   */
  readonly subjectClaims?: readonly GitHubSubjectClaim[];
  /**
   * With `job_workflow_ref` in `subjectClaims`: the reusable workflows a job must run, as
   * `OWNER/REPO/.github/workflows/FILE.yml@REF` (`@refs/heads/main`, `@refs/tags/v1`, or a commit SHA).
   * @default - none
   */
  readonly jobWorkflowRefs?: readonly string[];
  /**
   * Accept a wildcard in the repository name (`owner/*`, `owner/app-*`): every matching repository of the owner,
   * including ones created later, may assume the role.
   * @default false
   */
  readonly dangerouslyAllowWildcardRepository?: boolean;
  /**
   * Accept a role with no branches, environments or tags (or with a pattern that is only wildcards, or a customized
   * template without `context`): any workflow run of the repository, on any branch or pull request, may assume
   * the role.
   * @default false
   */
  readonly dangerouslyAllowAnyRef?: boolean;
  /**
   * Accept a branch, environment or reusable-workflow ref that starts with a wildcard (`*main`, `*-release`): it matches
   * names anyone with push access can create (`evil-main`, `me/main`), not only the ones meant.
   * @default false
   */
  readonly dangerouslyAllowLeadingWildcard?: boolean;
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
  /** The tag patterns that hold a wildcard: whoever may push a matching tag may assume the role. */
  readonly wildcardTags: readonly string[];
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
  'repositoryId',
  'repositoryOwnerId',
  'subjectClaims',
  'jobWorkflowRefs',
  'dangerouslyAllowWildcardRepository',
  'dangerouslyAllowAnyRef',
  'dangerouslyAllowLeadingWildcard',
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
/** A reusable workflow as `job_workflow_ref` names it: a literal `OWNER/REPO/.github/workflows/FILE.yml`, then `@REF`. */
const JOB_WORKFLOW_REF = /^([A-Za-z0-9][A-Za-z0-9-]{0,38})\/([A-Za-z0-9._-]{1,100})\/\.github\/workflows\/[A-Za-z0-9._/-]+\.ya?ml@(.+)$/;
/** GitHub's numeric ids. */
const NUMERIC_ID = /^[1-9][0-9]{0,19}$/;

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

interface RefRules {
  readonly allowAnyRef: boolean;
  /** Null where a leading wildcard is accepted without an opt-in (tags: the construct warns instead). */
  readonly allowLeadingWildcard: boolean | null;
}

/** A leading-wildcard refusal, or undefined. */
function leadingWildcardProblem(at: string, pattern: string, what: string, rules: RefRules): string | undefined {
  if (rules.allowLeadingWildcard !== false || !/^[*?]/.test(pattern)) return undefined;
  return `${at}: ${describeValue(pattern)} starts with a wildcard, so it matches any ${what} ending that way, including ones anyone with push access can create; spell out the start, or set dangerouslyAllowLeadingWildcard: true to accept that risk`;
}

function readRefs(collector: ProblemCollector, where: string, value: unknown, what: string, rules: RefRules): string[] {
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
    if (item.replace(/[*?]/g, '') === '') {
      if (!rules.allowAnyRef) {
        collector.add(
          `${at}: ${describeValue(item)} matches every name; list the names, or set dangerouslyAllowAnyRef: true to accept that risk`,
        );
        return;
      }
    } else {
      const problem = leadingWildcardProblem(at, item, what, rules);
      if (problem) {
        collector.add(problem);
        return;
      }
    }
    result.push(item);
  });
  return result;
}

function readNumericId(collector: ProblemCollector, where: string, value: unknown, command: string): string | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text === 'string' && NUMERIC_ID.test(text)) return text;
  collector.add(`${where}: expected GitHub's numeric id (${command}), received ${describeValue(value)}`);
  return undefined;
}

function readSubjectClaims(collector: ProblemCollector, where: string, value: unknown): readonly GitHubSubjectClaim[] | undefined {
  if (value === undefined) return undefined;
  const known = GITHUB_SUBJECT_CLAIMS as readonly unknown[];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((claim) => known.includes(claim)) ||
    new Set(value).size !== value.length
  ) {
    collector.add(
      `${where}: expected the repository's include_claim_keys in their order, each once, from ${GITHUB_SUBJECT_CLAIMS.map((claim) => `"${claim}"`).join(', ')}, received ${describeValue(value)}`,
    );
    return undefined;
  }
  const claims = value as GitHubSubjectClaim[];
  if (!claims.includes('repository_id') && !claims.includes('repo')) {
    collector.add(
      `${where}: ${describeValue(value)} does not name the repository, so every repository whose jobs match could assume the role; include "repository_id" (or "repo")`,
    );
  }
  return claims;
}

function readJobWorkflowRefs(collector: ProblemCollector, where: string, value: unknown, rules: RefRules): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    collector.add(
      `${where}: expected a non-empty list of reusable workflows such as "octo-org/automation/.github/workflows/deploy.yml@refs/heads/main", received ${describeValue(value)}`,
    );
    return [];
  }
  const result: string[] = [];
  value.forEach((item: unknown, index) => {
    const at = `${where}[${index}]`;
    const match = typeof item === 'string' ? JOB_WORKFLOW_REF.exec(item) : null;
    const ref = match?.[3] ?? '';
    if (
      typeof item !== 'string' ||
      !match ||
      item.length > 512 ||
      FORBIDDEN_IN_REF.test(item) ||
      WILDCARD.test(item.slice(0, -ref.length - 1))
    ) {
      collector.add(`${at}: expected "OWNER/REPO/.github/workflows/FILE.yml@REF" with a literal path, received ${describeValue(item)}`);
      return;
    }
    const problem =
      ref.replace(/[*?]/g, '') === '' && !rules.allowAnyRef
        ? `${at}: ${describeValue(item)} accepts the workflow at any ref; name the ref, or set dangerouslyAllowAnyRef: true to accept that risk`
        : leadingWildcardProblem(at, ref, 'ref of the reusable workflow', rules);
    if (problem) collector.add(problem);
    else result.push(item);
  });
  return result;
}

function readRole(collector: ProblemCollector, name: string, entry: Record<string, unknown>): GitHubActionsRoleConfig {
  const where = `roles.${name}`;
  collector.unknownFields(where, entry, ROLE_FIELDS);
  const allowWildcardRepository = collector.boolean(
    `${where}.dangerouslyAllowWildcardRepository`,
    entry.dangerouslyAllowWildcardRepository,
  );
  const allowAnyRef = collector.boolean(`${where}.dangerouslyAllowAnyRef`, entry.dangerouslyAllowAnyRef);
  const allowLeadingWildcard = collector.boolean(`${where}.dangerouslyAllowLeadingWildcard`, entry.dangerouslyAllowLeadingWildcard);
  const strict: RefRules = { allowAnyRef, allowLeadingWildcard };
  const repository = readRepository(collector, `${where}.repository`, entry.repository, allowWildcardRepository);
  const refs: GitHubRefs = {
    branches: readRefs(collector, `${where}.branches`, entry.branches, 'branch', strict),
    environments: readRefs(collector, `${where}.environments`, entry.environments, 'environment', strict),
    tags: readRefs(collector, `${where}.tags`, entry.tags, 'tag', { allowAnyRef, allowLeadingWildcard: null }),
  };
  const repositoryId = readNumericId(collector, `${where}.repositoryId`, entry.repositoryId, 'gh api repos/OWNER/NAME --jq .id');
  const ownerId = readNumericId(collector, `${where}.repositoryOwnerId`, entry.repositoryOwnerId, 'gh api repos/OWNER/NAME --jq .owner.id');
  const claims = readSubjectClaims(collector, `${where}.subjectClaims`, entry.subjectClaims);
  const effectiveClaims = claims ?? GITHUB_DEFAULT_SUBJECT_CLAIMS;

  if ((repositoryId !== undefined || ownerId !== undefined) && WILDCARD.test(repository)) {
    collector.add(
      `${where}.repository: ${describeValue(repository)} holds a wildcard, but repositoryId and repositoryOwnerId name one repository`,
    );
  }
  if (ownerId !== undefined && repositoryId === undefined) {
    collector.add(`${where}.repositoryOwnerId: GitHub's immutable subject form needs repositoryId too (gh api repos/OWNER/NAME --jq .id)`);
  }
  if (repositoryId === undefined && effectiveClaims.includes('repository_id')) {
    collector.add(
      `${where}.repositoryId: subjectClaims includes "repository_id", so set the repository's numeric id (gh api repos/OWNER/NAME --jq .id)`,
    );
  }
  if (repositoryId !== undefined && ownerId === undefined && !effectiveClaims.includes('repository_id')) {
    collector.add(
      `${where}.repositoryId: ${describeValue(entry.repositoryId)} appears in no sub; add "repository_id" to subjectClaims (and to the repository's include_claim_keys), or set repositoryOwnerId for GitHub's immutable subject form`,
    );
  }
  let jobWorkflowRefs: string[] | undefined;
  if (effectiveClaims.includes('job_workflow_ref')) {
    jobWorkflowRefs = readJobWorkflowRefs(collector, `${where}.jobWorkflowRefs`, entry.jobWorkflowRefs, strict);
  } else if (entry.jobWorkflowRefs !== undefined) {
    collector.add(
      `${where}.jobWorkflowRefs: appears in no sub; add "job_workflow_ref" to subjectClaims (and to the repository's include_claim_keys)`,
    );
  }

  const listed = entry.branches !== undefined || entry.environments !== undefined || entry.tags !== undefined;
  if (!effectiveClaims.includes('context')) {
    if (listed) {
      collector.add(
        `${where}: branches, environments and tags appear in no sub, since subjectClaims has no "context"; add "context" (to both), or remove them`,
      );
    } else if (!allowAnyRef) {
      collector.add(
        `${where}.subjectClaims: without "context", every branch, tag, environment and pull request of ${describeValue(entry.repository)} could assume the role; add "context", or set dangerouslyAllowAnyRef: true to accept that risk`,
      );
    }
  } else if (!listed && !allowAnyRef) {
    collector.add(
      `${where}: none of branches, environments or tags is set, so every branch and pull request of ${describeValue(entry.repository)} could assume the role; list them, or set dangerouslyAllowAnyRef: true to accept that risk`,
    );
  }

  const settings = collector.roleSettings(where, name, entry);
  if (collector.problems.length > 0) {
    return { ...settings, repository, subjects: [], usesWildcards: false, wildcardTags: [] };
  }
  const subjects = githubSubjects({
    repository,
    ...(repositoryId !== undefined && ownerId !== undefined ? { immutableIds: { owner: ownerId, repository: repositoryId } } : {}),
    ...(repositoryId !== undefined ? { repositoryId } : {}),
    claims: effectiveClaims,
    ...(listed ? { refs } : {}),
    ...(jobWorkflowRefs ? { jobWorkflowRefs } : {}),
  });
  return {
    ...settings,
    repository,
    subjects,
    usesWildcards: subjects.some((subject) => WILDCARD.test(subject)),
    wildcardTags: refs.tags.filter((tag) => WILDCARD.test(tag)),
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

/**
 * The `sub` claim GitHub Actions puts in its OIDC tokens, built the way GitHub documents it (docs.github.com,
 * "OpenID Connect reference": example subject claims, immutable subject claims, customizing the subject claims):
 * - Default: `repo:OWNER/REPO:` and the job's context: `ref:refs/heads/BRANCH`, `ref:refs/tags/TAG`,
 *   `environment:NAME` (a job that names an environment gets this form, never the branch form: github/docs#28291),
 *   or `pull_request`.
 * - Immutable: on github.com, a repository created, renamed or transferred after 2026-06-18 (or opted in) gets
 *   `repo:OWNER@OWNER_ID/REPO@REPO_ID` as its repository part, in every form, customized ones included.
 * - Customized (`PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`, `include_claim_keys`): one `key:value`
 *   part per key, in the template's order, joined by `:`; `repo` renders as the repository part above and `context`
 *   as the default form's context. The default form is the template `["repo", "context"]`.
 * GitHub writes a `:` inside a value as `%3A`; the schema refuses `:` in the names it puts into a `sub`.
 */

/** The `include_claim_keys` this project builds trusts for. */
export const GITHUB_SUBJECT_CLAIMS = ['repo', 'repository_id', 'context', 'job_workflow_ref'] as const;
export type GitHubSubjectClaim = (typeof GITHUB_SUBJECT_CLAIMS)[number];

/** GitHub's default `sub` template. */
export const GITHUB_DEFAULT_SUBJECT_CLAIMS: readonly GitHubSubjectClaim[] = ['repo', 'context'];

export interface GitHubRefs {
  readonly branches: readonly string[];
  readonly environments: readonly string[];
  readonly tags: readonly string[];
}

export interface GitHubSubjectParts {
  /** `owner/name`. */
  readonly repository: string;
  /** The owner's and the repository's numeric ids, for the immutable form. @default - the name-only form */
  readonly immutableIds?: { readonly owner: string; readonly repository: string };
  /** The repository's numeric id, the value of `repository_id`. @default - none */
  readonly repositoryId?: string;
  /** The template's claim keys, in its order. @default GITHUB_DEFAULT_SUBJECT_CLAIMS */
  readonly claims?: readonly GitHubSubjectClaim[];
  /** The branches, environments and tags whose contexts are trusted. @default - any context (`*`) */
  readonly refs?: GitHubRefs;
  /** The reusable workflows (`owner/repo/.github/workflows/file.yml@ref`) for `job_workflow_ref`. @default - none */
  readonly jobWorkflowRefs?: readonly string[];
}

/** The context parts of the default form, for branches, environments and tags. */
export function githubContexts(refs: GitHubRefs): string[] {
  return [
    ...refs.branches.map((branch) => `ref:refs/heads/${branch}`),
    ...refs.environments.map((environment) => `environment:${environment}`),
    ...refs.tags.map((tag) => `ref:refs/tags/${tag}`),
  ];
}

/**
 * Every `sub` the parts allow: one per combination of context and reusable workflow, in the template's order.
 * @throws Error when a claim needs a value the parts lack (the schema checks that first)
 */
export function githubSubjects(parts: GitHubSubjectParts): string[] {
  const [owner, name] = parts.repository.split('/');
  const repo = parts.immutableIds
    ? `repo:${owner ?? ''}@${parts.immutableIds.owner}/${name ?? ''}@${parts.immutableIds.repository}`
    : `repo:${parts.repository}`;
  const values = (claim: GitHubSubjectClaim): string[] => {
    switch (claim) {
      case 'repo':
        return [repo];
      case 'repository_id':
        if (parts.repositoryId === undefined) throw new Error('the repository_id claim needs the repository id');
        return [`repository_id:${parts.repositoryId}`];
      case 'context':
        return parts.refs ? githubContexts(parts.refs) : ['*'];
      case 'job_workflow_ref':
        if (!parts.jobWorkflowRefs?.length) throw new Error('the job_workflow_ref claim needs reusable workflows');
        return parts.jobWorkflowRefs.map((workflow) => `job_workflow_ref:${workflow}`);
    }
  };
  return (parts.claims ?? GITHUB_DEFAULT_SUBJECT_CLAIMS).reduce<string[]>(
    (subjects, claim) => subjects.flatMap((prefix) => values(claim).map((value) => (prefix === '' ? value : `${prefix}:${value}`))),
    [''],
  );
}

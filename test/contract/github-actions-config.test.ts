import { describe, expect, it } from 'vitest';
import { parseGitHubActionsConfig, validateGitHubActionsConfig } from '../../contract/github-actions-config';
import { githubSubjects } from '../../contract/github-subject';

function problems(role: Record<string, unknown>): string[] {
  return validateGitHubActionsConfig({ roles: { deploy: role } }).problems;
}

describe('githubActions configuration', () => {
  it('builds the sub values GitHub issues for branches, environments and tags', () => {
    const [role] = parseGitHubActionsConfig({
      roles: { deploy: { repository: 'octo-org/octo-repo', branches: ['main'], environments: ['prod'], tags: ['v*'] } },
    }).roles;
    expect(role?.subjects).toEqual([
      'repo:octo-org/octo-repo:ref:refs/heads/main',
      'repo:octo-org/octo-repo:environment:prod',
      'repo:octo-org/octo-repo:ref:refs/tags/v*',
    ]);
    expect(role?.usesWildcards).toBe(true);
    expect(githubSubjects({ repository: 'o/r', refs: { branches: ['main'], environments: [], tags: [] } })).toEqual([
      'repo:o/r:ref:refs/heads/main',
    ]);
    expect(parseGitHubActionsConfig({ roles: { ci: { repository: 'o/r', branches: ['main'] } } }).roles[0]?.usesWildcards).toBe(false);
  });

  it('refuses an owner-wide repository, naming the risk and the opt-in', () => {
    expect(problems({ repository: 'octo-org/*', branches: ['main'] })).toEqual([
      'roles.deploy.repository: "octo-org/*" is owner-wide (every repository of octo-org, including future ones); name one repository, or set dangerouslyAllowWildcardRepository: true to accept that risk',
    ]);
  });

  it('refuses a wildcard repository unless dangerouslyAllowWildcardRepository is set', () => {
    expect(problems({ repository: 'octo-org/app-*', branches: ['main'] })).toEqual([
      expect.stringMatching(/^roles.deploy.repository: "octo-org\/app-\*" is a wildcard .*dangerouslyAllowWildcardRepository: true/),
    ]);
    const [role] = parseGitHubActionsConfig({
      roles: { deploy: { repository: 'octo-org/app-*', branches: ['main'], dangerouslyAllowWildcardRepository: true } },
    }).roles;
    expect(role?.subjects).toEqual(['repo:octo-org/app-*:ref:refs/heads/main']);
  });

  it('always refuses a wildcard owner: it would trust every GitHub account', () => {
    for (const repository of ['*/octo-repo', '*', 'octo-org', 'a/b/c']) {
      expect(problems({ repository, branches: ['main'], dangerouslyAllowWildcardRepository: true })).toEqual([
        expect.stringMatching(/^roles.deploy.repository: expected "owner\/name"/),
      ]);
    }
  });

  it('refuses a role with none of branches, environments or tags unless dangerouslyAllowAnyRef is set', () => {
    expect(problems({ repository: 'octo-org/octo-repo' })).toEqual([
      'roles.deploy: none of branches, environments or tags is set, so every branch and pull request of "octo-org/octo-repo" could assume the role; list them, or set dangerouslyAllowAnyRef: true to accept that risk',
    ]);
    const [role] = parseGitHubActionsConfig({
      roles: { deploy: { repository: 'octo-org/octo-repo', dangerouslyAllowAnyRef: true } },
    }).roles;
    expect(role?.subjects).toEqual(['repo:octo-org/octo-repo:*']);
  });

  it('refuses a branch, environment or tag that matches everything unless dangerouslyAllowAnyRef is set', () => {
    expect(problems({ repository: 'o/r', branches: ['*'], tags: ['**'] })).toEqual([
      expect.stringMatching(/^roles.deploy.branches\[0\]: "\*" matches every name; .*dangerouslyAllowAnyRef: true/),
      expect.stringMatching(/^roles.deploy.tags\[0\]: "\*\*" matches every name/),
    ]);
    expect(problems({ repository: 'o/r', branches: ['*'], dangerouslyAllowAnyRef: true })).toEqual([]);
    expect(problems({ repository: 'o/r', branches: ['release/*'] })).toEqual([]);
  });

  it('refuses a branch or environment pattern that starts with a wildcard unless dangerouslyAllowLeadingWildcard is set', () => {
    expect(problems({ repository: 'o/r', branches: ['*main', '*/*', '?elease'], environments: ['*-prod'] })).toEqual([
      'roles.deploy.branches[0]: "*main" starts with a wildcard, so it matches any branch ending that way, including ones anyone with push access can create; spell out the start, or set dangerouslyAllowLeadingWildcard: true to accept that risk',
      expect.stringMatching(/^roles.deploy.branches\[1\]: "\*\/\*" starts with a wildcard/),
      expect.stringMatching(/^roles.deploy.branches\[2\]: "\?elease" starts with a wildcard/),
      expect.stringMatching(/^roles.deploy.environments\[0\]: "\*-prod" starts with a wildcard, so it matches any environment ending/),
    ]);
    const [role] = parseGitHubActionsConfig({
      roles: { deploy: { repository: 'o/r', branches: ['*main'], environments: ['*-prod'], dangerouslyAllowLeadingWildcard: true } },
    }).roles;
    expect(role?.subjects).toEqual(['repo:o/r:ref:refs/heads/*main', 'repo:o/r:environment:*-prod']);
    // A wildcard later in the name stays allowed; a tag is not refused but reported (the construct warns at synth).
    expect(problems({ repository: 'o/r', branches: ['release/*'], tags: ['*-rc'] })).toEqual([]);
    const [tagged] = parseGitHubActionsConfig({ roles: { r: { repository: 'o/r', tags: ['v*', 'v1.0.0', '*-rc'] } } }).roles;
    expect(tagged?.wildcardTags).toEqual(['v*', '*-rc']);
  });

  it("builds GitHub's immutable form from repositoryOwnerId and repositoryId", () => {
    const [role] = parseGitHubActionsConfig({
      roles: {
        deploy: {
          repository: 'octo-org/octo-repo',
          repositoryOwnerId: 123456,
          repositoryId: '456789',
          branches: ['main'],
          environments: ['prod'],
        },
      },
    }).roles;
    // GitHub's own example: repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main.
    expect(role?.subjects).toEqual([
      'repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main',
      'repo:octo-org@123456/octo-repo@456789:environment:prod',
    ]);
    expect(role?.usesWildcards).toBe(false);
  });

  it("builds the customized sub in the order of the repository's include_claim_keys", () => {
    const subjects = (role: Record<string, unknown>) => parseGitHubActionsConfig({ roles: { deploy: role } }).roles[0]?.subjects;
    expect(
      subjects({ repository: 'octo-org/octo-repo', repositoryId: 456789, subjectClaims: ['repository_id', 'context'], branches: ['main'] }),
    ).toEqual(['repository_id:456789:ref:refs/heads/main']);
    // GitHub's example for ["repo", "context", "job_workflow_ref"].
    expect(
      subjects({
        repository: 'octo-org/octo-repo',
        subjectClaims: ['repo', 'context', 'job_workflow_ref'],
        environments: ['prod'],
        jobWorkflowRefs: ['octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main'],
      }),
    ).toEqual([
      'repo:octo-org/octo-repo:environment:prod:job_workflow_ref:octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main',
    ]);
    // Every context with every workflow; the immutable ids stay in the repo part of a customized sub.
    expect(
      subjects({
        repository: 'octo-org/octo-repo',
        repositoryOwnerId: 123456,
        repositoryId: 456789,
        subjectClaims: ['job_workflow_ref', 'repo', 'context'],
        branches: ['main'],
        tags: ['v*'],
        jobWorkflowRefs: ['octo-org/ci/.github/workflows/a.yml@refs/heads/main', 'octo-org/ci/.github/workflows/b.yaml@0123abcd'],
      }),
    ).toEqual([
      'job_workflow_ref:octo-org/ci/.github/workflows/a.yml@refs/heads/main:repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main',
      'job_workflow_ref:octo-org/ci/.github/workflows/a.yml@refs/heads/main:repo:octo-org@123456/octo-repo@456789:ref:refs/tags/v*',
      'job_workflow_ref:octo-org/ci/.github/workflows/b.yaml@0123abcd:repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main',
      'job_workflow_ref:octo-org/ci/.github/workflows/b.yaml@0123abcd:repo:octo-org@123456/octo-repo@456789:ref:refs/tags/v*',
    ]);
    // Without "context" the sub carries no ref: any ref, so only with the opt-in.
    expect(subjects({ repository: 'o/r', repositoryId: 7, subjectClaims: ['repository_id'], dangerouslyAllowAnyRef: true })).toEqual([
      'repository_id:7',
    ]);
  });

  it('refuses ids and customized templates that would not match what GitHub issues, or would trust more than named', () => {
    expect(problems({ repository: 'o/r', repositoryId: 7, branches: ['main'] })).toEqual([
      'roles.deploy.repositoryId: 7 appears in no sub; add "repository_id" to subjectClaims (and to the repository\'s include_claim_keys), or set repositoryOwnerId for GitHub\'s immutable subject form',
    ]);
    expect(problems({ repository: 'o/r', repositoryOwnerId: 5, branches: ['main'] })).toEqual([
      expect.stringMatching(/^roles.deploy.repositoryOwnerId: GitHub's immutable subject form needs repositoryId too/),
    ]);
    expect(problems({ repository: 'o/r', subjectClaims: ['repository_id', 'context'], branches: ['main'] })).toEqual([
      expect.stringMatching(/^roles.deploy.repositoryId: subjectClaims includes "repository_id", so set/),
    ]);
    expect(problems({ repository: 'o/r', repositoryId: 'abc', subjectClaims: ['context', 'context', 'actor'] })).toEqual([
      expect.stringMatching(
        /^roles.deploy.repositoryId: expected GitHub's numeric id \(gh api repos\/OWNER\/NAME --jq .id\), received "abc"/,
      ),
      expect.stringMatching(
        /^roles.deploy.subjectClaims: expected the repository's include_claim_keys in their order, each once, from "repo", "repository_id", "context", "job_workflow_ref", received/,
      ),
      expect.stringMatching(/^roles.deploy: none of branches/),
    ]);
    expect(
      problems({
        repository: 'o/r',
        subjectClaims: ['context', 'job_workflow_ref'],
        branches: ['main'],
        jobWorkflowRefs: ['o/ci/.github/workflows/a.yml@refs/heads/main'],
      }),
    ).toEqual([
      'roles.deploy.subjectClaims: ["context","job_workflow_ref"] does not name the repository, so every repository whose jobs match could assume the role; include "repository_id" (or "repo")',
    ]);
    expect(problems({ repository: 'o/r', repositoryId: 7, subjectClaims: ['repository_id'], branches: ['main'] })).toEqual([
      'roles.deploy: branches, environments and tags appear in no sub, since subjectClaims has no "context"; add "context" (to both), or remove them',
    ]);
    expect(problems({ repository: 'o/r', repositoryId: 7, subjectClaims: ['repository_id'] })).toEqual([
      expect.stringMatching(
        /^roles.deploy.subjectClaims: without "context", every branch, tag, environment and pull request of "o\/r" could assume the role; .*dangerouslyAllowAnyRef/,
      ),
    ]);
    expect(problems({ repository: 'o/r', branches: ['main'], jobWorkflowRefs: ['o/ci/.github/workflows/a.yml@refs/heads/main'] })).toEqual([
      expect.stringMatching(/^roles.deploy.jobWorkflowRefs: appears in no sub; add "job_workflow_ref"/),
    ]);
    expect(
      problems({
        repository: 'o/*',
        repositoryId: 7,
        subjectClaims: ['repository_id', 'context'],
        branches: ['main'],
        dangerouslyAllowWildcardRepository: true,
      }),
    ).toEqual([
      expect.stringMatching(
        /^roles.deploy.repository: "o\/\*" holds a wildcard, but repositoryId and repositoryOwnerId name one repository/,
      ),
    ]);
  });

  it('refuses a reusable workflow that is not a literal workflow path, or is trusted at any ref or a leading-wildcard ref', () => {
    const role = (jobWorkflowRefs: unknown) => ({
      repository: 'o/r',
      subjectClaims: ['repo', 'context', 'job_workflow_ref'],
      branches: ['main'],
      jobWorkflowRefs,
    });
    expect(
      problems(
        role([
          'o/ci/.github/workflows/*.yml@refs/heads/main',
          'o/ci/deploy.yml@refs/heads/main',
          'o/ci/.github/workflows/a.yml@*',
          'o/ci/.github/workflows/a.yml@*main',
        ]),
      ),
    ).toEqual([
      expect.stringMatching(
        /^roles.deploy.jobWorkflowRefs\[0\]: expected "OWNER\/REPO\/.github\/workflows\/FILE.yml@REF" with a literal path, received/,
      ),
      expect.stringMatching(/^roles.deploy.jobWorkflowRefs\[1\]: expected "OWNER/),
      expect.stringMatching(/^roles.deploy.jobWorkflowRefs\[2\]: .* accepts the workflow at any ref; .*dangerouslyAllowAnyRef/),
      expect.stringMatching(
        /^roles.deploy.jobWorkflowRefs\[3\]: "\*main" starts with a wildcard, so it matches any ref of the reusable workflow ending that way/,
      ),
    ]);
    expect(problems(role([]))).toEqual([
      expect.stringMatching(/^roles.deploy.jobWorkflowRefs: expected a non-empty list of reusable workflows/),
    ]);
    expect(problems(role(['o/ci/.github/workflows/a.yml@refs/tags/v*']))).toEqual([]);
  });

  it('refuses names that would break the sub pattern or the policy', () => {
    expect(problems({ repository: 'o/r', branches: ['main:x', 'a b', '${aws:username}'], environments: [], tags: [''] })).toEqual([
      expect.stringMatching(/^roles.deploy.branches\[0\]: .*received "main:x"/),
      expect.stringMatching(/^roles.deploy.branches\[1\]: .*received "a b"/),
      expect.stringMatching(/^roles.deploy.branches\[2\]: .*received "\$\{aws:username\}"/),
      'roles.deploy.environments: expected a non-empty list of names, received []',
      expect.stringMatching(/^roles.deploy.tags\[0\]: .*received ""/),
    ]);
  });

  it('collects problems across roles and fields, with the opt-ins checked for type', () => {
    const result = validateGitHubActionsConfig({
      providerArn: 'token.actions.githubusercontent.com',
      roles: { a: { repository: 'o/r', branches: ['main'], dangerouslyAllowAnyRef: 'yes', maxSessionDurationSeconds: 50_000 } },
      other: 1,
    });
    expect(result.problems).toEqual([
      'other: unknown field (known: providerArn, roles)',
      expect.stringMatching(/^providerArn: .*received "token.actions.githubusercontent.com"/),
      'roles.a.dangerouslyAllowAnyRef: expected true or false, received "yes"',
      expect.stringMatching(/^roles.a.maxSessionDurationSeconds: .*received 50000/),
    ]);
  });
});

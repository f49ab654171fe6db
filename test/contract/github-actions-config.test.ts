import { describe, expect, it } from 'vitest';
import { githubSubjects, parseGitHubActionsConfig, validateGitHubActionsConfig } from '../../contract/github-actions-config';

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
    expect(githubSubjects('o/r', { branches: ['main'], environments: [], tags: [] })).toEqual(['repo:o/r:ref:refs/heads/main']);
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

/**
 * The CDK app (bin/app.ts) as `cdk synth` runs it, with the reverse-direction context keys set: both stacks are
 * synthesized, and the strict cdk-nag logger (every AwsSolutions finding fatal) lets them through.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, cdkJsonBrokerContext, cdkJsonFlags } from '../lib/helpers';

const REVERSE_CONTEXT = {
  azureToAws: {
    tenantId: '11111111-1111-1111-1111-111111111111',
    audience: 'api://aws-federation',
    roles: {
      reader: {
        managedIdentityObjectIds: ['aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'],
        managedPolicyArns: ['arn:aws:iam::aws:policy/ReadOnlyAccess'],
      },
    },
  },
  githubActions: { roles: { deploy: { repository: 'octo-org/octo-repo', environments: ['prod'], tags: ['v*'] } } },
};

function synth(context: Record<string, unknown>): { status: number | null; stderr: string; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'reverse-synth-'));
  // The CLI hands context to the app in CDK_CONTEXT_JSON; this is what `cdk synth -c azureToAws=...` does.
  const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonFlags(), broker: cdkJsonBrokerContext(), 'aws:cdk:bundling-stacks': [], ...context }),
      CDK_OUTDIR: outdir,
    },
  });
  return { status: result.status, stderr: result.stderr, outdir };
}

describe('bin/app.ts with the reverse direction', { timeout: 120_000 }, () => {
  it('synthesizes one stack per context key, with no unsuppressed cdk-nag finding', () => {
    const { status, stderr, outdir } = synth(REVERSE_CONTEXT);
    try {
      expect(status, stderr).toBe(0);
      const azure = JSON.parse(readFileSync(join(outdir, 'AwsAzureTokenBroker-AzureToAws.template.json'), 'utf8'));
      const github = JSON.parse(readFileSync(join(outdir, 'AwsAzureTokenBroker-GitHubActions.template.json'), 'utf8'));
      expect(Object.keys(azure.Outputs)).toEqual(
        expect.arrayContaining(['RoleArnReader', 'CredentialProcessReader', 'ProviderArn', 'Audience']),
      );
      expect(Object.keys(github.Outputs)).toEqual(['RoleArnDeploy']);
      const report = readFileSync(join(outdir, 'AwsSolutions--AwsAzureTokenBroker-GitHubActions-NagReport.csv'), 'utf8');
      expect(report).not.toMatch(/,"Non-Compliant",/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('fails synth on a GitHub role open to any ref, naming cdk.json and the field', () => {
    const { status, stderr, outdir } = synth({ githubActions: { roles: { ci: { repository: 'octo-org/octo-repo' } } } });
    rmSync(outdir, { recursive: true, force: true });
    expect(status).not.toBe(0);
    expect(stderr).toContain("Invalid cdk.json context 'githubActions':");
    expect(stderr).toContain('roles.ci: none of branches, environments or tags is set');
  });
});

/** The CDK app (bin/app.ts) as `cdk synth` runs it: a child process through tsx. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BAD_CONFIG, EVERY_BAD_FIELD } from '../lib/bad-config';
import { REPO_ROOT, cdkJsonBrokerContext } from '../lib/helpers';

describe('bin/app.ts', () => {
  it('fails the CDK app itself (what cdk synth runs) with every bad field of every key, alone: no stack trace, nothing bundled', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'broker-synth-'));
    try {
      // The CLI hands context to the app in CDK_CONTEXT_JSON; this is what `cdk synth -c broker=...` does. Bundling is
      // on (no aws:cdk:bundling-stacks), so a key validated only after the broker stack was built would show bundles.
      const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ broker: BAD_CONFIG, githubActions: { roles: { ci: { repository: '*' } } } }),
          CDK_OUTDIR: outdir,
        },
      });
      expect(result.status).toBe(1);
      for (const problem of EVERY_BAD_FIELD) expect(result.stderr).toMatch(problem);
      expect(result.stderr).toMatch(/Invalid cdk\.json context 'githubActions':\n {2}- roles\.ci\.repository/);
      // The problems and their two headings, nothing else: no "at …" frames, no source excerpt, no bundling output.
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines.filter((line) => line.startsWith('Invalid cdk.json context '))).toHaveLength(2);
      expect(lines.filter((line) => !/^(Invalid cdk\.json context '\w+':| {2}- \S)/.test(line))).toEqual([]);
      expect(result.stderr).not.toMatch(/^\s+at |Bundling asset|node:internal/m);
      expect(result.stdout).toBe('');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  // The shipped configuration (signer "kms"), and the same with signer "aws-sts": no key, no public route, two
  // custom resources and the STS grant instead, which must pass both rule sets too.
  // With a private endpoint the token routes move to a PRIVATE REST API, whose own rules (APIG2, APIG3, APIG6, COG4,
  // CT.APIGATEWAY.PR.1) are decided in lib/private-token-api.ts; with aws-sts nothing public is left to acknowledge.
  const privateEndpoint = { endpoint: { type: 'private', vpcEndpointIds: ['vpce-0123456789abcdef0'] } };
  it.each([
    ['kms', {}],
    ['aws-sts', { signer: 'aws-sts' }],
    ['kms, private endpoint', privateEndpoint],
    ['aws-sts, private endpoint', { signer: 'aws-sts', ...privateEndpoint }],
  ])(
    'runs cdk-nag and the Control Tower controls, and synthesizes the shipped configuration (signer %s) with neither finding anything',
    (_signer, overrides) => {
      const outdir = mkdtempSync(join(tmpdir(), 'broker-synth-'));
      try {
        const result = spawnSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
          cwd: REPO_ROOT,
          encoding: 'utf8',
          env: {
            ...process.env,
            CDK_CONTEXT_JSON: JSON.stringify({
              broker: { ...(cdkJsonBrokerContext() as object), ...overrides },
              'aws:cdk:bundling-stacks': [],
            }),
            CDK_OUTDIR: outdir,
          },
        });
        expect(result.stderr).not.toMatch(/AwsSolutions-|CT\.[A-Z]+\.PR/);
        expect(result.status).toBe(0);
        const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
          pluginReports: Array<{ pluginName: string; conclusion: string }>;
        };
        expect(report.pluginReports).toEqual(
          expect.arrayContaining([expect.objectContaining({ pluginName: 'cdk-validator-cfnguard', conclusion: 'success' })]),
        );
        // cdk-nag's findings (made fatal by StrictNagLogger) are error annotations, which the CLI turns into a failure.
        const metadata = readFileSync(join(outdir, 'AwsAzureTokenBroker.metadata.json'), 'utf8');
        expect(metadata).toContain('"type": "aws:cdk:logicalId"');
        expect(metadata).not.toContain('aws:cdk:error');
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});

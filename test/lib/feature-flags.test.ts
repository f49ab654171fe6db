import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers';

describe('cdk.json feature flags', () => {
  it('sets every flag aws-cdk-lib recommends, as cdk init does, so synth reports none as unconfigured', () => {
    const recommended = createRequire(import.meta.url)('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;
    const { context } = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const missing = Object.keys(recommended).filter((flag) => !(flag in context));
    expect(missing).toEqual([]);
  });
});

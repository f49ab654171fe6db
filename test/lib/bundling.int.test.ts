import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, inject, it } from 'vitest';
import { BUNDLE_FILE } from '../../lib/lambda-bundling';
import { TokenBroker } from '../../lib/token-broker';
import { cdkJsonFlags, config, kmsIssuerOf, logicalId } from './helpers';

// The one test that really runs esbuild (locally; there is no Docker): it proves the entries exist,
// compile, and come out as ESM with the require shim and the AWS SDK inside, byte for byte the bundles the package
// ships (scripts/build.mjs), so the code a CDK app deploys from the package is the code this stack deploys.
describe('TokenBroker bundling', () => {
  it('bundles each entry into one minified ESM index.mjs', { timeout: 120_000 }, () => {
    // Asset metadata (the bundle's folder) is what the CLI asks for too.
    const app = new App({ context: { ...cdkJsonFlags(), 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bundled');
    const broker = new TokenBroker(stack, 'Broker', { config: config() });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');

    const issuer = kmsIssuerOf(broker);
    const { packageDir } = inject('builtPackage');
    const entries = [
      [issuer.discoveryFunction, 'discovery'],
      [issuer.jwksFunction, 'jwks'],
      [issuer.keyRotatorFunction, 'rotator'],
      [broker.tokenFunction, 'token'],
    ] as const;
    for (const [fn, entry] of entries) {
      const assetPath = functions[logicalId(fn)]!.Metadata!['aws:asset:path'] as string;
      const file = join(app.outdir, assetPath, BUNDLE_FILE);
      expect(existsSync(file), `${fn.node.id}: ${file}`).toBe(true);
      const code = readFileSync(file, 'utf8');
      expect(code === readFileSync(join(packageDir, 'dist/functions', entry, BUNDLE_FILE), 'utf8'), `${entry}: shipped = bundled`).toBe(
        true,
      );
      expect(code.startsWith("import { createRequire } from 'module';const require = createRequire(import.meta.url);")).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b|export\s*\{\s*handler\b/);
    }
    const tokenCode = readFileSync(
      join(app.outdir, functions[logicalId(broker.tokenFunction)]!.Metadata!['aws:asset:path'] as string, 'index.mjs'),
      'utf8',
    );
    // The SDK is bundled: no @aws-sdk import is left for the runtime to resolve.
    expect(tokenCode).not.toMatch(/from\s*"@aws-sdk\//);
    // Both signers are in the one token entry: the aws-sts branch's STS operation is in the bundle, whatever the signer.
    expect(tokenCode).toContain('GetWebIdentityToken');
  });
});

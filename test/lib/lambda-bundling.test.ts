/** Where the construct takes a function's code from: the package's prebuilt folder when there is one, else the sources. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, prebuiltAssetDir } from '../../lib/lambda-bundling';

let dist: string;
beforeEach(() => {
  dist = mkdtempSync(join(tmpdir(), 'broker-dist-'));
});
afterEach(() => {
  rmSync(dist, { recursive: true, force: true });
});
const root = () => pathToFileURL(`${dist}/`);

describe('prebuiltAssetDir', () => {
  it('is undefined from the repository’s sources: lib/ has no functions/ beside it, so the stack bundles from source', () => {
    expect(prebuiltAssetDir('functions', 'token', BUNDLE_FILE)).toBeUndefined();
    expect(prebuiltAssetDir('functions', 'token', BUNDLE_FILE, root())).toBeUndefined();
  });

  it('is the entry’s folder in a package that ships it', () => {
    mkdirSync(join(dist, 'functions/token'), { recursive: true });
    writeFileSync(join(dist, 'functions/token', BUNDLE_FILE), 'export const handler = async () => ({});\n');
    expect(prebuiltAssetDir('functions', 'token', BUNDLE_FILE, root())).toBe(`${join(dist, 'functions/token')}/`);
  });

  it('throws, naming the missing bundle, in a package that ships other functions but not this one', () => {
    mkdirSync(join(dist, 'functions/token'), { recursive: true });
    writeFileSync(join(dist, 'functions/token', BUNDLE_FILE), 'export const handler = async () => ({});\n');
    expect(() => prebuiltAssetDir('functions', 'jwks', BUNDLE_FILE, root())).toThrow(
      `The package's prebuilt functions have no jwks/index.mjs under ${join(dist, 'functions')}/: reinstall or rebuild the package (npm run build)`,
    );
  });
});

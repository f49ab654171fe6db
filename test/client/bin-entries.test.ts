/** The CLIs the build compiles (client/bin/*.ts, see scripts/build.mjs) are exactly the package's "bin" entries. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);

describe('package.json "bin"', () => {
  it('names one dist/bin/<name>.js per client/bin/<name>.ts, and nothing else', () => {
    const { bin } = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { bin: Record<string, string> };
    const entries = readdirSync(new URL('client/bin/', ROOT)).filter((file) => file.endsWith('.ts'));

    expect(entries.length).toBeGreaterThan(0);
    expect(bin).toEqual(Object.fromEntries(entries.map((file) => [file.slice(0, -3), `dist/bin/${file.slice(0, -3)}.js`])));
  });
});

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

/**
 * esbuild settings of every function, shared by the construct (NodejsFunction, from source), the package build
 * (scripts/build.mjs, the prebuilt bundles a consumer app deploys) and the cold-start benchmark. The AWS SDK v3 is
 * bundled with the rest, not taken from the Lambda runtime: one tree-shaken file loads faster than resolving the
 * runtime's copy across hundreds of files (`npm run bench`, section 3, measures both), and the functions run the SDK
 * version the tests ran with.
 */
export const LAMBDA_ESBUILD_OPTIONS = {
  minify: true,
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  // ESM bundles still meet CommonJS dependencies that call require(); give them one.
  banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
  sourcemap: false,
} as const satisfies BuildOptions;

/**
 * The Lambda entries under lambda/entrypoints/, by file name without `.ts`: each is one function's code. The package
 * build bundles every one into `<dist>/functions/<name>/index.mjs`; the construct deploys that folder when it is there.
 */
export const LAMBDA_ENTRIES = ['discovery', 'jwks', 'rotator', 'token'] as const;
export type LambdaEntry = (typeof LAMBDA_ENTRIES)[number];

/** The file NodejsFunction writes and the package build writes for an entry (ESM, so `.mjs`); `index.handler` loads it. */
export const BUNDLE_FILE = 'index.mjs';

/**
 * Prebuilt assets (function bundles, layers) beside the compiled construct code: the package ships `dist/lib/index.js`
 * and `dist/functions/`, `dist/layers/`; from this repository's sources (`lib/*.ts`) the folder does not exist, and the
 * functions are bundled from source instead.
 */
const PREBUILT_ROOT = new URL('../', import.meta.url);

/**
 * The folder of a prebuilt asset (`functions/token`, `layers/identity-endpoint`) under `root` (the package's `dist/`),
 * or undefined when there is no `root/<kind>/`: this code runs from the repository's sources. In a package that lacks
 * the asset it throws, as deploying stale or no code would be worse.
 * @throws Error naming the missing file, when the package has prebuilt assets of this kind but not this one
 */
export function prebuiltAssetDir(kind: 'functions' | 'layers', name: string, file: string, root: URL = PREBUILT_ROOT): string | undefined {
  const kindDir = fileURLToPath(new URL(`${kind}/`, root));
  if (!existsSync(kindDir)) return undefined;
  const dir = fileURLToPath(new URL(`${kind}/${name}/`, root));
  if (!existsSync(`${dir}${file}`)) {
    throw new Error(
      `The package's prebuilt ${kind} have no ${name}/${file} under ${kindDir}: reinstall or rebuild the package (npm run build)`,
    );
  }
  return dir;
}

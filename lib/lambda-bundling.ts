import type { BuildOptions } from 'esbuild';

/**
 * Whether the AWS SDK v3 is bundled into the functions or taken from the Lambda runtime. `npm run bench`
 * (section 3) measures both; bundling loads faster (one file, tree-shaken, no module resolution across
 * hundreds of files) and pins the SDK version we test with.
 */
export const BUNDLE_AWS_SDK: boolean = true;

/** esbuild settings of every function, shared by the construct and the cold-start benchmark. */
export const LAMBDA_ESBUILD_OPTIONS = {
  minify: true,
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  // ESM bundles still meet CommonJS dependencies that call require(); give them one.
  banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
  sourcemap: false,
} as const satisfies BuildOptions;

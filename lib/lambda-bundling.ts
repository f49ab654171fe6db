import type { BuildOptions } from 'esbuild';

/**
 * esbuild settings of every function, shared by the construct and the cold-start benchmark. The AWS SDK v3 is bundled
 * with the rest, not taken from the Lambda runtime: one tree-shaken file loads faster than resolving the runtime's copy
 * across hundreds of files (`npm run bench`, section 3, measures both), and the functions run the SDK version the tests
 * ran with.
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

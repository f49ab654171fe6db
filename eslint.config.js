// One lint configuration for the whole repository (`npm run lint`, part of `npm test`).
// - typescript-eslint `strictTypeChecked`: type-aware rules (floating promises, unsafe any, ...).
// - The layering of docs/architecture.md ("Layers") as import zones, so a wrong import fails the lint
//   instead of waiting for a reviewer.
// - Test hygiene: no focused or skipped tests, every test asserts something.
// - Formatting is Prettier's job (`npm run format`); eslint-config-prettier turns off the rules it owns.
import js from '@eslint/js';
import vitest from '@vitest/eslint-plugin';
import prettier from 'eslint-config-prettier';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Packages that talk to AWS or Azure, or build infrastructure: adapters and entrypoints only, never core. */
const SDK_PACKAGES = [
  '@aws-sdk/*',
  '@smithy/*',
  '@aws-lambda-powertools/*',
  '@azure/*',
  'aws-cdk-lib',
  'aws-cdk-lib/*',
  'constructs',
  'cdk-nag',
];

/** `import-x/no-restricted-paths` zones: `target` may not import from `from`. Paths are from the repository root. */
const LAYER_ZONES = [
  {
    target: './contract',
    from: ['./lambda', './lib', './local', './client', './bin'],
    message: 'contract/ is the shared vocabulary: it depends on nothing in the repository.',
  },
  {
    target: './lambda/core',
    from: [
      './lambda/adapters',
      './lambda/handlers',
      './lambda/entrypoints',
      './lambda/composition',
      './local',
      './lib',
      './client',
      './bin',
    ],
    message: 'lambda/core is pure logic: it receives adapters as arguments and imports none (docs/architecture.md, "Layers").',
  },
  {
    target: './lambda',
    from: ['./local', './lib', './client', './bin'],
    message: 'Deployed code never depends on the local runtime, the infrastructure or the client.',
  },
  {
    target: './lambda/handlers',
    from: ['./lambda/entrypoints', './lambda/adapters'],
    message: 'Handlers are thin: they receive their dependencies; entrypoints and the composition root wire adapters in.',
  },
  {
    target: './client',
    from: ['./lambda', './lib', './local', './bin'],
    message: 'client/ is shipped to workloads on its own: it may use contract/ only.',
  },
  {
    target: './lib',
    from: ['./lambda', './local', './client'],
    message: 'lib/ (infrastructure) shares names with the functions through contract/ only.',
  },
];

export default tseslint.config(
  // examples/cdk-app/ imports the package by name: test/package/cdk-consumer.int.test.ts type-checks it against the packed package.
  { ignores: ['node_modules/', 'cdk.out/', 'coverage/', 'dist/', '.local/', '.cache/', 'examples/cdk-app/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    // Resolves the extension-less relative imports (`../core/ports`) that the zones are checked on.
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs'] })] },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: LAYER_ZONES }],
      'import-x/no-cycle': 'off',
      // Numbers and booleans in messages are fine; objects are not (they print [object Object]).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-expect-error': 'allow-with-description' }],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidOperator: true, ignoreVoidReturningFunctions: true },
      ],
      // Adapters implement Promise-returning ports with `async` methods that need no await; that is the readable form.
      '@typescript-eslint/require-await': 'off',
      'no-console': 'error',
    },
  },
  {
    files: ['lambda/core/**/*.ts', 'contract/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: SDK_PACKAGES,
              message: 'Core and contract code take no SDK: pass an adapter in (docs/architecture.md, "Ports").',
            },
          ],
        },
      ],
    },
  },
  {
    // Benchmarks index typed arrays and result lists they just filled.
    files: ['local/bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    plugins: { vitest },
    rules: {
      ...vitest.configs.recommended.rules,
      'vitest/no-focused-tests': 'error',
      'vitest/no-disabled-tests': 'error',
      'vitest/expect-expect': [
        'error',
        {
          assertFunctionNames: [
            'expect',
            'expect*',
            'assert*',
            'check*',
            '*.hasResourceProperties',
            '*.hasResource',
            '*.resourceCountIs',
            '*.hasOutput',
          ],
        },
      ],
      // expect(value, message) is vitest's way to say what failed.
      'vitest/valid-expect': ['error', { maxArgs: 2 }],
      // Property tests (fast-check) branch on the generated case and assert on each branch.
      'vitest/no-conditional-expect': 'off',
      // Tests poke at loosely typed JSON and SDK mocks on purpose.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/require-await': 'off',
      // Tests probe loosely typed answers and reject with non-errors on purpose.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-misused-spread': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/use-unknown-in-catch-callback-variable': 'off',
      '@typescript-eslint/no-meaningless-void-operator': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'vitest/no-standalone-expect': ['error', { additionalTestBlockFunctions: ['beforeAll', 'beforeEach', 'afterEach'] }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);

import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Two projects, told apart by file name (`npm run test:unit`, `npm run test:integration`; `npm test` runs both,
// unit first):
//
// - unit: everything under test/ named `*.test.ts`. Runs in this process only: no child process, no JVM, no
//   DynamoDB Local, no build. Loopback HTTP servers started by the test itself (the fake broker, the Entra
//   emulator) are fine. Time is injected or faked wherever a test is about time, so a short timeout holds; a test
//   that is slow only because it computes a lot (a CDK synth with cdk-nag) sets its own on its describe.
// - integration: `test/e2e/**/*.e2e.test.ts` (the broker as a process, end to end) and `*.int.test.ts` next to the
//   unit tests of the same module: anything that needs DynamoDB Local (`inject('dynamodbEndpoint')`), starts a
//   process (the JVM, the broker, tsx, openssl, npm, esbuild) or the built package (`inject('builtPackage')`).
//   A test that needs one of those goes into a `*.int.test.ts` file, never into a unit file.
const INTEGRATION = ['test/e2e/**/*.e2e.test.ts', 'test/**/*.int.test.ts'];

// Set by .ci/run: each vitest run writes its JSON result there, one file per run (see .ci/run).
const jsonReportDir = process.env.VITEST_JSON_REPORT_DIR;

// The AWS SDK warns once per process that it will drop Node 20; Lambda runs Node 24, the warning is noise here.
// Set before the workers start, so the broker processes the tests spawn inherit it too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export default defineConfig({
  test: {
    ...(jsonReportDir
      ? { reporters: ['default', 'json'], outputFile: { json: join(jsonReportDir, `vitest-${Date.now()}-${process.pid}.json`) } }
      : {}),
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: INTEGRATION,
          testTimeout: 10_000,
          hookTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION,
          globalSetup: ['test/support/dynamodb-global-setup.ts', 'test/support/package-global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

import { defineConfig } from 'vitest/config';

// Set by .ci/run so that plain `npm test` also writes a machine-readable result (see .ci/run).
const jsonReport = process.env.VITEST_JSON_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/dynamodb-global-setup.ts'],
    ...(jsonReport ? { reporters: ['default', 'json'], outputFile: { json: jsonReport } } : {}),
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

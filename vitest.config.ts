import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/polyfills.ts'],
    // Generous: DynamoDB Local (a JVM) and synth share 2 cores with the other test files.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    // infra synth and DynamoDB Local are CPU-heavy; 2 workers match the CI machine.
    maxWorkers: 2,
    env: {
      CDK_VALIDATION: 'false',
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    },
  },
});

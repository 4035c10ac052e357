import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/polyfills.ts'],
    // Guards against a hung test, never figures: DynamoDB Local (a JVM) and synth share 2 cores
    // with the other test files and whatever else runs; a hook may wait 180 s for the JVM to start.
    testTimeout: 300_000,
    hookTimeout: 400_000,
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

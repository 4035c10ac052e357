import { defineConfig } from 'vitest/config';

/**
 * `npm run test:deployed`: the end-to-end suite against a stack deployed to a LocalStack-compatible
 * endpoint (AWS_ENDPOINT_URL). Kept apart from vitest.config.ts, whose `npm test` must not need
 * an emulator: these files are named *.deployed.ts, which its include pattern does not match.
 */
export default defineConfig({
  test: {
    include: ['test/deployed/**/*.deployed.ts', 'test/ops/**/*.deployed.ts'],
    globalSetup: ['test/deployed/global-setup.ts'],
    // Real executions on an emulator: each test waits on queues, Lambdas and task tokens.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // One stack, shared agents and queues: the files run one after another.
    fileParallelism: false,
    maxWorkers: 1,
  },
});

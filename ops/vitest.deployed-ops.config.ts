import { defineConfig } from 'vitest/config';

/**
 * `npm run test:deployed:ops`: the operations API against the stack deployed to a
 * LocalStack-compatible endpoint, with the deployed suite's global setup. Its own config because
 * vitest.deployed.config.ts includes test/deployed only; fold `test/ops/**\/*.deployed.ts` into
 * that include and this file can go.
 */
export default defineConfig({
  root: new URL('..', import.meta.url).pathname,
  test: {
    include: ['test/ops/**/*.deployed.ts'],
    globalSetup: ['test/deployed/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});

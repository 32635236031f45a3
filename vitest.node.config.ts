import { defineConfig } from 'vitest/config';

// The node tier: the operator's image as `make image` builds it, checked from its file system and
// run. Separate from the e2e tier, whose control plane it does not need.
export default defineConfig({
  test: {
    include: ['test/e2e/node.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});

import { defineConfig } from 'vitest/config';

// e2e tests share one local environment (etcd, kube-apiserver, moto behind the paging layer)
// that the global setup starts once per run and always tears down. Files run one at a time:
// they share the control plane and the machine has two cores.
// The node tier (test/e2e/node.test.ts) runs on its own: vitest.node.config.ts, `make test-node`.
// E2E_FIXTURE runs one fixture under test/e2e/fixtures instead (a test that interrupts a run uses it).
const fixture = process.env.E2E_FIXTURE;

export default defineConfig({
  test: {
    include: fixture ? [fixture] : ['test/e2e/**/*.test.ts'],
    exclude: fixture ? [] : ['test/e2e/fixtures/**', 'test/e2e/node.test.ts', '**/node_modules/**'],
    environment: 'node',
    globalSetup: ['test/e2e/setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 1_800_000,
  },
});

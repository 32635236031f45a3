import { defineConfig } from 'vitest/config';

// The node tier: the operator's image as `make image` builds it, checked from its file system, and
// run on a real node (containerd, runc, CNI, kubelet, kube-scheduler) registered with the local
// control plane. Its global setup starts the environment and the node once and always tears them down.
export default defineConfig({
  test: {
    include: ['test/e2e/node.test.ts'],
    environment: 'node',
    globalSetup: ['test/e2e/env/node-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 600_000,
    teardownTimeout: 120_000,
  },
});

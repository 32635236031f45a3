import { defineConfig } from 'vitest/config';

// Integration tests talk to a real moto server that the global setup starts on a free loopback port.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/integration/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', '.codemesh/**', 'console/dist/**', 'test/fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own nats-server and bwrap jobs; two workers suit the 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['tests/setup/kafkajs-read-committed.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/integration/global-setup.ts'],
          setupFiles: ['tests/setup/kafkajs-read-committed.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          // Integration tests share one broker and two cores; run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});

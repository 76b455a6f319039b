import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Provides PostgreSQL, S3 and Chromium for the files that need them, and says loudly what it could not.
    globalSetup: ['test/setup/services.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Tests start real servers and move real bytes; two at a time suits the 2-core CI machines.
    maxWorkers: 2,
    minWorkers: 1,
    // `vitest run --coverage` (npm test): of src/ as this process and its workers run it; servers
    // started as child processes (dist/cli/main.js) are not measured.
    coverage: { provider: 'v8', include: ['src/**/*.ts'], reporter: ['text-summary'] },
  },
});

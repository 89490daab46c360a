import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One real Kafka per test run (test/global-setup.ts), shared by every file; topics are random per test.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // 2 cores: two files at a time keeps the broker responsive for timing-sensitive pause/drain tests.
    maxWorkers: 2,
    minWorkers: 1,
  },
})

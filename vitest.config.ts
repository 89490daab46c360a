import {defineConfig} from 'vitest/config'

/**
 * Four projects, one config: `vitest run` runs them all with one broker start. Only the Kafka tiers
 * name test/global-setup.ts (the root project's own globalSetup would run even for `--project unit`),
 * and that setup shares one broker between them.
 */
const kafkaTier = {
  // One real Kafka per test run (test/global-setup.ts), shared by every file; topics are random per test.
  globalSetup: ['test/global-setup.ts'],
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks',
} as const

export default defineConfig({
  test: {
    // 2 cores: two files at a time keeps the broker responsive for timing-sensitive pause/drain tests.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        test: {
          name: 'unit',
          // Pure logic against fakes: no broker, no compiled CLI.
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
          pool: 'forks',
        },
      },
      {test: {name: 'integration', include: ['test/integration/**/*.test.ts', 'test/commands/**/*.test.ts'], ...kafkaTier}},
      {test: {name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...kafkaTier}},
      // Control-protocol conformance of the kafkajs, Java and Python agents (test/conformance/README.md).
      // `npm run test:agents` runs first in `npm test` and leaves the Java jar and the Python venv ready.
      {
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts'],
          ...kafkaTier,
          // Preparing an agent may still build it (Maven) or create its virtual environment.
          hookTimeout: 20 * 60_000,
        },
      },
    ],
  },
})

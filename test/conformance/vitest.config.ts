import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {defineConfig} from 'vitest/config'

/**
 * The control-protocol conformance suite (`npm run test:conformance`): every agent implementation
 * against the real broker that test/global-setup.ts starts. Agents are selected with
 * KREORG_CONFORMANCE_AGENTS (see test/conformance/agents.ts).
 */
export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  test: {
    include: ['test/conformance/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    // Preparing an agent may build it (Maven) or create its virtual environment.
    hookTimeout: 20 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
  },
})

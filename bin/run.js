#!/usr/bin/env node
import {execute, settings} from '@oclif/core'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

/**
 * KREORG_ENABLE_TEST_RUNBOOKS=1 adds the engine's crash-test command and runbook (test/cli-plugin).
 * They are built only in a checkout, to dist/test, which the npm package leaves out: there the
 * variable changes nothing.
 */
async function testLoadOptions() {
  if (process.env.KREORG_ENABLE_TEST_RUNBOOKS !== '1') return
  const loader = new URL('../dist/test/cli-plugin/load.js', import.meta.url)
  if (!existsSync(loader)) return
  const {testLoadOptions} = await import(loader.href)
  return testLoadOptions(fileURLToPath(new URL('..', import.meta.url)))
}

// kreorg always runs its compiled dist/: with NODE_ENV=development or test, oclif would otherwise look
// for TypeScript sources and warn on stderr of every command in an installed copy.
settings.enableAutoTranspile = false

await execute({dir: import.meta.url, loadOptions: await testLoadOptions()})

import type {Interfaces} from '@oclif/core'

import {Plugin} from '@oclif/core'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {registerRunbook} from '../../runbooks/index.js'
import {testMarkersRunbook} from './test-markers.js'

/**
 * The engine's crash tests need a runbook with real, checkable Kafka side effects and a command that
 * starts it. Neither belongs in the published CLI, so they live here, are built to dist/test (which
 * the package's `files` leave out) and are added to the CLI only when bin/run.js sees
 * KREORG_ENABLE_TEST_RUNBOOKS=1: the runbook joins the registry (so `resume`, `abort`, `status` and
 * `runs` know it) and this folder is loaded as an oclif plugin next to kreorg's own commands, so the
 * manifest and `--help` of the real CLI never list `test-runbook`.
 */
export async function testLoadOptions(cliRoot: string): Promise<Interfaces.LoadOptions> {
  registerRunbook(testMarkersRunbook)
  // This file runs from dist/test/cli-plugin; the plugin's package.json stays in the source tree, in a
  // folder of its own so that tools resolving packages for the sources here still find kreorg's.
  const pluginRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/cli-plugin/plugin-root')
  if (!existsSync(path.join(pluginRoot, 'package.json'))) throw new Error(`kreorg test plugin not found at ${pluginRoot}`)
  const root = new Plugin({root: cliRoot, isRoot: true})
  const testPlugin = new Plugin({root: pluginRoot, name: 'kreorg-test-plugin', type: 'core'})
  await Promise.all([root.load(), testPlugin.load()])
  return {
    root: root.root,
    plugins: new Map([
      [root.name, root],
      [testPlugin.name, testPlugin],
    ]),
  }
}

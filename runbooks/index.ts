import type {AnyRunbook} from '../src/runbook/types.js'

import {growRunbook} from './grow.js'

/**
 * Every runbook kreorg knows, by name. `resume` and `abort` find a checkpoint's runbook here, so a
 * runbook's name must never change (its version and step ids are hashed into each checkpoint).
 */
const RUNBOOKS: AnyRunbook[] = [growRunbook]

/**
 * Adds a runbook that is not part of the published CLI. Only the engine's crash-test runbook uses it
 * (test/cli-plugin, loaded with KREORG_ENABLE_TEST_RUNBOOKS=1), before any command runs.
 */
export function registerRunbook(runbook: AnyRunbook): void {
  if (!RUNBOOKS.some((known) => known.name === runbook.name)) RUNBOOKS.push(runbook)
}

export function allRunbooks(): ReadonlyArray<AnyRunbook> {
  return RUNBOOKS
}

export function findRunbook(name: string): AnyRunbook | undefined {
  return RUNBOOKS.find((runbook) => runbook.name === name)
}

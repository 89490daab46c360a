import type {AnyRunbook} from '../src/runbook/types.js'
import {growRunbook} from './grow.js'
import {testMarkersRunbook} from './test-markers.js'

/**
 * Every runbook kreorg knows, by name. `resume` and `abort` find a checkpoint's runbook here, so a
 * runbook's name must never change (its version and step ids are hashed into each checkpoint).
 */
const RUNBOOKS: ReadonlyArray<AnyRunbook> = [growRunbook]

/** The engine's crash tests' runbook: real Kafka side effects, only with KREORG_ENABLE_TEST_RUNBOOKS=1. */
const TEST_RUNBOOKS: ReadonlyArray<AnyRunbook> = [testMarkersRunbook]

export function testRunbooksEnabled(): boolean {
  return process.env.KREORG_ENABLE_TEST_RUNBOOKS === '1'
}

export function allRunbooks(): ReadonlyArray<AnyRunbook> {
  return testRunbooksEnabled() ? [...RUNBOOKS, ...TEST_RUNBOOKS] : RUNBOOKS
}

export function findRunbook(name: string): AnyRunbook | undefined {
  return allRunbooks().find((runbook) => runbook.name === name)
}

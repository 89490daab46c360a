import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {EngineOptions} from '../../src/runbook/engine.js'
import type {AnyRunbook, RunEvent} from '../../src/runbook/types.js'

/**
 * Engine options for a runbook run on fakes: a fresh state dir (pushed to `dirs`, which the caller
 * removes), every event into `events`, every confirmation answered yes.
 */
export async function fakeEngineOptions(
  runbook: AnyRunbook,
  events: RunEvent[],
  dirs: string[],
  extra: Partial<EngineOptions> = {},
): Promise<EngineOptions> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-unit-engine-'))
  dirs.push(dir)
  return {
    stateDir: path.join(dir, 'state'),
    listener: (event) => events.push(event),
    confirm: async () => true,
    connection: {brokers: ['fake-1:9092'], clientId: 'unit', connectTimeoutMs: 1000},
    findRunbook: (name) => (name === runbook.name ? runbook : undefined),
    graceMs: 50,
    ...extra,
  }
}

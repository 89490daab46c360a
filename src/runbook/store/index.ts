import type {ConnectionFor, RunStore, StateMode} from './types.js'

import {DEFAULT_CONTROL_TOPIC} from '../../control/schema.js'
import {defaultStateDir} from '../state-dir.js'
import {KafkaRunStore} from './kafka.js'
import {LocalRunStore} from './local.js'

export {kafkaLocation} from './kafka-records.js'
export {KafkaRunStore} from './kafka.js'
export {LocalRunStore} from './local.js'
export {STATE_MODES} from './types.js'
export type {CheckoutOutcome, ConnectionFor, RunSource, RunStore, StateMode, StoredRun, StoredRunSummary} from './types.js'

/** The flags of every command that reads or writes runs (`--state-dir`, `--state`, `--state-topic`). */
export interface RunStoreFlags {
  'state-dir'?: string
  state?: string
  'state-topic'?: string
}

/** The state dir a command uses: --state-dir, KREORG_STATE_DIR, else the XDG default. */
export function resolveStateDir(flag: string | undefined): string {
  return flag ? defaultStateDir({KREORG_STATE_DIR: flag}) : defaultStateDir()
}

export function stateModeOf(flags: Pick<RunStoreFlags, 'state' | 'state-topic'>): {mode: StateMode; topic: string} {
  return {mode: flags.state === 'kafka' ? 'kafka' : 'local', topic: flags['state-topic'] ?? DEFAULT_CONTROL_TOPIC}
}

/**
 * The run store a command's flags ask for. `connectionFor` is asked only when the store needs Kafka
 * (`--state kafka`), so local-only commands never need brokers. Close it once runs were written through it
 * (the Kafka store keeps a producer open for its copies).
 */
export function runStoreFor(flags: RunStoreFlags, connectionFor: ConnectionFor): RunStore {
  const stateDir = resolveStateDir(flags['state-dir'])
  const {mode, topic} = stateModeOf(flags)
  return mode === 'kafka' ? new KafkaRunStore(stateDir, topic, connectionFor) : new LocalRunStore(stateDir)
}

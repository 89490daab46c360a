/**
 * Run state records (`--state kafka`): every checkpoint write is mirrored to the control topic under
 * `run/<runId>` (compacted, so the latest checkpoint of every run stays), which lets an on-call
 * engineer on another machine list, inspect and `kreorg resume` a run whose laptop died. See
 * docs/control-protocol.md, "Run state records".
 */
import type {RawControlRecord} from '../../kafka/control-log.js'

import {describeCause} from '../../core/errors.js'
import {redact} from '../../core/redact.js'
import {type Checkpoint, parseCheckpoint} from '../checkpoint.js'

export const RUN_STATE_VERSION = 1
export const RUN_KEY_PREFIX = 'run/'

export function runStateKey(runId: string): string {
  return `${RUN_KEY_PREFIX}${runId}`
}

/** The value under `run/<runId>`: the checkpoint exactly as the local file holds it (redacted). */
export interface RunStateRecord {
  v: typeof RUN_STATE_VERSION
  type: 'run'
  runId: string
  /** Writer's wall clock, ms since the epoch (informational; the checkpoint's updatedAt orders copies). */
  at: number
  checkpoint: Checkpoint
}

export function encodeRunState(checkpoint: Checkpoint, now: number = Date.now()): Buffer {
  const record: RunStateRecord = {v: RUN_STATE_VERSION, type: 'run', runId: checkpoint.runId, at: now, checkpoint: redact(checkpoint)}
  return Buffer.from(JSON.stringify(record))
}

/** Where a Kafka copy is "stored", for messages and `status`'s File line. */
export function kafkaLocation(topic: string, runId: string): string {
  return `kafka:${topic}/${runStateKey(runId)}`
}

export type RemoteRun = {runId: string; offset: number; checkpoint: Checkpoint} | {runId: string; offset: number; problem: string}

export function parseRunRecord(runId: string, record: RawControlRecord, topic: string): RemoteRun {
  const where = kafkaLocation(topic, runId)
  try {
    const raw = JSON.parse(record.value!.toString('utf8')) as Partial<RunStateRecord> | null
    if (!raw || raw.v !== RUN_STATE_VERSION || raw.type !== 'run') {
      return {runId, offset: record.offset, problem: `${where}: not a version ${RUN_STATE_VERSION} run record`}
    }
    const checkpoint = parseCheckpoint(JSON.stringify(raw.checkpoint), where)
    if (checkpoint.runId !== runId) return {runId, offset: record.offset, problem: `${where}: holds run ${checkpoint.runId}`}
    return {runId, offset: record.offset, checkpoint}
  } catch (error) {
    return {runId, offset: record.offset, problem: describeCause(error)}
  }
}

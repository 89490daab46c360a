import type {ConnectionOptions} from '../../kafka/types.js'
import type {Checkpoint, RunStatus, RunSummary} from '../checkpoint.js'
import type {HeldLock} from '../lock.js'
import type {RecordedEnvironment} from '../types.js'

export const STATE_MODES = ['local', 'kafka'] as const
export type StateMode = (typeof STATE_MODES)[number]

/** Where a listed run was found (`--state kafka` only; local listings have no `source`). */
export type RunSource = 'local' | 'kafka' | 'both'
export type StoredRunSummary = RunSummary & {source?: RunSource}

/** One run as `status` shows it: the newest copy, where it came from, and its status as judged from here. */
export interface StoredRun {
  checkpoint: Checkpoint
  /** A file path, or `kafka:<topic>/run/<runId>` for a copy read from the control topic. */
  location: string
  /** Effective status: a run whose process is gone (here, or on a host whose lease lapsed) is interrupted. */
  status: RunStatus
}

/** What `checkout` did before a resume/abort: which copy the local working file now holds. */
export interface CheckoutOutcome {
  /** 'kafka': the Kafka copy was newer (or the only one) and now is the local file; 'local': the local file is current. */
  from: 'kafka' | 'local'
  file: string
  /** null when the local file is damaged: it is left alone and the engine's refusal names it. */
  checkpoint: Checkpoint | null
}

/**
 * How a store reaches Kafka: given what a run recorded (empty when there is no run yet), the
 * connection the command would use — its flags, env and profile, else the recorded brokers.
 */
export type ConnectionFor = (recorded: RecordedEnvironment) => ConnectionOptions

/**
 * Where runs live. The engine keeps its working copy through it (write, load, lock); commands list,
 * show and pick runs through it. Local files always hold the working copy; a shared store also makes
 * runs reachable from other machines (`--state kafka`). Get one with `runStoreFor` (./index.ts).
 */
export interface RunStore {
  readonly mode: StateMode
  readonly stateDir: string
  /** Where runs are looked for, for messages: the state dir, plus the control topic when shared. */
  readonly where: string
  /** Every run, newest first; an unreadable checkpoint is listed with its problem, never hidden. */
  list(stepsOf?: (runbook: string) => number | null): Promise<StoredRunSummary[]>
  /** The newest run `accept` takes; a usage error (exit 2) when there is none. */
  latest(accept?: (run: StoredRunSummary) => boolean): Promise<string>
  /** The newest copy of one run, never written (for `status`). */
  read(runId: string): Promise<StoredRun>
  /**
   * Before resume/abort: brings the local working copy up to date and refuses a run that is live on
   * another host (exit 6). Null when there is nothing to bring (a local-only store).
   */
  checkout(runId: string): Promise<CheckoutOutcome | null>
  /** The working copy the engine continues (refusals name the file; nothing is written). */
  load(runId: string): Promise<{file: string; checkpoint: Checkpoint}>
  /**
   * Every checkpoint write of a live run; returns the local file. A local failure throws (the step
   * fails); a failed shared copy is only a `warn`ing, since the local file can still be resumed here.
   */
  write(checkpoint: Checkpoint, warn: (message: string) => void): Promise<string>
  /** The per-topic lock of this machine (exit 6 while another live run holds it). */
  lock(key: string, runId: string, warn: (message: string) => void): Promise<HeldLock>
  close(): Promise<void>
}

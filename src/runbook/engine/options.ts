import type {KreorgError} from '../../core/errors.js'
import type {ConnectionOptions} from '../../kafka/types.js'
import type {RunStore} from '../store/types.js'
import type {AnyRunbook, RecordedEnvironment, RunListener} from '../types.js'

import {LocalRunStore} from '../store/local.js'

export interface EngineOptions {
  stateDir: string
  /** Where checkpoints and locks go (`--state kafka` mirrors them); defaults to the files in `stateDir`. */
  store?: RunStore
  listener: RunListener
  /** How ctx.confirm asks (the UI decides: prompt, --yes, or a usage error off a terminal). */
  confirm(question: string, details?: unknown): Promise<boolean>
  /**
   * How to reach Kafka. On resume/abort it gets what the checkpoint recorded, so a command can
   * fall back to the original brokers when none are given.
   */
  connection: ConnectionOptions | ((recorded: RecordedEnvironment) => ConnectionOptions)
  /** The runbooks a checkpoint may name (resume/abort): the CLI hands its registry in. */
  findRunbook(name: string): AnyRunbook | undefined
  /** Aborting it interrupts the run (SIGINT/SIGTERM). */
  signal?: AbortSignal
  /** The exact command that resumes a run, printed on interrupt. */
  resumeCommand?(runId: string): string
  /** The exact command that continues an interrupted abort. */
  abortCommand?(runId: string): string
  /** How long an interrupted step may take to settle before the engine stops waiting for it. */
  graceMs?: number
  /** Dry runs: no lock, no checkpoint, nothing to resume. */
  ephemeral?: boolean
  /** Stop successfully after this step (with `ephemeral`, e.g. a dry run that ends after `plan`). */
  stopAfter?: string
  /** Fixed run id (tests). */
  runId?: string
}

export type RunOutcome =
  | {status: 'done'; runId: string; checkpoint: string | null; results: Record<string, unknown>; alreadyDone: boolean}
  | {status: 'failed'; runId: string; checkpoint: string | null; error: KreorgError}
  | {status: 'interrupted'; runId: string; checkpoint: string | null; resumeCommand: string}
  | {status: 'aborted'; runId: string; checkpoint: string; undone: string[]}

/** The store a run's checkpoints and lock go through. */
export function storeOf(options: Pick<EngineOptions, 'stateDir' | 'store'>): RunStore {
  return options.store ?? new LocalRunStore(options.stateDir)
}

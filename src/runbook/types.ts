import type {ConnectionOptions} from '../kafka/types.js'

/**
 * What a command hands to `runbook.setup`: how to reach Kafka (secrets live only here, never in a
 * checkpoint), plus where the run's state lives. Built fresh on every start and resume.
 */
export interface RunEnvironment {
  connection: ConnectionOptions
  stateDir: string
  runId: string
}

/** Non-secret connection facts stored in the checkpoint so `resume`/`abort` work without flags. */
export interface RecordedEnvironment {
  brokers?: string[]
  clientId?: string
  [key: string]: unknown
}

/**
 * What each step returns, by step id (a runbook declares it, e.g. `GrowResults`). Results come back
 * from the checkpoint on resume as the step recorded them, so the map is the contract between steps.
 */
export type StepResults = Record<string, unknown>

export interface StepContext<I, S, R extends object = StepResults> {
  runId: string
  /** JSON-serializable run inputs (never secrets). */
  inputs: I
  /** Results of finished steps, by step id (restored from the checkpoint on resume). Skipped steps are absent. */
  results: Readonly<Partial<R>>
  /** Live non-serializable things built by `runbook.setup` (Kafka cluster, control channel). */
  services: S
  /** Aborted on SIGINT/SIGTERM or engine abort. */
  signal: AbortSignal
  /** -> 'step:progress' event */
  progress(message: string, data?: Record<string, unknown>): void
  /** -> 'warning' event */
  warn(message: string): void
  /**
   * --yes => true; non-interactive without --yes => KreorgError('usage', 'pass --yes ...');
   * declined => false, the caller decides (usually `throw new KreorgError('declined', ...)`).
   */
  confirm(question: string, details?: unknown): Promise<boolean>
  /** True when this run was resumed from a checkpoint. */
  resumed: boolean
  /** The step being run (undefined in `revalidate`). */
  step: string | undefined
}

export interface Step<I, S, R extends object = StepResults> {
  /** Stable: checkpoints and --json events use it. */
  id: string
  title: string
  /** JSON-serializable result, recorded only after success. */
  run(ctx: StepContext<I, S, R>): Promise<unknown>
  /** true => already done: recorded as skipped, `run` is not called. */
  check?(ctx: StepContext<I, S, R>): Promise<boolean>
  undo?(ctx: StepContext<I, S, R>): Promise<void>
  /** For steps without undo whose effect stays: what cannot be undone (shown by abort). */
  irreversible?: string
}

/**
 * A step of a runbook whose results map `R` is declared: its id is a key of `R` and `run` must
 * return exactly that key's type, so what later steps read from `ctx.results` is what was recorded.
 */
export type DeclaredStep<I, S, R extends object> = {
  [K in keyof R & string]: Step<I, S, R> & {id: K; run(ctx: StepContext<I, S, R>): Promise<R[K]>}
}[keyof R & string]

export interface RunbookServices<S> {
  services: S
  close(): Promise<void>
}

export interface Runbook<I, S, E = RunEnvironment, R extends object = StepResults> {
  name: string
  version: number
  steps: ReadonlyArray<Step<I, S, R>>
  /** e.g. the topic name: names the run (run id, `runs`) and, without `lockKeys`, its local lock. */
  lockKey(inputs: I): string
  /** The local locks a run takes when it works on several things (e.g. each topic of a set). */
  lockKeys?(inputs: I): string[]
  /** One-line summary for `runs`. */
  describe(inputs: I): string
  setup(inputs: I, env: E): Promise<RunbookServices<S>>
  /**
   * Checks the inputs (e.g. with a zod schema): those a command hands to a new run, and those read
   * back from a checkpoint before resume/abort. Throw to refuse; without it inputs are trusted as they are.
   */
  parseInputs?(raw: unknown): I
  /**
   * On resume, before continuing: may return a finished step id from which to redo (e.g. the pause
   * lease lapsed while the orchestrator was dead). Results of that step and later are dropped.
   */
  revalidate?(ctx: StepContext<I, S, R>): Promise<string | undefined>
  /** Called when a step fails (not on interrupt), with the failed step id. */
  onFailure?(ctx: StepContext<I, S, R>, failedStep: string, error: unknown): Promise<void>
  /** What the `run:done` event carries as `summary` (e.g. grow's post-check result); absent: no summary. */
  summarize?(results: Readonly<Partial<R>>): unknown
}

/**
 * A runbook with its type parameters erased: what the registry and the engine's lookups hold.
 * (Method parameters are bivariant, so any `Runbook<I, S>` is assignable to it.)
 */
export type AnyRunbook = Runbook<unknown, unknown, unknown>

// ---------------------------------------------------------------------------------------------
// Events: the engine's only output. Also the NDJSON lines of `--json`, so every field is stable.

export interface ErrorInfo {
  code: string
  exitCode: number
  message: string
  step: string | null
  /** The underlying error's message, when the failure wrapped one. */
  cause: string | null
  suggestions: string[]
}

interface EventBase {
  runId: string
  /** null for run-level events. */
  step: string | null
  /** ISO-8601 time the event was emitted. */
  ts: string
}

export type StepState = 'pending' | 'done' | 'skipped' | 'failed' | 'undone'

export type RunEvent =
  | (EventBase & {
      event: 'run:start'
      runbook: string
      description: string
      resumed: boolean
      checkpoint: string | null
      steps: Array<{id: string; title: string; state: StepState}>
    })
  | (EventBase & {event: 'step:start'; title: string})
  | (EventBase & {event: 'step:progress'; message: string; data?: Record<string, unknown>})
  | (EventBase & {event: 'step:skip'; reason: 'check' | 'checkpoint'; message: string})
  | (EventBase & {event: 'step:done'; durationMs: number; result: unknown})
  | (EventBase & {event: 'step:fail'; durationMs: number; error: ErrorInfo})
  | (EventBase & {event: 'warning'; message: string})
  | (EventBase & {event: 'confirm'; question: string; details?: unknown; answer: boolean})
  | (EventBase & {event: 'redo'; message: string})
  | (EventBase & {event: 'undo:start'; title: string})
  | (EventBase & {event: 'undo:done'; durationMs: number})
  | (EventBase & {event: 'undo:fail'; error: ErrorInfo})
  | (EventBase & {event: 'run:done'; durationMs: number; alreadyDone: boolean; summary?: unknown})
  | (EventBase & {event: 'run:fail'; error: ErrorInfo})
  | (EventBase & {event: 'run:interrupted'; resumeCommand: string})
  | (EventBase & {event: 'run:aborted'; undone: string[]; irreversible: string[]})

export type RunEventName = RunEvent['event']
export type RunListener = (event: RunEvent) => void

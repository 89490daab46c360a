import type {ConnectionOptions} from '../kafka/types.js'
import {
  type Checkpoint,
  CHECKPOINT_SCHEMA_VERSION,
  errorInfoFrom,
  hostName,
  loadCheckpoint,
  newRunId,
  runbookHash,
  validateAgainstRunbook,
  writeCheckpoint,
} from './checkpoint.js'
import {KreorgError, describeCause, isKreorgError} from './errors.js'
import {type HeldLock, acquireLock} from './lock.js'
import type {AnyRunbook, ErrorInfo, RunEnvironment, RunEvent, RunListener, Step, StepContext, StepState} from './types.js'

/** Non-secret connection facts stored in the checkpoint so `resume`/`abort` work without flags. */
export interface RecordedEnvironment {
  brokers?: string[]
  clientId?: string
  [key: string]: unknown
}

export interface EngineOptions {
  stateDir: string
  listener: RunListener
  /** How ctx.confirm asks (the UI decides: prompt, --yes, or a usage error off a terminal). */
  confirm(question: string, details?: unknown): Promise<boolean>
  /**
   * How to reach Kafka. On resume/abort it gets what the checkpoint recorded, so a command can
   * fall back to the original brokers when none are given.
   */
  connection: ConnectionOptions | ((recorded: RecordedEnvironment) => ConnectionOptions)
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
  /** Runbook lookup for resume/abort; defaults to the registry in runbooks/index.ts. */
  findRunbook?(name: string): AnyRunbook | undefined
  /** Fixed run id (tests). */
  runId?: string
  /**
   * A second copy of every checkpoint write (`--state kafka`: the control topic). Written after the
   * local file; a failure is a warning, never a failed run (the local file is the working copy).
   */
  mirror?: CheckpointMirror
}

export interface CheckpointMirror {
  /** Where copies go, for the warning when a write fails. */
  readonly topic: string
  write(checkpoint: Checkpoint, connection: ConnectionOptions): Promise<void>
}

export type RunOutcome =
  | {status: 'done'; runId: string; checkpoint: string | null; results: Record<string, unknown>; alreadyDone: boolean}
  | {status: 'failed'; runId: string; checkpoint: string | null; error: KreorgError}
  | {status: 'interrupted'; runId: string; checkpoint: string | null; resumeCommand: string}
  | {status: 'aborted'; runId: string; checkpoint: string; undone: string[]}

const DEFAULT_GRACE_MS = 1_500
const CLOSE_TIMEOUT_MS = 5_000

class Interrupted extends Error {
  constructor() {
    super('interrupted')
  }
}

function now(): string {
  return new Date().toISOString()
}

/** A failure attributed to its step; foreign errors keep their own message as the cause. */
export function toStepError(error: unknown, step: Step<unknown, unknown>): KreorgError {
  if (isKreorgError(error)) return error.inStep(step.id)
  return new KreorgError('unexpected', `step "${step.title}" failed unexpectedly`, {step: step.id, cause: error})
}

function errorInfo(error: KreorgError): ErrorInfo {
  return errorInfoFrom(error)
}

function jsonClone(value: unknown, step: string): unknown {
  if (value === undefined) return null
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch (error) {
    throw new KreorgError('unexpected', `step ${step} returned a result that is not JSON-serializable`, {step, cause: error})
  }
}

/** Waits for `work`; once `signal` aborts, gives it `graceMs` to settle, then rejects with Interrupted. */
function settleOrInterrupt<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const onAbort = () => {
      timer = setTimeout(() => reject(new Interrupted()), graceMs)
    }
    const cleanup = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (value) => {
        cleanup()
        resolve(value)
      },
      (error: unknown) => {
        cleanup()
        reject(error)
      },
    )
  })
}

async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

async function defaultFindRunbook(name: string): Promise<AnyRunbook | undefined> {
  // Imported lazily: runbooks import step code, which imports this package's types.
  const registry = await import('../../runbooks/index.js')
  return registry.findRunbook(name)
}

function recordedFrom(connection: ConnectionOptions): RecordedEnvironment {
  return {brokers: [...connection.brokers], clientId: connection.clientId}
}

/**
 * One live run: the checkpoint in memory, its lock, the runbook's services and the event emitter.
 * startRun/resumeRun/abortRun build one and drive it.
 */
class Execution {
  readonly controller = new AbortController()
  private lock: HeldLock | undefined
  private closeServices: (() => Promise<void>) | undefined
  services: unknown
  file: string | null = null
  private readonly detachSignal: () => void
  /** Set by setup(): the mirror writes with the connection the run really uses. */
  private connection: ConnectionOptions | undefined
  private mirrorFailing = false

  constructor(
    readonly runbook: AnyRunbook,
    readonly inputs: unknown,
    readonly checkpoint: Checkpoint,
    readonly options: EngineOptions,
    readonly resumed: boolean,
  ) {
    const outer = options.signal
    const forward = () => this.controller.abort(outer?.reason)
    if (outer?.aborted) forward()
    outer?.addEventListener('abort', forward, {once: true})
    this.detachSignal = () => outer?.removeEventListener('abort', forward)
  }

  get runId(): string {
    return this.checkpoint.runId
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  emit(event: RunEvent): void {
    try {
      this.options.listener(event)
    } catch {
      // A broken renderer must not break the run; the checkpoint is the source of truth.
    }
  }

  base(step: string | null) {
    return {runId: this.runId, step, ts: now()}
  }

  async takeLock(): Promise<void> {
    if (this.options.ephemeral) return
    this.lock = await acquireLock(this.options.stateDir, this.checkpoint.lockKey, this.runId, (message) =>
      this.emit({...this.base(null), event: 'warning', message}),
    )
  }

  async setup(): Promise<void> {
    const recorded = this.checkpoint.environment as RecordedEnvironment
    const connection = typeof this.options.connection === 'function' ? this.options.connection(recorded) : this.options.connection
    this.checkpoint.environment = recordedFrom(connection)
    this.connection = connection
    const env: RunEnvironment = {connection, stateDir: this.options.stateDir, runId: this.runId}
    const built = await settleOrInterrupt(this.runbook.setup(this.inputs, env), this.signal, 0).catch((error: unknown) => {
      if (error instanceof Interrupted || this.signal.aborted) {
        throw new KreorgError('interrupted', 'interrupted while connecting', {cause: error})
      }
      throw error
    })
    this.services = built.services
    this.closeServices = () => built.close()
  }

  async save(): Promise<void> {
    this.checkpoint.updatedAt = now()
    if (this.options.ephemeral) return
    this.file = await writeCheckpoint(this.options.stateDir, this.checkpoint)
    await this.mirrorSave()
  }

  private async mirrorSave(): Promise<void> {
    const mirror = this.options.mirror
    if (!mirror || !this.connection) return
    try {
      await mirror.write(this.checkpoint, this.connection)
      if (this.mirrorFailing) this.emit({...this.base(null), event: 'warning', message: `run state is mirrored to ${mirror.topic} again`})
      this.mirrorFailing = false
    } catch (error) {
      // Warn once per streak: the run goes on with the local checkpoint, which `resume` on this host can use.
      if (!this.mirrorFailing) {
        this.emit({
          ...this.base(null),
          event: 'warning',
          message: `could not mirror the checkpoint to ${mirror.topic} (${describeCause(error)}); only ${this.file} is current`,
        })
      }
      this.mirrorFailing = true
    }
  }

  results(): Record<string, unknown> {
    const results: Record<string, unknown> = {}
    for (const record of this.checkpoint.steps) if (record.state === 'done') results[record.id] = record.result
    return results
  }

  context(step: string | undefined): StepContext<unknown, unknown> {
    const stepOrNull = step ?? null
    return {
      runId: this.runId,
      inputs: this.inputs,
      results: Object.freeze(this.results()),
      services: this.services,
      signal: this.signal,
      resumed: this.resumed,
      step,
      progress: (message, data) =>
        this.emit({...this.base(stepOrNull), event: 'step:progress', message, ...(data === undefined ? {} : {data})}),
      warn: (message) => this.emit({...this.base(stepOrNull), event: 'warning', message}),
      confirm: async (question, details) => {
        const answer = await this.options.confirm(question, details)
        this.emit({...this.base(stepOrNull), event: 'confirm', question, ...(details === undefined ? {} : {details}), answer})
        return answer
      },
    }
  }

  stepStates(): Array<{id: string; title: string; state: StepState}> {
    const recorded = new Map(this.checkpoint.steps.map((s) => [s.id, s.state]))
    return this.runbook.steps.map((s) => ({id: s.id, title: s.title, state: recorded.get(s.id) ?? 'pending'}))
  }

  emitStart(): void {
    this.emit({
      ...this.base(null),
      event: 'run:start',
      runbook: this.runbook.name,
      description: this.checkpoint.description,
      resumed: this.resumed,
      checkpoint: this.file,
      steps: this.stepStates(),
    })
    for (const record of this.checkpoint.steps) {
      this.emit({...this.base(record.id), event: 'step:skip', reason: 'checkpoint', message: `${record.state} in an earlier attempt`})
    }
  }

  async interrupt(step: string | null, command: string): Promise<RunOutcome> {
    this.checkpoint.status = this.checkpoint.status === 'aborting' ? 'aborting' : 'interrupted'
    this.checkpoint.currentStep = step
    await this.save()
    this.emit({...this.base(step), event: 'run:interrupted', resumeCommand: command})
    return {status: 'interrupted', runId: this.runId, checkpoint: this.file, resumeCommand: command}
  }

  resumeCommand(): string {
    return this.options.resumeCommand?.(this.runId) ?? `kreorg resume ${this.runId}`
  }

  /** Runs the steps not yet recorded, in order. */
  async runRemaining(): Promise<RunOutcome> {
    const started = Date.now()
    const graceMs = this.options.graceMs ?? DEFAULT_GRACE_MS
    for (const step of this.runbook.steps.slice(this.checkpoint.steps.length)) {
      if (this.signal.aborted) return this.interrupt(null, this.resumeCommand())
      this.checkpoint.currentStep = step.id
      this.checkpoint.status = 'running'
      const ctx = this.context(step.id)
      const startedAt = now()
      const t0 = Date.now()
      try {
        // Inside the try: a checkpoint that can no longer be written (disk full, dir gone) fails the
        // step, so the runbook's failure path runs (grow resumes its producers) instead of leaving them paused.
        await this.save()
        this.emit({...this.base(step.id), event: 'step:start', title: step.title})
        const alreadyDone = step.check ? await settleOrInterrupt(step.check(ctx), this.signal, graceMs) : false
        if (alreadyDone) {
          this.checkpoint.steps.push({id: step.id, state: 'skipped', result: null, startedAt, finishedAt: now(), durationMs: Date.now() - t0})
          this.checkpoint.currentStep = null
          await this.save()
          this.emit({...this.base(step.id), event: 'step:skip', reason: 'check', message: 'already done'})
        } else {
          const result = jsonClone(await settleOrInterrupt(step.run(ctx), this.signal, graceMs), step.id)
          const durationMs = Date.now() - t0
          this.checkpoint.steps.push({id: step.id, state: 'done', result, startedAt, finishedAt: now(), durationMs})
          this.checkpoint.currentStep = null
          // Recorded before it is announced: a `step:done` event means the checkpoint has it.
          await this.save()
          this.emit({...this.base(step.id), event: 'step:done', durationMs, result})
        }
      } catch (error) {
        if (error instanceof Interrupted || this.signal.aborted) return this.interrupt(step.id, this.resumeCommand())
        return this.fail(step, error, Date.now() - t0)
      }
      if (this.options.stopAfter === step.id) break
    }
    this.checkpoint.status = 'done'
    this.checkpoint.currentStep = null
    this.checkpoint.failure = null
    await this.save()
    this.emit({...this.base(null), event: 'run:done', durationMs: Date.now() - started, alreadyDone: false})
    return {status: 'done', runId: this.runId, checkpoint: this.file, results: this.results(), alreadyDone: false}
  }

  async fail(step: Step<unknown, unknown>, thrown: unknown, durationMs: number): Promise<RunOutcome> {
    const error = toStepError(thrown, step)
    this.emit({...this.base(step.id), event: 'step:fail', durationMs, error: errorInfo(error)})
    if (this.runbook.onFailure) {
      try {
        await this.runbook.onFailure(this.context(step.id), step.id, thrown)
      } catch (hookError) {
        this.emit({...this.base(step.id), event: 'warning', message: `clean-up after the failure also failed: ${describeCause(hookError)}`})
      }
    }
    this.checkpoint.status = 'failed'
    this.checkpoint.currentStep = step.id
    this.checkpoint.failure = {...errorInfo(error), at: now()}
    await this.save()
    this.emit({...this.base(step.id), event: 'run:fail', error: errorInfo(error)})
    return {status: 'failed', runId: this.runId, checkpoint: this.file, error}
  }

  async close(): Promise<void> {
    this.detachSignal()
    if (this.closeServices) await withTimeout(this.closeServices(), CLOSE_TIMEOUT_MS)
    await this.lock?.release()
  }
}

/** Starts a new run of `runbook`. Throws KreorgError for refusals before anything ran (lock held: exit 6). */
export async function startRun<I, S>(runbook: import('./types.js').Runbook<I, S>, inputs: I, options: EngineOptions): Promise<RunOutcome> {
  const erased = runbook as unknown as AnyRunbook
  const lockKey = runbook.lockKey(inputs)
  const runId = options.runId ?? newRunId(runbook.name, lockKey)
  const created = now()
  const checkpoint: Checkpoint = {
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    runId,
    runbook: {name: runbook.name, version: runbook.version, hash: runbookHash(erased)},
    description: runbook.describe(inputs),
    lockKey,
    inputs: jsonClone(inputs, 'inputs'),
    environment: {},
    status: 'running',
    currentStep: null,
    steps: [],
    undone: [],
    failure: null,
    createdAt: created,
    updatedAt: created,
    host: hostName(),
    pid: process.pid,
    attempts: 1,
  }
  const execution = new Execution(erased, inputs, checkpoint, options, false)
  try {
    await execution.takeLock()
    await execution.setup()
    await execution.save()
    execution.emitStart()
    return await execution.runRemaining()
  } finally {
    await execution.close()
  }
}

interface LoadedRun {
  file: string
  checkpoint: Checkpoint
  runbook: AnyRunbook
  inputs: unknown
}

/** Reads and validates a run without changing anything (resume, abort and status share it). */
export async function loadRun(runId: string, options: Pick<EngineOptions, 'stateDir' | 'findRunbook'>): Promise<LoadedRun> {
  const {file, checkpoint} = await loadCheckpoint(options.stateDir, runId)
  const name = checkpoint.runbook.name
  const runbook = options.findRunbook ? options.findRunbook(name) : await defaultFindRunbook(name)
  if (!runbook) {
    throw new KreorgError('checkpoint', `run ${runId} uses runbook "${name}", which this kreorg does not have`, {
      suggestions: ['finish the run with the kreorg version that started it'],
    })
  }
  validateAgainstRunbook(checkpoint, runbook, file)
  let inputs: unknown = checkpoint.inputs
  if (runbook.parseInputs) {
    try {
      inputs = runbook.parseInputs(checkpoint.inputs)
    } catch (error) {
      throw new KreorgError('checkpoint', `checkpoint ${file} holds inputs runbook ${name} rejects: ${describeCause(error)}`, {cause: error})
    }
  }
  return {file, checkpoint, runbook, inputs}
}

/** Continues a run from its last finished step. Refusals (exit 2/6) leave the checkpoint untouched. */
export async function resumeRun(runId: string, options: EngineOptions): Promise<RunOutcome> {
  const {checkpoint, runbook, inputs, file} = await loadRun(runId, options)
  if (checkpoint.status === 'done') {
    options.listener({runId, step: null, ts: now(), event: 'run:done', durationMs: 0, alreadyDone: true})
    return {status: 'done', runId, checkpoint: file, results: {}, alreadyDone: true}
  }
  if (checkpoint.status === 'aborted' || checkpoint.status === 'aborting') {
    throw new KreorgError('usage', `run ${runId} was ${checkpoint.status === 'aborted' ? 'aborted' : 'being aborted'}; it cannot be resumed`, {
      suggestions: checkpoint.status === 'aborting' ? [`finish the abort with \`kreorg abort ${runId}\``] : ['start a new run'],
    })
  }
  const execution = new Execution(runbook, inputs, checkpoint, {...options, ephemeral: false}, true)
  execution.file = file
  try {
    await execution.takeLock()
    await execution.setup()
    checkpoint.status = 'running'
    checkpoint.pid = process.pid
    checkpoint.host = hostName()
    checkpoint.attempts += 1
    checkpoint.failure = null
    if (runbook.revalidate) {
      const redoFrom = await runbook.revalidate(execution.context(undefined))
      if (redoFrom !== undefined) {
        const index = checkpoint.steps.findIndex((s) => s.id === redoFrom)
        if (index < 0) {
          throw new KreorgError('unexpected', `runbook ${runbook.name} asked to redo from "${redoFrom}", which is not a finished step`)
        }
        const dropped = checkpoint.steps.splice(index).map((s) => s.id)
        execution.emit({...execution.base(redoFrom), event: 'redo', message: `redoing ${dropped.join(', ')}`})
      }
    }
    await execution.save()
    execution.emitStart()
    return await execution.runRemaining()
  } finally {
    await execution.close()
  }
}

export interface AbortPlan {
  runId: string
  /** Finished steps whose undo will run, in the order it runs (reverse). */
  undo: Array<{id: string; title: string; partial: boolean}>
  /** Finished steps without undo whose effects stay. */
  irreversible: Array<{id: string; title: string; what: string}>
  /** When something irreversible is done, abort finishes these remaining steps instead. */
  rollForward: Array<{id: string; title: string}>
  /** Human-readable explanation, also the confirmation question's details. */
  explanation: string[]
}

/** What `abort` would do; read-only. */
export function planAbort(loaded: LoadedRun): AbortPlan {
  const {checkpoint, runbook} = loaded
  const byId = new Map(runbook.steps.map((s) => [s.id, s]))
  const done = checkpoint.steps.filter((s) => s.state === 'done').map((s) => byId.get(s.id)!)
  const irreversible = done.filter((s) => !s.undo && s.irreversible).map((s) => ({id: s.id, title: s.title, what: s.irreversible!}))
  const explanation: string[] = []
  if (irreversible.length > 0) {
    const rollForward = runbook.steps.slice(checkpoint.steps.length).map((s) => ({id: s.id, title: s.title}))
    for (const item of irreversible) explanation.push(`${item.id} cannot be undone: ${item.what}`)
    explanation.push(
      rollForward.length > 0
        ? `abort will instead finish the run: ${rollForward.map((s) => s.id).join(', ')} (the same as \`kreorg resume ${checkpoint.runId}\`)`
        : 'every step already finished; nothing is left to do',
    )
    return {runId: checkpoint.runId, undo: [], irreversible, rollForward, explanation}
  }
  const alreadyUndone = new Set(checkpoint.undone.map((u) => u.id))
  const candidates: Array<{step: Step<unknown, unknown>; partial: boolean}> = done.map((step) => ({step, partial: false}))
  // The step that was running or failed may have half-happened; undo is idempotent, so run it too.
  const current = checkpoint.currentStep ? byId.get(checkpoint.currentStep) : undefined
  if (current && !checkpoint.steps.some((s) => s.id === current.id)) candidates.push({step: current, partial: true})
  const undo = candidates
    .filter(({step}) => step.undo && !alreadyUndone.has(step.id))
    .reverse()
    .map(({step, partial}) => ({id: step.id, title: step.title, partial}))
  for (const item of undo) explanation.push(`undo ${item.id}${item.partial ? ' (it may have partly run)' : ''}`)
  if (undo.length === 0) explanation.push('no finished step has anything to undo')
  return {runId: checkpoint.runId, undo, irreversible: [], rollForward: [], explanation}
}

/**
 * `kreorg abort`: undoes finished steps in reverse; when a finished step cannot be undone, explains
 * it and finishes the remaining steps instead. Asks first (options.confirm; --yes answers it).
 */
export async function abortRun(runId: string, options: EngineOptions): Promise<RunOutcome> {
  const loaded = await loadRun(runId, options)
  const {checkpoint, runbook, inputs, file} = loaded
  if (checkpoint.status === 'done') {
    throw new KreorgError('usage', `run ${runId} already finished; there is nothing to abort`)
  }
  if (checkpoint.status === 'aborted') {
    options.listener({runId, step: null, ts: now(), event: 'run:aborted', undone: checkpoint.undone.map((u) => u.id), irreversible: []})
    return {status: 'aborted', runId, checkpoint: file, undone: checkpoint.undone.map((u) => u.id)}
  }
  const plan = planAbort(loaded)
  const execution = new Execution(runbook, inputs, checkpoint, {...options, ephemeral: false}, true)
  execution.file = file
  try {
    await execution.takeLock()
    // What cannot be undone is a warning, shown even with --yes; the undo list is in the question.
    if (plan.irreversible.length > 0) {
      for (const line of plan.explanation) execution.emit({...execution.base(null), event: 'warning', message: line})
    }
    const question =
      plan.irreversible.length > 0
        ? `Run ${runId} cannot be rolled back. Finish it instead?`
        : `Abort run ${runId}${plan.undo.length > 0 ? ` and undo ${plan.undo.map((u) => u.id).join(', ')}` : ''}?`
    const answer = await options.confirm(question, plan)
    execution.emit({...execution.base(null), event: 'confirm', question, details: plan, answer})
    if (!answer) throw new KreorgError('declined', `abort of run ${runId} declined; nothing changed`)
    await execution.setup()
    checkpoint.pid = process.pid
    checkpoint.host = hostName()
    checkpoint.attempts += 1
    if (plan.irreversible.length > 0) {
      checkpoint.status = 'running'
      checkpoint.failure = null
      await execution.save()
      execution.emitStart()
      return await execution.runRemaining()
    }
    checkpoint.status = 'aborting'
    await execution.save()
    const abortCommand = options.abortCommand?.(runId) ?? `kreorg abort ${runId}`
    for (const item of plan.undo) {
      if (execution.signal.aborted) return await execution.interrupt(null, abortCommand)
      const step = runbook.steps.find((s) => s.id === item.id)!
      execution.emit({...execution.base(step.id), event: 'undo:start', title: step.title})
      const t0 = Date.now()
      try {
        await settleOrInterrupt(step.undo!(execution.context(step.id)), execution.signal, options.graceMs ?? DEFAULT_GRACE_MS)
      } catch (thrown) {
        if (thrown instanceof Interrupted || execution.signal.aborted) return await execution.interrupt(step.id, abortCommand)
        const error = toStepError(thrown, step)
        checkpoint.failure = {...errorInfo(error), at: now()}
        await execution.save()
        execution.emit({...execution.base(step.id), event: 'undo:fail', error: errorInfo(error)})
        execution.emit({...execution.base(step.id), event: 'run:fail', error: errorInfo(error)})
        return {status: 'failed', runId, checkpoint: file, error}
      }
      checkpoint.undone.push({id: step.id, at: now()})
      await execution.save()
      execution.emit({...execution.base(step.id), event: 'undo:done', durationMs: Date.now() - t0})
    }
    checkpoint.status = 'aborted'
    checkpoint.currentStep = null
    checkpoint.failure = null
    await execution.save()
    const undone = checkpoint.undone.map((u) => u.id)
    execution.emit({...execution.base(null), event: 'run:aborted', undone, irreversible: []})
    return {status: 'aborted', runId, checkpoint: file, undone}
  } finally {
    await execution.close()
  }
}

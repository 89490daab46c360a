import type {ConnectionOptions} from '../../kafka/types.js'
import type {HeldLock} from '../lock.js'
import type {RunStore} from '../store/types.js'
import type {AnyRunbook, ErrorInfo, RecordedEnvironment, RunEnvironment, RunEvent, Step, StepContext, StepState} from '../types.js'

import {isKreorgError, KreorgError} from '../../core/errors.js'
import {type Checkpoint, errorInfoFrom} from '../checkpoint.js'
import {type EngineOptions, type RunOutcome, storeOf} from './options.js'
import {CLOSE_TIMEOUT_MS, followSignal, Interrupted, settleOrInterrupt, withTimeout} from './signals.js'

export function now(): string {
  return new Date().toISOString()
}

/** A failure attributed to its step; foreign errors keep their own message as the cause. */
export function toStepError(error: unknown, step: Step<unknown, unknown>): KreorgError {
  if (isKreorgError(error)) return error.inStep(step.id)
  return new KreorgError('unexpected', `step "${step.title}" failed unexpectedly`, {step: step.id, cause: error})
}

export function errorInfo(error: KreorgError): ErrorInfo {
  return errorInfoFrom(error)
}

export function jsonClone(value: unknown, step: string): unknown {
  if (value === undefined) return null
  try {
    return JSON.parse(JSON.stringify(value)) as unknown
  } catch (error) {
    throw new KreorgError('unexpected', `step ${step} returned a result that is not JSON-serializable`, {step, cause: error})
  }
}

function recordedFrom(connection: ConnectionOptions): RecordedEnvironment {
  return {brokers: [...connection.brokers], clientId: connection.clientId}
}

/**
 * One live run: the checkpoint in memory, its lock, the runbook's services and the event emitter.
 * startRun/resumeRun/abortRun build one and drive it (run.ts, resume.ts, abort.ts).
 */
export class Execution {
  readonly controller: AbortController
  readonly store: RunStore
  private locks: HeldLock[] = []
  private closeServices: (() => Promise<void>) | undefined
  services: unknown
  file: string | null = null
  private readonly detachSignal: () => void

  constructor(
    readonly runbook: AnyRunbook,
    readonly inputs: unknown,
    readonly checkpoint: Checkpoint,
    readonly options: EngineOptions,
    readonly resumed: boolean,
  ) {
    const {controller, detach} = followSignal(options.signal)
    this.controller = controller
    this.detachSignal = detach
    this.store = storeOf(options)
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

  private warn(message: string): void {
    this.emit({...this.base(null), event: 'warning', message})
  }

  async takeLock(): Promise<void> {
    if (this.options.ephemeral) return
    // Sorted, so two runs over overlapping sets take their locks in the same order.
    const keys = [...new Set(this.runbook.lockKeys?.(this.inputs) ?? [this.checkpoint.lockKey])].sort()
    try {
      for (const key of keys) this.locks.push(await this.store.lock(key, this.runId, (message) => this.warn(message)))
    } catch (error) {
      await this.releaseLocks()
      throw error
    }
  }

  async setup(): Promise<void> {
    const recorded = this.checkpoint.environment as RecordedEnvironment
    const connection = typeof this.options.connection === 'function' ? this.options.connection(recorded) : this.options.connection
    this.checkpoint.environment = recordedFrom(connection)
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
    this.file = await this.store.write(this.checkpoint, (message) => this.warn(message))
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

  async close(): Promise<void> {
    this.detachSignal()
    if (this.closeServices) await withTimeout(this.closeServices(), CLOSE_TIMEOUT_MS)
    await this.releaseLocks()
  }

  private async releaseLocks(): Promise<void> {
    for (const lock of this.locks.splice(0).reverse()) await lock.release()
  }
}

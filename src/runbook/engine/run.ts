import type {AnyRunbook, Runbook, Step} from '../types.js'
import type {EngineOptions, RunOutcome} from './options.js'

import {describeCause, KreorgError} from '../../core/errors.js'
import {type Checkpoint, CHECKPOINT_SCHEMA_VERSION, hostName, newRunId, runbookHash} from '../checkpoint.js'
import {errorInfo, Execution, jsonClone, now, toStepError} from './execution.js'
import {DEFAULT_GRACE_MS, Interrupted, settleOrInterrupt} from './signals.js'

/** Runs the steps not yet recorded, in order. */
export async function runRemaining(execution: Execution): Promise<RunOutcome> {
  const {checkpoint, options} = execution
  const started = Date.now()
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS
  for (const step of execution.runbook.steps.slice(checkpoint.steps.length)) {
    if (execution.signal.aborted) return execution.interrupt(null, execution.resumeCommand())
    checkpoint.currentStep = step.id
    checkpoint.status = 'running'
    const ctx = execution.context(step.id)
    const startedAt = now()
    const t0 = Date.now()
    try {
      // Inside the try: a checkpoint that can no longer be written (disk full, dir gone) fails the
      // step, so the runbook's failure path runs (grow resumes its producers) instead of leaving them paused.
      await execution.save()
      execution.emit({...execution.base(step.id), event: 'step:start', title: step.title})
      const alreadyDone = step.check ? await settleOrInterrupt(step.check(ctx), execution.signal, graceMs) : false
      if (alreadyDone) {
        checkpoint.steps.push({id: step.id, state: 'skipped', result: null, startedAt, finishedAt: now(), durationMs: Date.now() - t0})
        checkpoint.currentStep = null
        await execution.save()
        execution.emit({...execution.base(step.id), event: 'step:skip', reason: 'check', message: 'already done'})
      } else {
        const result = jsonClone(await settleOrInterrupt(step.run(ctx), execution.signal, graceMs), step.id)
        const durationMs = Date.now() - t0
        checkpoint.steps.push({id: step.id, state: 'done', result, startedAt, finishedAt: now(), durationMs})
        checkpoint.currentStep = null
        // Recorded before it is announced: a `step:done` event means the checkpoint has it.
        await execution.save()
        execution.emit({...execution.base(step.id), event: 'step:done', durationMs, result})
      }
    } catch (error) {
      if (error instanceof Interrupted || execution.signal.aborted) return execution.interrupt(step.id, execution.resumeCommand())
      return fail(execution, step, error, Date.now() - t0)
    }
    if (options.stopAfter === step.id) break
  }
  checkpoint.status = 'done'
  checkpoint.currentStep = null
  checkpoint.failure = null
  await execution.save()
  const results = execution.results()
  const summary = execution.runbook.summarize?.(results)
  execution.emit({
    ...execution.base(null),
    event: 'run:done',
    durationMs: Date.now() - started,
    alreadyDone: false,
    ...(summary === undefined ? {} : {summary}),
  })
  return {status: 'done', runId: execution.runId, checkpoint: execution.file, results, alreadyDone: false}
}

async function fail(execution: Execution, step: Step<unknown, unknown>, thrown: unknown, durationMs: number): Promise<RunOutcome> {
  const {checkpoint, runbook} = execution
  const error = toStepError(thrown, step)
  execution.emit({...execution.base(step.id), event: 'step:fail', durationMs, error: errorInfo(error)})
  if (runbook.onFailure) {
    try {
      await runbook.onFailure(execution.context(step.id), step.id, thrown)
    } catch (hookError) {
      execution.emit({
        ...execution.base(step.id),
        event: 'warning',
        message: `clean-up after the failure also failed: ${describeCause(hookError)}`,
      })
    }
  }
  checkpoint.status = 'failed'
  checkpoint.currentStep = step.id
  checkpoint.failure = {...errorInfo(error), at: now()}
  await execution.save()
  execution.emit({...execution.base(step.id), event: 'run:fail', error: errorInfo(error)})
  return {status: 'failed', runId: execution.runId, checkpoint: execution.file, error}
}

/** The runbook's own check of what a command hands it; a refusal is a usage error, before anything ran. */
function parseStartInputs(runbook: AnyRunbook, inputs: unknown): unknown {
  if (!runbook.parseInputs) return inputs
  try {
    return runbook.parseInputs(inputs)
  } catch (error) {
    throw new KreorgError('usage', `runbook ${runbook.name} rejects its inputs: ${describeCause(error)}`, {cause: error})
  }
}

/** Starts a new run of `runbook`. Throws KreorgError for refusals before anything ran (lock held: exit 6). */
export async function startRun<I, S, E, R extends object>(
  runbook: Runbook<I, S, E, R>,
  given: I,
  options: EngineOptions,
): Promise<RunOutcome> {
  const erased = runbook as unknown as AnyRunbook
  const inputs = parseStartInputs(erased, given) as I
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
    return await runRemaining(execution)
  } finally {
    await execution.close()
  }
}

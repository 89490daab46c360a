import type {Step} from '../types.js'
import type {EngineOptions, RunOutcome} from './options.js'

import {KreorgError} from '../../core/errors.js'
import {hostName} from '../checkpoint.js'
import {errorInfo, Execution, now, toStepError} from './execution.js'
import {type LoadedRun, loadRun} from './resume.js'
import {runRemaining} from './run.js'
import {DEFAULT_GRACE_MS, Interrupted, settleOrInterrupt} from './signals.js'

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
      return await runRemaining(execution)
    }
    checkpoint.status = 'aborting'
    await execution.save()
    return await undoInReverse(execution, plan, file, options.abortCommand?.(runId) ?? `kreorg abort ${runId}`)
  } finally {
    await execution.close()
  }
}

/** Runs the plan's undos newest first, recording each; an interrupt leaves the run `aborting`. */
async function undoInReverse(execution: Execution, plan: AbortPlan, file: string, abortCommand: string): Promise<RunOutcome> {
  const {checkpoint, runbook, runId, options} = execution
  for (const item of plan.undo) {
    if (execution.signal.aborted) return await execution.interrupt(null, abortCommand)
    const step = runbook.steps.find((s) => s.id === item.id)!
    execution.emit({...execution.base(step.id), event: 'undo:start', title: step.title})
    const t0 = Date.now()
    try {
      await settleOrInterrupt(step.undo!(execution.context(step.id)), execution.signal, options.graceMs ?? DEFAULT_GRACE_MS)
    } catch (error_) {
      if (error_ instanceof Interrupted || execution.signal.aborted) return await execution.interrupt(step.id, abortCommand)
      const error = toStepError(error_, step)
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
}

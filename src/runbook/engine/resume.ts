import type {AnyRunbook} from '../types.js'

import {describeCause, KreorgError} from '../../core/errors.js'
import {type Checkpoint, hostName, validateAgainstRunbook} from '../checkpoint.js'
import {Execution, now} from './execution.js'
import {type EngineOptions, type RunOutcome, storeOf} from './options.js'
import {runRemaining} from './run.js'

export interface LoadedRun {
  file: string
  checkpoint: Checkpoint
  runbook: AnyRunbook
  inputs: unknown
}

/** Reads and validates a run without changing anything (resume, abort and status share it). */
export async function loadRun(runId: string, options: Pick<EngineOptions, 'stateDir' | 'store' | 'findRunbook'>): Promise<LoadedRun> {
  const {file, checkpoint} = await storeOf(options).load(runId)
  const name = checkpoint.runbook.name
  const runbook = options.findRunbook(name)
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
      throw new KreorgError('checkpoint', `checkpoint ${file} holds inputs runbook ${name} rejects: ${describeCause(error)}`, {
        cause: error,
      })
    }
  }
  return {file, checkpoint, runbook, inputs}
}

/** Continues a run from its last finished step. Refusals (exit 2/6) leave the checkpoint untouched. */
export async function resumeRun(runId: string, options: EngineOptions): Promise<RunOutcome> {
  const {checkpoint, runbook, inputs, file} = await loadRun(runId, options)
  if (checkpoint.status === 'done') {
    const results = Object.fromEntries(checkpoint.steps.filter((s) => s.state === 'done').map((s) => [s.id, s.result]))
    const summary = runbook.summarize?.(results)
    options.listener({
      runId,
      step: null,
      ts: now(),
      event: 'run:done',
      durationMs: 0,
      alreadyDone: true,
      ...(summary === undefined ? {} : {summary}),
    })
    return {status: 'done', runId, checkpoint: file, results: {}, alreadyDone: true}
  }
  if (checkpoint.status === 'aborted' || checkpoint.status === 'aborting') {
    throw new KreorgError(
      'usage',
      `run ${runId} was ${checkpoint.status === 'aborted' ? 'aborted' : 'being aborted'}; it cannot be resumed`,
      {
        suggestions: checkpoint.status === 'aborting' ? [`finish the abort with \`kreorg abort ${runId}\``] : ['start a new run'],
      },
    )
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
    await redoFromRevalidation(execution)
    await execution.save()
    execution.emitStart()
    return await runRemaining(execution)
  } finally {
    await execution.close()
  }
}

/** The runbook may send a resume back to an earlier finished step (its results and later ones are dropped). */
async function redoFromRevalidation(execution: Execution): Promise<void> {
  const {runbook, checkpoint} = execution
  if (!runbook.revalidate) return
  const redoFrom = await runbook.revalidate(execution.context(undefined))
  if (redoFrom === undefined) return
  const index = checkpoint.steps.findIndex((s) => s.id === redoFrom)
  if (index === -1) {
    throw new KreorgError('unexpected', `runbook ${runbook.name} asked to redo from "${redoFrom}", which is not a finished step`)
  }
  const dropped = checkpoint.steps.splice(index).map((s) => s.id)
  execution.emit({...execution.base(redoFrom), event: 'redo', message: `redoing ${dropped.join(', ')}`})
}

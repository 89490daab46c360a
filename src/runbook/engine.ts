export {type AbortPlan, abortRun, planAbort} from './engine/abort.js'
export {toStepError} from './engine/execution.js'
/**
 * The runbook engine: runs a runbook's steps in order, checkpointing each, and resumes or aborts a
 * run from its checkpoint. Split along its seams in ./engine/: the run loop (run.ts), resume and
 * revalidation (resume.ts), abort and undo (abort.ts), the live run and its events (execution.ts),
 * signals (signals.ts). The engine never imports runbooks: callers pass `findRunbook`.
 */
export type {EngineOptions, RunOutcome} from './engine/options.js'
export {type LoadedRun, loadRun, resumeRun} from './engine/resume.js'
export {startRun} from './engine/run.js'
export type {RecordedEnvironment} from './types.js'

import type {AnyRunbook, ErrorInfo} from './types.js'

import {type Checkpoint, effectiveStatus, type RunStatus} from './checkpoint.js'

export type StepStatusState = 'done' | 'skipped' | 'running' | 'interrupted' | 'failed' | 'undone' | 'pending'

export interface StepStatus {
  id: string
  title: string
  state: StepStatusState
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
  result: unknown
  error: ErrorInfo | null
}

export interface RunStatusReport {
  runId: string
  runbook: string
  runbookVersion: number
  description: string
  topic: string
  status: RunStatus
  recordedStatus: RunStatus
  currentStep: string | null
  createdAt: string
  updatedAt: string
  attempts: number
  host: string
  pid: number
  checkpoint: string
  inputs: unknown
  steps: StepStatus[]
  failure: (ErrorInfo & {at: string}) | null
  /** What to run next, if anything. */
  next: string | null
}

/**
 * Every step of a run with its state, from the checkpoint (and the runbook when this kreorg has it,
 * for titles and the steps still to come). Read-only.
 */
export function buildStatus(checkpoint: Checkpoint, runbook: AnyRunbook | undefined, file: string, bin = 'kreorg'): RunStatusReport {
  const status = effectiveStatus(checkpoint)
  const undone = new Set(checkpoint.undone.map((u) => u.id))
  const recorded = new Map(checkpoint.steps.map((s) => [s.id, s]))
  const ids = runbook ? runbook.steps.map((s) => s.id) : checkpoint.steps.map((s) => s.id)
  if (checkpoint.currentStep && !ids.includes(checkpoint.currentStep)) ids.push(checkpoint.currentStep)
  const titles = new Map(runbook?.steps.map((s) => [s.id, s.title]) ?? [])
  const steps = ids.map((id): StepStatus => {
    const record = recorded.get(id)
    let state: StepStatusState = record ? record.state : 'pending'
    let error: ErrorInfo | null = null
    if (!record && id === checkpoint.currentStep) {
      if (checkpoint.failure && checkpoint.failure.step === id) {
        state = 'failed'
        const {at: _at, ...info} = checkpoint.failure
        error = info
      } else {
        state = status === 'running' || status === 'aborting' ? 'running' : 'interrupted'
      }
    }
    if (undone.has(id)) state = 'undone'
    return {
      id,
      title: titles.get(id) ?? id,
      state,
      startedAt: record?.startedAt ?? null,
      finishedAt: record?.finishedAt ?? null,
      durationMs: record?.durationMs ?? null,
      result: record?.result ?? null,
      error,
    }
  })
  const next =
    status === 'interrupted' || status === 'failed'
      ? checkpoint.status === 'aborting'
        ? `${bin} abort ${checkpoint.runId}`
        : `${bin} resume ${checkpoint.runId}`
      : null
  return {
    runId: checkpoint.runId,
    runbook: checkpoint.runbook.name,
    runbookVersion: checkpoint.runbook.version,
    description: checkpoint.description,
    topic: checkpoint.lockKey,
    status,
    recordedStatus: checkpoint.status,
    currentStep: checkpoint.currentStep,
    createdAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
    attempts: checkpoint.attempts,
    host: checkpoint.host,
    pid: checkpoint.pid,
    checkpoint: file,
    inputs: checkpoint.inputs,
    steps,
    failure: checkpoint.failure,
    next,
  }
}

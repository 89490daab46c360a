import type {RunSummary} from '../runbook/checkpoint.js'
import type {RunStatusReport} from '../runbook/status.js'

import {formatDuration} from '../core/duration.js'
import {renderTable} from '../core/table.js'
import {describeError} from './error-text.js'

function shortTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'
}

/** `kreorg runs`: newest first. */
export function renderRuns(runs: RunSummary[], stateDir: string): string {
  if (runs.length === 0) return `No runs in ${stateDir}.`
  return renderTable(
    ['RUN', 'RUNBOOK', 'TOPIC', 'STATUS', 'STEP', 'STARTED', 'UPDATED'],
    runs.map((run) => [
      run.runId,
      run.runbook ?? '-',
      run.topic ?? '-',
      run.status === 'unreadable' ? `unreadable: ${run.problem ?? ''}` : run.status,
      run.currentStep ?? (run.stepsTotal !== null ? `${run.stepsDone}/${run.stepsTotal} steps` : `${run.stepsDone} steps`),
      shortTime(run.startedAt),
      shortTime(run.updatedAt),
    ]),
  )
}

function summarize(result: unknown): string {
  if (result === null || result === undefined) return ''
  const text = JSON.stringify(result)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** `kreorg status`: the run, then every step with state, duration and result or error. */
export function renderStatus(report: RunStatusReport): string {
  const lines = [
    `Run      ${report.runId}`,
    `Runbook  ${report.runbook} v${report.runbookVersion}: ${report.description}`,
    `Status   ${report.status}${report.status !== report.recordedStatus ? ` (recorded as ${report.recordedStatus}; process ${report.pid} on ${report.host} is gone)` : ''}`,
    `Started  ${shortTime(report.createdAt)}   updated ${shortTime(report.updatedAt)}   attempts ${report.attempts}`,
    `File     ${report.checkpoint}`,
    '',
    renderTable(
      ['#', 'STEP', 'STATE', 'TOOK', 'RESULT'],
      report.steps.map((step, index) => [
        index + 1,
        step.id,
        step.state,
        step.durationMs === null ? '' : formatDuration(step.durationMs),
        step.error ? describeError(step.error) : summarize(step.result),
      ]),
      {alignRight: [0, 3]},
    ),
  ]
  if (report.failure) {
    lines.push(
      '',
      `Failed in ${report.failure.step ?? '?'} at ${shortTime(report.failure.at)} (${report.failure.code}, exit ${report.failure.exitCode}): ${describeError(report.failure)}`,
    )
    for (const suggestion of report.failure.suggestions) lines.push(`  hint: ${suggestion}`)
  }
  if (report.next) lines.push('', `Next: ${report.next}`)
  return lines.join('\n')
}

import type {GrowPlan} from '../steps/grow/plan.js'
import type {GrowSummary} from '../steps/grow/results.js'

import {formatDuration} from '../core/duration.js'
import {renderGrowPlan} from './plan-view.js'

function isGrowPlan(value: unknown): value is GrowPlan {
  const v = value as Partial<GrowPlan> | undefined
  return typeof v?.topic === 'string' && typeof v.from === 'number' && Array.isArray(v.groups) && typeof v.keys === 'object'
}

function isGrowSummary(value: unknown): value is GrowSummary {
  const v = value as Partial<GrowSummary> | undefined
  return typeof v?.topic === 'string' && Array.isArray(v.watchNext) && 'pausedMs' in (v as object)
}

export function renderGrowSummary(summary: GrowSummary): string[] {
  const time = (ms: number | null) => (ms === null ? 'n/a' : formatDuration(ms))
  // Checkpoints written before issue 16 have no declaredCounts (their lines, if any, are in watchNext).
  const declared = summary.declaredCounts ?? []
  return [
    `${summary.topic}: ${summary.from} → ${summary.to} partitions.`,
    `Producers paused for ${time(summary.pausedMs)} (drained in ${time(summary.drainMs)}, partitions added in ${time(summary.addMs)}).`,
    ...(summary.connectPausedMs === undefined
      ? []
      : [
          `Kafka Connect source connectors paused for ${time(summary.connectPausedMs)} (pin-producers to resume-producers; their tasks were restarted before the resume).`,
        ]),
    summary.checkedRecords === 0
      ? 'No keyed records were written after resume within the post-check window; nothing to check yet.'
      : `${summary.checkedRecords} keyed records written after resume checked: all in murmur2 % ${summary.to}.`,
    'Watch next:',
    ...summary.watchNext.filter((line) => !declared.includes(line)).map((line) => `  - ${line}`),
    ...(declared.length === 0
      ? []
      : [
          `Declared partition counts must now say ${summary.to} (infrastructure as code; a lower declaration is not harmless):`,
          ...declared.map((line) => `  - ${line}`),
        ]),
  ]
}

/**
 * Human views of step values that deserve more than a one-line JSON summary: the plan an operator
 * confirms, and the summary a run ends with. Steps return data; only the UI renders it.
 */
export function stepValueLines(value: unknown): string[] | undefined {
  if (isGrowPlan(value)) return renderGrowPlan(value).split('\n')
  if (isGrowSummary(value)) return renderGrowSummary(value)
  return undefined
}

/** Only the end-of-run summary (a terminal prints it under the finished task list). */
export function runSummaryLines(value: unknown): string[] | undefined {
  return isGrowSummary(value) ? renderGrowSummary(value) : undefined
}

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

/** Where post-check found the records: by which partitioners, with counts when there were several (murmur2 before they were recorded). */
function placementLine(summary: GrowSummary): string {
  const checked = Object.entries(summary.checkedByPartitioner ?? {})
  const where =
    checked.length === 0
      ? `murmur2 % ${summary.to} puts them`
      : checked.length === 1 && checked[0]![0] !== 'any'
        ? `${checked[0]![0]} % ${summary.to} puts them`
        : `their producers' partitioners put them among ${summary.to} partitions (${checked.map(([name, count]) => `${name}: ${count}`).join(', ')})`
  return `${summary.checkedRecords} keyed records written after resume checked: all where ${where}.`
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
      : placementLine(summary),
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

/** A multi-topic run's value holds every topic's under `byTopic`: render each, in order. */
function eachTopicOf<T>(value: T): T[] {
  const byTopic = (value as {byTopic?: Record<string, T>}).byTopic
  return byTopic ? Object.values(byTopic) : [value]
}

/**
 * Human views of step values that deserve more than a one-line JSON summary: the plan an operator
 * confirms, and the summary a run ends with. Steps return data; only the UI renders it.
 */
export function stepValueLines(value: unknown): string[] | undefined {
  if (isGrowPlan(value)) return eachTopicOf(value).flatMap((plan, i) => [...(i > 0 ? [''] : []), ...renderGrowPlan(plan).split('\n')])
  return runSummaryLines(value)
}

/** Only the end-of-run summary (a terminal prints it under the finished task list). */
export function runSummaryLines(value: unknown): string[] | undefined {
  if (!isGrowSummary(value)) return undefined
  return eachTopicOf(value).flatMap((summary, i) => [...(i > 0 ? [''] : []), ...renderGrowSummary(summary)])
}

import type {GrowPlan} from '../steps/grow/plan.js'

import {formatDuration} from '../core/duration.js'
import {renderTable} from '../core/table.js'

/** Shares as the plan's own messages print them (steps/grow/plan.ts): two decimals only below 1%. */
function pct(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 0)}%`
}

/** Kafka Connect source connectors (--connect-url): what kreorg pauses and which writes it attributes to them. */
function connectLines(plan: GrowPlan): string[] {
  const connect = plan.connect!
  const workers = connect.workers.map((w) => `${w.url} (Connect ${w.version})`).join(', ')
  if (connect.connectors.length === 0) return [`Kafka Connect: no source connector writes to ${plan.topic} (${workers})`]
  const lines = [
    `Kafka Connect source connectors writing to ${plan.topic} (${connect.connectors.length}), paused from pin-producers to resume-producers:`,
  ]
  for (const c of connect.connectors) {
    lines.push(`  ${c.name} on ${c.worker}: ${c.state}, ${c.tasks.length} task(s); ${c.evidence.join(', ')}`)
  }
  const attributed = plan.writers?.connect
  if (attributed && (attributed.producerIds.length > 0 || attributed.nonIdempotentPartitions.length > 0)) {
    const parts = [
      ...(attributed.producerIds.length > 0 ? [`producer id(s) ${attributed.producerIds.join(', ')}`] : []),
      ...(attributed.nonIdempotentPartitions.length > 0
        ? [`non-idempotent writes on partition(s) ${attributed.nonIdempotentPartitions.join(', ')}`]
        : []),
    ]
    lines.push(`  writers accounted for by Connect: ${parts.join('; ')} (checked again after the pause)`)
  }
  return lines
}

/** The grow plan as an operator reads it before saying yes (and as `--dry-run` prints it). */
export function renderGrowPlan(plan: GrowPlan): string {
  const lines: string[] = [`Plan: grow ${plan.topic} from ${plan.from} to ${plan.to} partitions`, '']
  const k = plan.keys
  lines.push(
    k.sampledKeys === 0
      ? `Keys: no keyed records sampled; uniform hashing would move ${pct(k.uniformMovedShare)} of keys`
      : `Keys: ${k.sampledKeys} distinct keys sampled, ${k.moved} (${pct(k.movedShare)}) move to another partition; uniform estimate ${pct(k.uniformMovedShare)}`,
  )
  if (k.perSourcePartition.length > 0) {
    lines.push(
      '  moved share per source partition: ' +
        k.perSourcePartition
          .filter((p) => p.keys > 0)
          .map((p) => `${p.partition}:${pct(p.share)}`)
          .join(' '),
    )
  }
  lines.push('')
  if (plan.groups.length === 0) lines.push('Groups: none with offsets on this topic')
  else {
    lines.push(
      'Groups:',
      renderTable(
        ['GROUP', 'STATE', 'MEMBERS', 'LAG', 'RATE/S', 'EST. DRAIN', ''],
        plan.groups.map((g) => [
          g.groupId,
          g.state,
          g.members,
          g.lag,
          g.consumeRatePerSec ?? '-',
          g.estimatedDrainMs === null ? 'unknown' : formatDuration(g.estimatedDrainMs),
          g.ignored ? 'ignored' : '',
        ]),
        {alignRight: [2, 3, 4, 5]},
      ),
    )
  }
  lines.push('')
  lines.push(
    plan.agents.length === 0
      ? 'Producer agents: none registered'
      : `Producer agents (${plan.agents.length}): ${plan.agents.map((a) => `${a.agentId}@${a.host}`).join(', ')}`,
  )
  if (plan.connect) lines.push(...connectLines(plan))
  lines.push(`Estimated drain while paused: ${plan.estimatedDrainMs === null ? 'unknown' : formatDuration(plan.estimatedDrainMs)}`)
  const coPartitioned = plan.coPartitioned ?? []
  if (coPartitioned.length > 0) {
    lines.push(
      '',
      `Co-partitioned topics (${plan.from} partitions, read by the same groups; joins need equal counts):`,
      ...coPartitioned.map((c) => `  ${c.topic}: read with ${plan.topic} by ${c.groups.join(', ')}`),
    )
  }
  if (plan.warnings.length > 0) lines.push('', 'Warnings:', ...plan.warnings.map((w) => `  ! ${w}`))
  if (plan.blockers.length > 0) lines.push('', 'Blocking:', ...plan.blockers.map((b) => `  x ${b}`))
  return lines.join('\n')
}

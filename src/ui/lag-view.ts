import type {TopicLag} from '../kafka/lag.js'

import {renderTable} from '../core/table.js'

/** `kreorg lag` as text: one summary row per group, then per-partition lag for groups with any. */
export function renderTopicLag(lag: TopicLag, options: {partitions?: boolean} = {}): string {
  const lines = [
    `topic ${lag.topic}: ${lag.partitionCount} partitions, ${lag.groups.length} consumer group(s) with offsets (read ${lag.readAt})`,
  ]
  if (lag.groups.length === 0) {
    lines.push('no consumer group has committed offsets on this topic')
    return lines.join('\n')
  }
  lines.push(
    '',
    renderTable(
      ['GROUP', 'PROTOCOL', 'STATE', 'MEMBERS', 'TOTAL LAG', 'PARTITIONS WITH LAG'],
      lag.groups.map((g) => [g.groupId, g.protocol, g.state, g.members, g.total, g.partitions.filter((p) => p.lag > 0).length]),
      {alignRight: [3, 4, 5]},
    ),
  )
  const detailed = lag.groups.filter((g) => options.partitions || g.total > 0)
  for (const group of detailed) {
    lines.push(
      '',
      `${group.groupId}:`,
      renderTable(
        ['PARTITION', 'COMMITTED', 'END', 'LAG'],
        group.partitions.map((p) => [p.partition, p.committed ?? '-', p.end, p.lag]),
        {alignRight: [0, 1, 2, 3]},
      ),
    )
  }
  return lines.join('\n')
}

import type {AgentInfo, LeaseInfo} from '../control/channel.js'

import {formatDuration} from '../core/duration.js'
import {renderTable} from '../core/table.js'

/** `kreorg producers`: one row per agent and topic. */
export function renderProducers(
  agents: AgentInfo[],
  options: {topic?: string; lease?: LeaseInfo; controlTopic: string; available: boolean; now?: number},
): string {
  const now = options.now ?? Date.now()
  const lines: string[] = []
  if (!options.available) return `control topic ${options.controlTopic} does not exist: no producer agent has started yet`
  if (options.lease) {
    lines.push(
      `lease: run ${options.lease.runId} on ${options.lease.host} (pid ${options.lease.pid}) until ${new Date(options.lease.expiresAt).toISOString()}`,
    )
  }
  if (agents.length === 0) {
    lines.push(`no producer agents${options.topic ? ` for ${options.topic}` : ''} on ${options.controlTopic}`)
    return lines.join('\n')
  }
  const rows: Array<Array<string | number>> = []
  for (const agent of agents) {
    for (const topic of agent.topics.filter((t) => !options.topic || t === options.topic)) {
      const state = agent.states[topic]
      rows.push([
        agent.agentId,
        topic,
        agent.alive ? (state?.state ?? '?') : 'stale',
        state?.partitionCount ?? '',
        state?.buffered ?? 0,
        `${agent.host}:${agent.pid}`,
        `${formatDuration(Math.max(0, now - agent.lastHeartbeat))} ago`,
        state?.runId ?? '',
        agent.partitioner,
        agent.version,
      ])
    }
  }
  lines.push(
    renderTable(['AGENT', 'TOPIC', 'STATE', 'PARTITIONS', 'HELD', 'HOST:PID', 'HEARTBEAT', 'RUN', 'PARTITIONER', 'VERSION'], rows, {
      alignRight: [3, 4],
    }),
  )
  return lines.join('\n')
}

/**
 * `kreorg pause` / `kreorg unpause`: manual emergencies, through the same lease as `grow`, so a
 * manual pause and a grow run can never act on a topic at the same time.
 */
import {randomBytes} from 'node:crypto'

import type {AgentInfo, ControlChannelPort} from './port.js'
import type {Ack} from './schema.js'

import {KreorgError} from '../core/errors.js'
import {localHolder} from './lease.js'

export const MANUAL_RUN_PREFIX = 'manual-'

export interface ManualPauseResult {
  topic: string
  runId: string
  epoch: number
  leaseExpiresAt: number
  agents: AgentInfo[]
  acks: Ack[]
}

export interface ManualUnpauseResult {
  topic: string
  runId: string
  epoch: number
  agents: AgentInfo[]
  acks: Ack[]
}

/** Above every epoch the run used on the topic, so agents that fence stale orchestrators (1.1 D) obey it. */
function newEpoch(channel: ControlChannelPort, topic: string, runId: string): number {
  if (channel.nextEpoch) return channel.nextEpoch(topic, runId)
  const command = channel.currentCommand(topic)
  return Math.max(Date.now(), command?.runId === runId ? command.epoch + 1 : 0)
}

/**
 * The partition count a manual unpause resumes with. A manual pause pins agents to the count they saw
 * (no grow run is unfinished: the command refuses then), and a resume without targetPartitions keeps
 * that pin (1.1), so unpause lifts it with the count the live agents' producers report.
 */
function unpauseTarget(agents: AgentInfo[], topic: string): number | undefined {
  const counts = agents.map((a) => a.states[topic]?.partitionCount ?? 0).filter((count) => count > 0)
  return counts.length > 0 ? Math.max(...counts) : undefined
}

/**
 * Takes (or extends, if a manual pause already holds it) the lease for `leaseMs`, publishes pause
 * and waits for every live agent's ack. The lease is NOT renewed after the command exits: the
 * agents resume by themselves when it lapses, unless `kreorg unpause` resumes them earlier.
 */
export async function manualPause(
  channel: ControlChannelPort,
  topic: string,
  options: {leaseMs: number; ackTimeoutMs: number},
): Promise<ManualPauseResult> {
  const current = await channel.currentLease(topic)
  const runId = current?.runId.startsWith(MANUAL_RUN_PREFIX) ? current.runId : `${MANUAL_RUN_PREFIX}${randomBytes(4).toString('hex')}`
  const lease = await channel.acquireLease(topic, localHolder(runId), options.leaseMs)
  lease.stop()
  const epoch = newEpoch(channel, topic, runId)
  const agents = await channel.agents(topic)
  await channel.pause(topic, {runId, epoch, lease})
  const acks = await channel.waitForAcks(topic, {
    runId,
    epoch,
    agentIds: agents.map((a) => a.agentId),
    state: 'paused',
    timeoutMs: options.ackTimeoutMs,
  })
  return {topic, runId, epoch, leaseExpiresAt: lease.expiresAt, agents, acks}
}

/**
 * Resumes a topic. A manual pause's lease is taken over (same run id) and released afterwards; a
 * lease held by any other run is refused (exit 6) unless `runId` names that run explicitly.
 */
export async function manualUnpause(
  channel: ControlChannelPort,
  topic: string,
  options: {ackTimeoutMs: number; runId?: string; targetPartitions?: number},
): Promise<ManualUnpauseResult> {
  const current = await channel.currentLease(topic)
  let runId: string
  if (options.runId) runId = options.runId
  else if (current && !current.runId.startsWith(MANUAL_RUN_PREFIX)) {
    throw new KreorgError(
      'lease-held',
      `topic ${topic} is held by run ${current.runId} on ${current.host} (pid ${current.pid}) until ${new Date(current.expiresAt).toISOString()}`,
      {
        suggestions: [
          `let that run finish (\`kreorg status ${current.runId}\`), or pass --run-id ${current.runId} to resume its producers anyway`,
        ],
      },
    )
  } else runId = current?.runId ?? `${MANUAL_RUN_PREFIX}${randomBytes(4).toString('hex')}`
  const lease = await channel.acquireLease(topic, localHolder(runId), 60_000)
  try {
    const epoch = newEpoch(channel, topic, runId)
    const agents = await channel.agents(topic)
    const targetPartitions = options.targetPartitions ?? unpauseTarget(agents, topic)
    await channel.resume(topic, {runId, epoch, lease, ...(targetPartitions !== undefined ? {targetPartitions} : {})})
    const acks = await channel.waitForAcks(topic, {
      runId,
      epoch,
      agentIds: agents.map((a) => a.agentId),
      state: 'resumed',
      timeoutMs: options.ackTimeoutMs,
    })
    return {topic, runId, epoch, agents, acks}
  } finally {
    await lease.release()
  }
}

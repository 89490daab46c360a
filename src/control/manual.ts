/**
 * `kreorg pause` / `kreorg unpause`: manual emergencies, through the same lease as `grow`, so a
 * manual pause and a grow run can never act on a topic at the same time.
 */
import {randomBytes} from 'node:crypto'
import {KreorgError} from '../runbook/errors.js'
import {localHolder, type AgentInfo, type ControlChannel} from './orchestrator.js'
import type {Ack} from './schema.js'

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

/**
 * Takes (or extends, if a manual pause already holds it) the lease for `leaseMs`, publishes pause
 * and waits for every live agent's ack. The lease is NOT renewed after the command exits: the
 * agents resume by themselves when it lapses, unless `kreorg unpause` resumes them earlier.
 */
export async function manualPause(channel: ControlChannel, topic: string, options: {leaseMs: number; ackTimeoutMs: number}): Promise<ManualPauseResult> {
  const current = await channel.currentLease(topic)
  const runId = current?.runId.startsWith(MANUAL_RUN_PREFIX) ? current.runId : `${MANUAL_RUN_PREFIX}${randomBytes(4).toString('hex')}`
  const lease = await channel.acquireLease(topic, localHolder(runId), options.leaseMs)
  lease.stop()
  const epoch = Math.floor(Date.now() / 1000)
  const agents = await channel.agents(topic)
  await channel.pause(topic, {runId, epoch, lease})
  const acks = await channel.waitForAcks(topic, {runId, epoch, agentIds: agents.map((a) => a.agentId), state: 'paused', timeoutMs: options.ackTimeoutMs})
  return {topic, runId, epoch, leaseExpiresAt: lease.expiresAt, agents, acks}
}

/**
 * Resumes a topic. A manual pause's lease is taken over (same run id) and released afterwards; a
 * lease held by any other run is refused (exit 6) unless `runId` names that run explicitly.
 */
export async function manualUnpause(channel: ControlChannel, topic: string, options: {ackTimeoutMs: number; runId?: string}): Promise<ManualUnpauseResult> {
  const current = await channel.currentLease(topic)
  let runId: string
  if (options.runId) runId = options.runId
  else if (current && !current.runId.startsWith(MANUAL_RUN_PREFIX)) {
    throw new KreorgError('lease-held', `topic ${topic} is held by run ${current.runId} on ${current.host} (pid ${current.pid}) until ${new Date(current.expiresAt).toISOString()}`, {
      suggestions: [`let that run finish (\`kreorg status ${current.runId}\`), or pass --run-id ${current.runId} to resume its producers anyway`],
    })
  } else runId = current?.runId ?? `${MANUAL_RUN_PREFIX}${randomBytes(4).toString('hex')}`
  const lease = await channel.acquireLease(topic, localHolder(runId), 60_000)
  try {
    const command = channel.currentCommand(topic)
    const epoch = command?.runId === runId ? command.epoch : Math.floor(Date.now() / 1000)
    const agents = await channel.agents(topic)
    await channel.resume(topic, {runId, epoch, lease})
    const acks = await channel.waitForAcks(topic, {runId, epoch, agentIds: agents.map((a) => a.agentId), state: 'resumed', timeoutMs: options.ackTimeoutMs})
    return {topic, runId, epoch, agents, acks}
  } finally {
    await lease.release()
  }
}

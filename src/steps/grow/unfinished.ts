import type {ControlChannelPort} from '../../control/port.js'
import type {Ack} from '../../control/schema.js'

import {localHolder} from '../../control/lease.js'
import {MANUAL_RUN_PREFIX} from '../../control/manual.js'

/**
 * The grow run whose command is still in force on the topic, if any: its producers are pinned to
 * the old count (or paused) until that run's resume with the target count. Read from the control
 * topic, so it holds whichever machine started the run.
 */
export function unfinishedGrowRun(
  channel: Pick<ControlChannelPort, 'currentCommand'>,
  topic: string,
): {runId: string; state: 'pinned' | 'paused'} | undefined {
  const command = channel.currentCommand(topic)
  if (!command || command.runId.startsWith(MANUAL_RUN_PREFIX)) return undefined
  // Only a resume that carries the target count lifts a pin (control protocol 1.1).
  if (command.action === 'resume' && command.targetPartitions !== undefined) return undefined
  return {runId: command.runId, state: command.action === 'pause' || command.action === 'refresh' ? 'paused' : 'pinned'}
}

/** What lifting a grow run's pin early risks, for `unpause --force`. */
export function forceUnpauseRisk(topic: string, runId: string): string {
  return (
    `lifting the pin of run ${runId} before it proved every group's position on the new partitions lets producers write there at once: ` +
    `a group with auto.offset.reset=latest that has not picked the partitions up yet skips those records (KAFKA-12478), ` +
    `and records of moved keys still unconsumed in their old partitions are read out of order. \`kreorg resume ${runId}\` finishes the run safely instead (${topic})`
  )
}

/**
 * `unpause --force` on a topic an unfinished grow run holds: takes over its lease, publishes a
 * resume with the live partition count (the only resume that lifts a pin) and waits for the acks.
 */
export async function forceUnpause(
  channel: ControlChannelPort,
  topic: string,
  options: {runId: string; partitions: number; ackTimeoutMs: number},
): Promise<{runId: string; epoch: number; acks: Ack[]}> {
  const lease = await channel.acquireLease(topic, localHolder(options.runId), 60_000)
  try {
    // Newer than any epoch of the run, so agents that fence stale orchestrators accept it.
    const epoch = Date.now()
    const agents = await channel.agents(topic)
    await channel.resume(topic, {runId: options.runId, epoch, lease, targetPartitions: options.partitions})
    const acks = await channel.waitForAcks(topic, {
      runId: options.runId,
      epoch,
      agentIds: agents.map((a) => a.agentId),
      state: 'resumed',
      timeoutMs: options.ackTimeoutMs,
    })
    return {runId: options.runId, epoch, acks}
  } finally {
    await lease.release()
  }
}

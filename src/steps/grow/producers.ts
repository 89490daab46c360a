import type {PauseResult, ResumeResult} from './context.js'
import {ensureLease, originalPartitionCount, type GrowContext} from './lease.js'

/** Waits for every listed agent's ack, reporting each as progress. */
async function collectAcks(ctx: GrowContext, agentIds: string[], epoch: number, state: 'paused' | 'resumed'): Promise<void> {
  let acked = 0
  await ctx.services.control.waitForAcks(ctx.inputs.topic, {
    runId: ctx.runId,
    epoch,
    agentIds,
    state,
    timeoutMs: ctx.inputs.ackTimeoutMs,
    signal: ctx.signal,
    onAck: (ack) => ctx.progress(`${++acked}/${agentIds.length} agents ${state} (${ack.agentId})`),
  })
}

/** Each pause gets a fresh epoch so acks from an earlier attempt of the same run never count. */
function newEpoch(): number {
  return Date.now()
}

export async function pauseProducers(ctx: GrowContext): Promise<PauseResult> {
  const {control} = ctx.services
  const {topic} = ctx.inputs
  await ensureLease(ctx)
  const agents = await control.agents(topic)
  if (agents.length === 0) ctx.warn(`no producer agents registered for ${topic}; quiesce will catch any writer`)
  const epoch = newEpoch()
  ctx.progress(`pausing ${agents.length} producer agent(s)`)
  // Producers keep the original layout until resume-producers, even if the lease lapses meanwhile.
  const pin = originalPartitionCount(ctx)
  await control.pause(topic, {runId: ctx.runId, epoch, ...(pin === undefined ? {} : {pinPartitions: pin})})
  await collectAcks(ctx, agents.map((a) => a.agentId), epoch, 'paused')
  return {epoch, agents: agents.map((a) => a.agentId), pausedAt: Date.now()}
}

/**
 * Resumes producers. Used by the resume-producers step (with the new count) and as the undo of
 * pause-producers (without one), so a failed or aborted run never leaves producers paused.
 */
export async function resumeProducers(ctx: GrowContext, targetPartitions?: number): Promise<ResumeResult> {
  const {control, cluster} = ctx.services
  const {topic} = ctx.inputs
  const pause = ctx.results['pause-producers'] as PauseResult | undefined
  const epoch = pause?.epoch ?? newEpoch()
  const agents = await control.agents(topic)
  // Offsets before the resume command: everything past them was written under the new layout.
  const endOffsetsAtResume = await cluster.endOffsets(topic)
  ctx.progress(`resuming ${agents.length} producer agent(s)`)
  await control.resume(topic, {runId: ctx.runId, epoch, ...(targetPartitions === undefined ? {} : {targetPartitions})})
  await collectAcks(ctx, agents.map((a) => a.agentId), epoch, 'resumed')
  return {resumedAt: Date.now(), agents: agents.map((a) => a.agentId), endOffsetsAtResume}
}

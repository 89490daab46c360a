import type {PauseResult, ResumeResult} from './context.js'
import {ensureLease, type GrowContext} from './lease.js'

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
  await control.pause(topic, {runId: ctx.runId, epoch})
  let acked = 0
  await control.waitForAcks(topic, {
    runId: ctx.runId,
    epoch,
    agentIds: agents.map((a) => a.agentId),
    state: 'paused',
    timeoutMs: ctx.inputs.ackTimeoutMs,
    signal: ctx.signal,
    onAck: (ack) => ctx.progress(`${++acked}/${agents.length} agents paused (${ack.agentId})`),
  })
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
  let acked = 0
  await control.waitForAcks(topic, {
    runId: ctx.runId,
    epoch,
    agentIds: agents.map((a) => a.agentId),
    state: 'resumed',
    timeoutMs: ctx.inputs.ackTimeoutMs,
    signal: ctx.signal,
    onAck: (ack) => ctx.progress(`${++acked}/${agents.length} agents resumed (${ack.agentId})`),
  })
  return {resumedAt: Date.now(), agents: agents.map((a) => a.agentId), endOffsetsAtResume}
}

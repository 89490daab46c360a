import type {PartitionOffsets} from '../../kafka/types.js'
import type {GrowContext, PauseResult, PinResult, ResumeResult} from './context.js'
import type {AckWaitState, AgentAck, AgentView} from './control-port.js'
import type {PerTopic} from './results.js'

import {KreorgError} from '../../core/errors.js'
import {writesSinceSnapshotError} from './drain.js'
import {ensureLease, originalPartitionCount} from './lease.js'
import {perTopicResult, topicViews} from './topic-set.js'

/** Waits for every listed agent's ack, reporting each as progress. */
async function collectAcks(ctx: GrowContext, agentIds: string[], state: AckWaitState): Promise<AgentAck[]> {
  let acked = 0
  return ctx.services.control.waitForAcks(ctx.inputs.topic, {
    runId: ctx.runId,
    epoch: ctx.services.epoch,
    agentIds,
    state,
    timeoutMs: ctx.inputs.ackTimeoutMs,
    signal: ctx.signal,
    onAck: (ack) => ctx.progress(`${++acked}/${agentIds.length} agents ${state} (${ack.agentId})`),
  })
}

async function livePartitionCount(ctx: GrowContext): Promise<number> {
  return (await ctx.services.cluster.describeTopic(ctx.inputs.topic)).partitions.length
}

/** The count producers are pinned to: the topic's count when the run started. */
function pinCount(ctx: GrowContext, live: number): number {
  return ctx.results['pin-producers']?.pinPartitions ?? originalPartitionCount(ctx) ?? live
}

/**
 * Producers keep writing, but every keyed record is partitioned as if the topic kept its current
 * count, so nothing lands in partitions added later until resume-producers lifts the pin.
 */
export async function pinProducers(ctx: GrowContext): Promise<PinResult> {
  const {control} = ctx.services
  const {topic} = ctx.inputs
  await ensureLease(ctx)
  const agents = await control.agents(topic)
  const pinPartitions = pinCount(ctx, await livePartitionCount(ctx))
  const unable = agents.filter((a) => a.capabilities !== undefined && !a.capabilities.includes('pin'))
  if (unable.length > 0 || agents.some((a) => a.capabilities === undefined)) {
    const names = agents.filter((a) => a.capabilities === undefined || !a.capabilities.includes('pin')).map((a) => a.agentId)
    throw new KreorgError('precondition', `agents ${names.join(', ')} cannot be pinned (no "pin" capability); nothing was changed`, {
      suggestions: ['upgrade them to control protocol 1.1'],
    })
  }
  ctx.progress(`pinning ${agents.length} producer agent(s) to ${pinPartitions} partitions (they keep writing)`)
  await control.pin(topic, {runId: ctx.runId, epoch: ctx.services.epoch, pinPartitions})
  const acks = await collectAcks(
    ctx,
    agents.map((a) => a.agentId),
    'pinned',
  )
  const wrong = acks.filter((a) => a.partitionCount !== undefined && a.partitionCount !== pinPartitions)
  if (wrong.length > 0) {
    throw new KreorgError(
      'precondition',
      `agents ${wrong.map((a) => `${a.agentId} (pinned to ${a.partitionCount})`).join(', ')} did not pin to ${pinPartitions} partitions`,
      {
        suggestions: ['nothing was changed; the pin is lifted'],
      },
    )
  }
  return {epoch: ctx.services.epoch, agents: acks.map((a) => a.agentId), pinPartitions, pinnedAt: Date.now()}
}

/**
 * Undo of pin-producers, before the alter only: a resume whose target is the current count lifts
 * the pin without moving any key. Once the topic has more partitions than the pin, lifting it would
 * let producers write where no group's position is proven: refuse (exit 7) and point to resume.
 */
export async function unpinProducers(ctx: GrowContext): Promise<void> {
  const {control} = ctx.services
  const {topic} = ctx.inputs
  const live = await livePartitionCount(ctx)
  const pinned = pinCount(ctx, live)
  if (live > pinned) {
    throw new KreorgError(
      'incomplete',
      `${topic} already has ${live} partitions (the run started with ${pinned}): the pin stays until every group's position on the new partitions is proven`,
      {
        suggestions: [`kreorg resume ${ctx.runId} finishes the run (prime, pause, drain, resume with the new count)`],
      },
    )
  }
  const agents = await control.agents(topic)
  ctx.progress(`lifting the pin of ${agents.length} producer agent(s) (${live} partitions, unchanged)`)
  await control.resume(topic, {runId: ctx.runId, epoch: ctx.services.epoch, targetPartitions: live})
  await collectAcks(
    ctx,
    agents.map((a) => a.agentId),
    'resumed',
  )
}

/** The blackout starts: producers stop (still pinned) so groups can drain the old layout. */
export async function pauseProducers(ctx: GrowContext): Promise<PauseResult> {
  const {control} = ctx.services
  const {topic} = ctx.inputs
  await ensureLease(ctx)
  const agents = await control.agents(topic)
  const pinPartitions = pinCount(ctx, await livePartitionCount(ctx))
  ctx.progress(`pausing ${agents.length} producer agent(s)`)
  const pauseSentAt = Date.now()
  await control.pause(topic, {runId: ctx.runId, epoch: ctx.services.epoch, pinPartitions})
  await collectAcks(
    ctx,
    agents.map((a) => a.agentId),
    'paused',
  )
  return {epoch: ctx.services.epoch, agents: agents.map((a) => a.agentId), pauseSentAt, pausedAt: Date.now()}
}

/**
 * The end of the blackout: the high watermarks of every topic must still be those of the pause
 * (nobody wrote), then `resume` with the target count lifts the pin and releases held sends. In a
 * multi-topic run every topic's fence is checked before any topic resumes.
 */
export async function resumeProducers(ctx: GrowContext): Promise<PerTopic<ResumeResult>> {
  const views = topicViews(ctx)
  const fenced: PartitionOffsets[][] = []
  for (const view of views) fenced.push(await fenceAtResume(view))
  const results: ResumeResult[] = []
  for (const [index, view] of views.entries()) results.push(await resumeWithTarget(view, fenced[index]!))
  return perTopicResult(ctx, results)
}

/** The topic's end offsets now, after checking nothing was written since the pause's snapshot. */
async function fenceAtResume(ctx: GrowContext): Promise<PartitionOffsets[]> {
  const {topic} = ctx.inputs
  const snapshot = ctx.results.drain?.highWatermarks ?? ctx.results.quiesce?.highWatermarks
  // Everything past these offsets is written with the new layout (post-check reads from here).
  const endOffsetsAtResume = await ctx.services.cluster.highWatermarks(topic)
  if (snapshot) {
    const moved = writesSinceSnapshotError(topic, snapshot, endOffsetsAtResume)
    if (moved) throw moved
  }
  return endOffsetsAtResume
}

async function resumeWithTarget(ctx: GrowContext, endOffsetsAtResume: PartitionOffsets[]): Promise<ResumeResult> {
  const {control} = ctx.services
  const {topic, to} = ctx.inputs
  await ensureLease(ctx)
  const agents = await agentsToReach(ctx)
  ctx.progress(`resuming ${agents.length} producer agent(s) with ${to} partitions`)
  await control.resume(topic, {runId: ctx.runId, epoch: ctx.services.epoch, targetPartitions: to})
  const acks = await collectAcks(
    ctx,
    agents.map((a) => a.agentId),
    'resumed',
  )
  const behind = acks.filter((a) => a.partitionCount !== undefined && a.partitionCount < to)
  if (behind.length > 0)
    ctx.warn(`agents ${behind.map((a) => `${a.agentId} (sees ${a.partitionCount})`).join(', ')} resumed seeing fewer than ${to} partitions`)
  return {resumedAt: Date.now(), agents: agents.map((a) => a.agentId), endOffsetsAtResume}
}

/**
 * The agents a command after the pause must reach: the live ones, and those this run paused whose
 * heartbeats went quiet for less than a lease. A broker failover (the heartbeat topic's leader) delays
 * heartbeats for seconds while the agent is still paused: skipping it would leave it paused and its
 * canaries unchecked. An agent quiet for longer than the lease has resumed by itself, still pinned.
 */
export async function agentsToReach(ctx: GrowContext): Promise<AgentView[]> {
  const paused = new Set(ctx.results['pause-producers']?.agents ?? [])
  const recent = await ctx.services.control.agents(ctx.inputs.topic, {includeStaleWithinMs: ctx.inputs.leaseMs})
  return recent.filter((agent) => agent.alive !== false || paused.has(agent.agentId))
}

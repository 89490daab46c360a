import {setTimeout as sleep} from 'node:timers/promises'
import {partitionForKey} from '../../kafka/murmur2.js'
import {sampleTopic} from '../../kafka/sampler.js'
import {KreorgError} from '../../runbook/errors.js'
import type {AddPartitionsResult, AgentAck, DrainResult, PauseResult, ResumeResult} from './context.js'
import {originalPartitionCount, type GrowContext} from './lease.js'
import {releaseLease} from './preflight.js'

/** Deterministic canary keys: the same run asks the same question after a resume. */
export function canaryKeys(runId: string, count = 32): string[] {
  return Array.from({length: count}, (_, i) => `kreorg-canary-${runId}-${i}`)
}

export interface MappingMismatch {
  agentId: string
  problem: string
}

/** Pure comparison of agents' reports with murmur2 % target. */
export function compareMapping(acks: AgentAck[], keys: string[], target: number): MappingMismatch[] {
  const mismatches: MappingMismatch[] = []
  for (const ack of acks) {
    if (ack.partitionCount !== target) {
      mismatches.push({agentId: ack.agentId, problem: `sees ${ack.partitionCount ?? 'no'} partitions, expected ${target}`})
      continue
    }
    const wrong = keys.filter((key) => ack.canary?.[key] !== partitionForKey(key, target))
    if (wrong.length > 0) {
      mismatches.push({
        agentId: ack.agentId,
        problem: `${wrong.length}/${keys.length} canary keys map elsewhere than murmur2 % ${target}${ack.partitioner ? ` (partitioner ${ack.partitioner})` : ''}`,
      })
    }
  }
  return mismatches
}

export async function verifyMapping(ctx: GrowContext): Promise<{agents: number; canaryKeys: number}> {
  const {control} = ctx.services
  const {topic, to} = ctx.inputs
  const agents = await control.agents(topic)
  if (agents.length === 0) {
    ctx.warn('no producer agents to verify; producers without an agent must be restarted to see the new partition count')
    return {agents: 0, canaryKeys: 0}
  }
  const epoch = (ctx.results['pause-producers'] as PauseResult | undefined)?.epoch ?? Date.now()
  const keys = canaryKeys(ctx.runId)
  ctx.progress(`asking ${agents.length} agent(s) to refresh metadata and map ${keys.length} canary keys`)
  const pin = originalPartitionCount(ctx)
  await control.refresh(topic, {runId: ctx.runId, epoch, targetPartitions: to, canaryKeys: keys, ...(pin === undefined ? {} : {pinPartitions: pin})})
  const acks = await control.waitForAcks(topic, {
    runId: ctx.runId,
    epoch,
    agentIds: agents.map((a) => a.agentId),
    state: 'refreshed',
    timeoutMs: ctx.inputs.ackTimeoutMs,
    signal: ctx.signal,
  })
  const mismatches = compareMapping(acks, keys, to)
  if (mismatches.length > 0) {
    throw new KreorgError('precondition', `producer agents do not map keys to ${to} partitions: ${mismatches.map((m) => `${m.agentId} ${m.problem}`).join('; ')}`, {
      suggestions: [`producers stay paused; fix or restart those producers, then kreorg resume ${ctx.runId}`],
    })
  }
  return {agents: acks.length, canaryKeys: keys.length}
}

export interface GrowSummary {
  topic: string
  from: number
  to: number
  pausedMs: number | null
  drainMs: number | null
  addMs: number | null
  checkedRecords: number
  misplacedRecords: number
  watchNext: string[]
}

export async function postCheck(ctx: GrowContext): Promise<GrowSummary> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const resumed = ctx.results['resume-producers'] as ResumeResult | undefined
  const start = new Map((resumed?.endOffsetsAtResume ?? (await cluster.endOffsets(topic))).map((o) => [o.partition, o.high]))
  for (let p = 0; p < to; p++) if (!start.has(p)) start.set(p, 0)
  // Give resumed producers a moment to write, then check whatever they wrote.
  const deadline = Date.now() + ctx.inputs.postCheckWindowMs
  ctx.progress('waiting for records written after resume')
  while (Date.now() < deadline) {
    const now = await cluster.endOffsets(topic)
    const written = now.reduce((sum, o) => sum + Math.max(0, o.high - (start.get(o.partition) ?? 0)), 0)
    if (written >= Math.min(1000, ctx.inputs.samplePerPartition)) break
    await sleep(250, undefined, {signal: ctx.signal})
  }
  const records = await sampleTopic(cluster, topic, {perPartition: ctx.inputs.samplePerPartition, from: start, signal: ctx.signal})
  const keyed = records.filter((r) => r.key !== null)
  const misplaced = keyed.filter((r) => partitionForKey(r.key!, to) !== r.partition)
  await releaseLease(ctx)
  if (misplaced.length > 0) {
    const example = misplaced[0]!
    throw new KreorgError(
      'precondition',
      `${misplaced.length} of ${keyed.length} records written after resume are not in murmur2 % ${to} (e.g. partition ${example.partition} offset ${example.offset}): a producer uses another partitioner or an old partition count`,
      {suggestions: ['run `kreorg producers ' + topic + '` and `kreorg audit ' + topic + '` to find it']},
    )
  }
  const pause = ctx.results['pause-producers'] as PauseResult | undefined
  const drain = ctx.results['drain'] as DrainResult | undefined
  const add = ctx.results['add-partitions'] as AddPartitionsResult | undefined
  return {
    topic,
    from: add?.from ?? originalPartitionCount(ctx) ?? to,
    to,
    pausedMs: pause && resumed ? resumed.resumedAt - pause.pausedAt : null,
    drainMs: drain?.drainMs ?? null,
    addMs: add?.addMs ?? null,
    checkedRecords: keyed.length,
    misplacedRecords: 0,
    watchNext: [
      `kreorg lag ${topic}: every group should consume partitions ${add?.from ?? originalPartitionCount(ctx) ?? '?'}..${to - 1}`,
      'producers or consumers without the agent keep the old layout until their next metadata refresh (metadata.max.age.ms)',
    ],
  }
}

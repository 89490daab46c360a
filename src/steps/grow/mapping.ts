import {setTimeout as sleep} from 'node:timers/promises'

import type {AgentAck, GrowContext, GrowSummary, VerifyMappingResult} from './context.js'

import {KreorgError} from '../../core/errors.js'
import {keyBytes} from '../../kafka/murmur2.js'
import {predictPartition} from '../../kafka/partitioners.js'
import {sampleTopic} from '../../kafka/sampler.js'
import {originalPartitionCount} from './lease.js'
import {releaseLease} from './preflight.js'
import {agentsToReach} from './producers.js'
import {agentWriters} from './writers.js'

/** Deterministic canary keys: the same run asks the same question after a resume. */
export function canaryKeys(runId: string, count = 32): string[] {
  return Array.from({length: count}, (_, i) => `kreorg-canary-${runId}-${i}`)
}

export interface MappingMismatch {
  agentId: string
  problem: string
}

/**
 * Pure comparison of agents' reports with the prediction of each agent's own partitioner at the
 * target count (murmur2 when an agent names none, as agents before protocol 1.1 used it).
 */
export function compareMapping(acks: AgentAck[], keys: string[], target: number): MappingMismatch[] {
  const mismatches: MappingMismatch[] = []
  for (const ack of acks) {
    if (ack.partitionCount !== target) {
      mismatches.push({agentId: ack.agentId, problem: `sees ${ack.partitionCount ?? 'no'} partitions, expected ${target}`})
      continue
    }
    const partitioner = ack.partitioner ?? 'murmur2'
    const predictable = keys.length === 0 || predictPartition(partitioner, keyBytes(keys[0]!), target) !== null
    if (!predictable) {
      mismatches.push({agentId: ack.agentId, problem: `uses partitioner "${partitioner}", which kreorg cannot predict`})
      continue
    }
    const wrong = keys.filter((key) => ack.canary?.[key] !== predictPartition(partitioner, keyBytes(key), target))
    if (wrong.length > 0) {
      mismatches.push({
        agentId: ack.agentId,
        problem: `${wrong.length}/${keys.length} canary keys map elsewhere than ${partitioner} % ${target}`,
      })
    }
  }
  return mismatches
}

/** Pure: whether a record's partition is what one of the producers' partitioners picks at `target`. */
export function placedAsPredicted(key: Uint8Array, partition: number, target: number, partitioners: readonly string[]): boolean {
  const names = partitioners.length > 0 ? partitioners : ['murmur2']
  return names.some((name) => predictPartition(name, key, target) === partition)
}

/** What post-check judges a record with when no agent names its producer id: any agent's partitioner. */
export const ANY_AGENT_PARTITIONER = 'any'

/**
 * Pure: the partitioner each agent's producer id partitions with, from the partitioners the agents
 * reported (agent id → name) and the producer ids they write with (the writer inventory, heartbeats).
 * A producer id claimed by agents reporting different partitioners is left out (judged as any agent's).
 */
export function partitionersByProducer(
  reported: Readonly<Record<string, string>>,
  writers: ReadonlyArray<{agentId: string; producerId: number | undefined}>,
): Map<number, string> {
  const byProducer = new Map<number, string>()
  const conflicting = new Set<number>()
  for (const {agentId, producerId} of writers) {
    const partitioner = reported[agentId]
    if (producerId === undefined || producerId < 0 || partitioner === undefined) continue
    const known = byProducer.get(producerId)
    if (known !== undefined && known !== partitioner) conflicting.add(producerId)
    byProducer.set(producerId, partitioner)
  }
  for (const producerId of conflicting) byProducer.delete(producerId)
  return byProducer
}

export interface PlacementCheck {
  misplaced: Array<{partition: number; offset: number; expected: string}>
  /** Keyed records checked per partitioner (`any` for records of a producer id no agent named). */
  checkedBy: Record<string, number>
}

/**
 * Pure: post-check's judgement of keyed records written after resume. A record whose producer id is an
 * agent's must be where that agent's own partitioner puts its key (a CRC32 producer's keys by CRC32,
 * a murmur2 producer's by murmur2); a record of any other producer id where any agent's partitioner puts it.
 */
export function checkPlacement(
  records: ReadonlyArray<{key: Uint8Array; partition: number; offset: number; producerId: number}>,
  target: number,
  byProducer: ReadonlyMap<number, string>,
  partitioners: readonly string[],
): PlacementCheck {
  const result: PlacementCheck = {misplaced: [], checkedBy: {}}
  for (const record of records) {
    const own = byProducer.get(record.producerId)
    const names = own === undefined ? partitioners : [own]
    const label = own ?? ANY_AGENT_PARTITIONER
    result.checkedBy[label] = (result.checkedBy[label] ?? 0) + 1
    if (!placedAsPredicted(record.key, record.partition, target, names)) {
      result.misplaced.push({
        partition: record.partition,
        offset: record.offset,
        expected: own ?? (partitioners.length > 0 ? partitioners.join(' or ') : 'murmur2'),
      })
    }
  }
  return result
}

export async function verifyMapping(ctx: GrowContext): Promise<VerifyMappingResult> {
  const {control} = ctx.services
  const {topic, to} = ctx.inputs
  const agents = await agentsToReach(ctx)
  if (agents.length === 0) {
    ctx.warn('no producer agents to verify; producers without an agent must be restarted to see the new partition count')
    return {agents: 0, canaryKeys: 0, partitioners: {}}
  }
  const epoch = ctx.services.epoch
  const keys = canaryKeys(ctx.runId)
  ctx.progress(`asking ${agents.length} agent(s) to refresh metadata and map ${keys.length} canary keys`)
  const pin = originalPartitionCount(ctx)
  await control.refresh(topic, {
    runId: ctx.runId,
    epoch,
    targetPartitions: to,
    canaryKeys: keys,
    ...(pin === undefined ? {} : {pinPartitions: pin}),
  })
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
    throw new KreorgError(
      'precondition',
      `producer agents do not map keys to ${to} partitions: ${mismatches.map((m) => `${m.agentId} ${m.problem}`).join('; ')}`,
      {
        suggestions: [`producers stay paused; fix or restart those producers, then kreorg resume ${ctx.runId}`],
      },
    )
  }
  return {
    agents: acks.length,
    canaryKeys: keys.length,
    partitioners: Object.fromEntries(acks.map((a) => [a.agentId, a.partitioner ?? 'murmur2'])),
  }
}

export async function postCheck(ctx: GrowContext): Promise<GrowSummary> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const resumed = ctx.results['resume-producers']
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
  const records =
    ctx.inputs.samplePerPartition === 0
      ? []
      : await sampleTopic(cluster, topic, {perPartition: ctx.inputs.samplePerPartition, from: start, signal: ctx.signal})
  const keyed = records.filter((r) => r.key !== null)
  const reported = ctx.results['verify-mapping']?.partitioners ?? {}
  const partitioners = [...new Set(Object.values(reported))]
  // Each record is judged by its own writer's partitioner: agents name their producer ids in the writer
  // inventory taken before the alter and in their heartbeats (a restarted producer gets a new one).
  const writers = [
    ...(ctx.results['add-partitions']?.writers?.agentProducers ?? []),
    ...(await agentWriters(cluster, topic, await ctx.services.control.agents(topic)).catch(() => [])),
  ]
  const {misplaced, checkedBy} = checkPlacement(
    keyed.map((r) => ({key: keyBytes(r.key!), partition: r.partition, offset: r.offset, producerId: r.producerId})),
    to,
    partitionersByProducer(reported, writers),
    partitioners,
  )
  await releaseLease(ctx)
  if (misplaced.length > 0) {
    const example = misplaced[0]!
    throw new KreorgError(
      'precondition',
      `${misplaced.length} of ${keyed.length} records written after resume are not where their producers' partitioners put them among ${to} partitions (e.g. partition ${example.partition} offset ${example.offset}, expected by ${example.expected} % ${to}): a producer uses another partitioner or an old partition count`,
      {suggestions: ['run `kreorg producers ' + topic + '` and `kreorg audit ' + topic + '` to find it']},
    )
  }
  return {...growSummary(ctx, keyed.length), checkedByPartitioner: checkedBy}
}

/** The run's summary: timings of each phase, what post-check saw and what to update next. */
export function growSummary(ctx: GrowContext, checkedRecords: number): GrowSummary {
  const {topic, to} = ctx.inputs
  const {'pause-producers': pause, 'resume-producers': resumed, 'add-partitions': add, 'prime-consumers': prime, drain} = ctx.results
  const from = add?.from ?? originalPartitionCount(ctx)
  return {
    topic,
    from: from ?? to,
    to,
    pausedMs: pause && resumed ? resumed.resumedAt - pause.pauseSentAt : null,
    primeMs: prime?.pickupMs ?? null,
    drainMs: drain?.drainMs ?? null,
    addMs: add?.addMs ?? null,
    checkedRecords,
    misplacedRecords: 0,
    watchNext: [
      `kreorg lag ${topic}: every group should consume partitions ${from ?? '?'}..${to - 1}`,
      'producers or consumers without the agent keep the old layout until their next metadata refresh (metadata.max.age.ms)',
      ...declaredCountLines(topic, to),
    ],
    declaredCounts: declaredCountLines(topic, to),
  }
}

/**
 * Infrastructure as code declares the count too, and a declaration left lower is not harmless (issue 16):
 * the Terraform Kafka provider (Mongey/kafka) forces a new resource when the declared `partitions` is
 * below the real count, so the next apply deletes and recreates the topic with all its data; Strimzi's
 * Topic Operator cannot decrease partitions and marks the KafkaTopic NotReady until spec.partitions is
 * raised; topicctl apply fails on the topic ("fewer partitions in topic config than observed").
 */
export function declaredCountLines(topic: string, to: number): string[] {
  return [
    `Terraform: set partitions = ${to} on the kafka_topic resource for ${topic}; a lower value makes the next plan destroy and recreate the topic (all its data lost)`,
    `Strimzi: set spec.partitions: ${to} on the KafkaTopic for ${topic}; a lower value cannot be applied (partitions cannot be decreased), so the KafkaTopic goes NotReady and stops reconciling other changes`,
    `topicctl: set partitions: ${to} in ${topic}'s topic config; a lower value makes topicctl apply fail for the topic (fewer partitions in config than observed)`,
  ]
}

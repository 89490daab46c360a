import type {KafkaCluster} from '../../kafka/types.js'
import type {GrowContext, GrowInputs, PreflightResult} from './context.js'
import type {PerTopic} from './results.js'

import {KreorgError} from '../../core/errors.js'
import {checkPermissions, formatMissingPermissions} from '../../kafka/acl.js'
import {readTopicLag} from '../../kafka/lag.js'
import {growTargets} from './inputs.js'
import {ensureLease} from './lease.js'
import {coPartitionBreak, eachTopic} from './topic-set.js'

export interface TopicHealth {
  partitions: number
  minInsyncReplicas: number
  brokers: number
  problems: string[]
  /** Reasons grow refuses this topic whatever its health (compacted data). */
  refusals: string[]
}

/**
 * A compacted topic keeps the last value of a moved key in its old partition forever: a consumer
 * rebuilding state from the start sees a stale value resurrected or a deletion lost (issue 16).
 */
export function compactionRefusal(topic: string, cleanupPolicy: string | undefined): string | undefined {
  if (
    !cleanupPolicy ||
    !cleanupPolicy
      .split(',')
      .map((p) => p.trim())
      .includes('compact')
  )
    return undefined
  return `${topic} is compacted (cleanup.policy=${cleanupPolicy}): after a grow the last value of every moved key stays in its old partition for good, so a consumer rebuilding state from the start (a KTable, a cache, a new group on earliest) would see stale values come back and deletions lost; kreorg does not grow compacted topics`
}

/**
 * The control topic's settings the protocol relies on: compaction keeps every key's latest command
 * and lease, LogAppendTime gives one clock for leases, and replication keeps it writable.
 */
export async function checkControlTopic(cluster: KafkaCluster, controlTopic: string): Promise<{problems: string[]; warnings: string[]}> {
  const problems: string[] = []
  const warnings: string[] = []
  const topics = await cluster.listTopics()
  if (!topics.includes(controlTopic)) return {problems, warnings}
  const config = await cluster.topicConfig(controlTopic, ['cleanup.policy', 'message.timestamp.type', 'min.insync.replicas'])
  const description = await cluster.describeTopic(controlTopic)
  const policy = config['cleanup.policy'] ?? 'delete'
  if (!policy.split(',').includes('compact')) {
    problems.push(
      `control topic ${controlTopic} has cleanup.policy=${policy}: it must be compacted, or commands and leases are deleted by retention (kafka-configs --alter --add-config cleanup.policy=compact)`,
    )
  }
  const timestampType = config['message.timestamp.type'] ?? 'CreateTime'
  if (timestampType !== 'LogAppendTime') {
    problems.push(
      `control topic ${controlTopic} has message.timestamp.type=${timestampType}: leases need the broker's clock (kafka-configs --alter --add-config message.timestamp.type=LogAppendTime)`,
    )
  }
  const replicationFactor = Math.max(0, ...description.partitions.map((p) => p.replicas.length))
  const minInsync = Number(config['min.insync.replicas'] ?? 1)
  if (minInsync > replicationFactor) {
    problems.push(
      `control topic ${controlTopic} has min.insync.replicas=${minInsync} above its replication factor ${replicationFactor}: nothing can be written to it`,
    )
  }
  const brokers = (await cluster.describeCluster()).brokers.length
  if (replicationFactor < Math.min(3, brokers)) {
    warnings.push(
      `control topic ${controlTopic} has replication factor ${replicationFactor} on a ${brokers}-broker cluster: losing one broker can stop every pause and resume`,
    )
  }
  return {problems, warnings}
}

/** Read-only checks shared by preflight and `--dry-run`. */
export async function checkTopicHealth(cluster: KafkaCluster, inputs: GrowInputs): Promise<TopicHealth> {
  const {topic, to} = inputs
  const description = await cluster.describeTopic(topic)
  const partitions = description.partitions.length
  if (to <= partitions) {
    throw new KreorgError('precondition', `${topic} already has ${partitions} partitions; --to ${to} must be above that`, {
      suggestions: [`pick a count above ${partitions}, e.g. --to ${partitions * 2} (a multiple keeps more keys in place)`],
    })
  }
  const config = await cluster.topicConfig(topic, ['min.insync.replicas', 'cleanup.policy'])
  const minInsyncReplicas = Number(config['min.insync.replicas'] ?? 1)
  const compacted = compactionRefusal(topic, config['cleanup.policy'])
  const info = await cluster.describeCluster()
  const problems: string[] = []
  // New partitions get the topic's replication factor, placed on live brokers only: with a broker down
  // for good createPartitions would fail after the pause and drain, so refuse before pausing anything.
  const replicationFactor = Math.max(0, ...description.partitions.map((p) => p.replicas.length))
  if (!inputs.replicaAssignment && replicationFactor > info.brokers.length) {
    problems.push(
      `new partitions need replication factor ${replicationFactor} but only ${info.brokers.length} broker(s) are live (${info.brokers
        .map((b) => b.nodeId)
        .sort((a, b) => a - b)
        .join(', ')})`,
    )
  }
  for (const p of description.partitions) {
    if (p.leader < 0) problems.push(`partition ${p.partition} has no leader`)
    else if (p.isr.length < minInsyncReplicas)
      problems.push(`partition ${p.partition} has ${p.isr.length} in-sync replicas, below min.insync.replicas=${minInsyncReplicas}`)
  }
  if (inputs.replicaAssignment) {
    const expected = to - partitions
    const got = inputs.replicaAssignment.length
    if (got !== expected) {
      throw new KreorgError('usage', `--replica-assignment lists ${got} partitions but growing ${partitions}→${to} adds ${expected}`, {
        suggestions: ['give one line of broker ids per new partition'],
      })
    }
    const known = new Set(info.brokers.map((b) => b.nodeId))
    const unknown = inputs.replicaAssignment.flat().filter((id) => !known.has(id))
    if (unknown.length > 0) {
      throw new KreorgError('usage', `--replica-assignment names unknown broker ids ${[...new Set(unknown)].join(', ')}`, {
        suggestions: [`brokers in this cluster: ${[...known].sort((a, b) => a - b).join(', ')}`],
      })
    }
  }
  return {partitions, minInsyncReplicas, brokers: info.brokers.length, problems, refusals: compacted ? [compacted] : []}
}

/**
 * Least privilege, checked before anything is paused: a run that could pause producers but not add
 * partitions would hold them for nothing. Returns one line per missing permission.
 */
export async function missingPermissions(cluster: KafkaCluster, inputs: GrowInputs): Promise<string[]> {
  const groups = inputs.groups ?? (await readTopicLag(cluster, inputs.topic)).groups.map((g) => g.groupId)
  const report = await checkPermissions(cluster, {
    topic: inputs.topic,
    groups,
    controlTopic: inputs.controlTopic,
    targetPartitions: inputs.to,
  })
  return report.missing.length === 0 ? [] : [`missing permissions: ${formatMissingPermissions(report.missing)}`]
}

/**
 * Every topic's preflight, after checking that the set keeps today's co-partitioning (topics with
 * equal counts now end with equal counts).
 */
export async function preflightTopics(ctx: GrowContext): Promise<PerTopic<PreflightResult>> {
  const targets = growTargets(ctx.inputs)
  if (targets.length > 1) {
    const counts = new Map<string, number>()
    for (const {topic} of targets) counts.set(topic, (await ctx.services.cluster.describeTopic(topic)).partitions.length)
    const broken = coPartitionBreak(targets, counts)
    if (broken) throw broken
  }
  return eachTopic(preflight)(ctx)
}

export async function preflight(ctx: GrowContext): Promise<PreflightResult> {
  ctx.progress(`checking ${ctx.inputs.topic}`)
  const health = await checkTopicHealth(ctx.services.cluster, ctx.inputs)
  if (health.refusals.length > 0) {
    throw new KreorgError('precondition', health.refusals.join('; '), {
      suggestions: ['nothing was changed; producers were not paused or pinned'],
    })
  }
  if (health.problems.length > 0) {
    throw new KreorgError('precondition', `${ctx.inputs.topic} is not healthy: ${health.problems.join('; ')}`, {
      suggestions: ['wait for the partitions to recover (kafka-topics --describe --under-replicated-partitions), then rerun'],
    })
  }
  ctx.progress('checking permissions')
  const denied = await missingPermissions(ctx.services.cluster, ctx.inputs)
  if (denied.length > 0) {
    throw new KreorgError('precondition', `${denied.join('; ')}`, {
      suggestions: ['ask a cluster admin for these ACLs; nothing was paused or changed'],
    })
  }
  ctx.progress(`checking control topic ${ctx.inputs.controlTopic}`)
  const control = await checkControlTopic(ctx.services.cluster, ctx.inputs.controlTopic)
  for (const warning of control.warnings) ctx.warn(warning)
  if (control.problems.length > 0) {
    throw new KreorgError('precondition', control.problems.join('; '), {
      suggestions: ['fix the control topic configuration, then rerun; nothing was changed'],
    })
  }
  ctx.progress('taking the topic lease')
  const lease = await ensureLease(ctx)
  return {
    partitions: health.partitions,
    brokers: health.brokers,
    minInsyncReplicas: health.minInsyncReplicas,
    leaseExpiresAt: lease.expiresAt,
  }
}

export async function releaseLease(ctx: GrowContext): Promise<void> {
  await ctx.services.lease?.release()
  ctx.services.lease = undefined
}

import {checkPermissions, formatMissingPermissions} from '../../kafka/acl.js'
import {readTopicLag} from '../../kafka/lag.js'
import {KreorgError} from '../../runbook/errors.js'
import type {KafkaCluster} from '../../kafka/types.js'
import type {GrowInputs, PreflightResult} from './context.js'
import {ensureLease, type GrowContext} from './lease.js'

export interface TopicHealth {
  partitions: number
  minInsyncReplicas: number
  brokers: number
  problems: string[]
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
  const config = await cluster.topicConfig(topic, ['min.insync.replicas'])
  const minInsyncReplicas = Number(config['min.insync.replicas'] ?? 1)
  const info = await cluster.describeCluster()
  const problems: string[] = []
  // New partitions get the topic's replication factor, placed on live brokers only: with a broker down
  // for good createPartitions would fail after the pause and drain, so refuse before pausing anything.
  const replicationFactor = Math.max(0, ...description.partitions.map((p) => p.replicas.length))
  if (!inputs.replicaAssignment && replicationFactor > info.brokers.length) {
    problems.push(
      `new partitions need replication factor ${replicationFactor} but only ${info.brokers.length} broker(s) are live (${info.brokers.map((b) => b.nodeId).sort((a, b) => a - b).join(', ')})`,
    )
  }
  for (const p of description.partitions) {
    if (p.leader < 0) problems.push(`partition ${p.partition} has no leader`)
    else if (p.isr.length < minInsyncReplicas) problems.push(`partition ${p.partition} has ${p.isr.length} in-sync replicas, below min.insync.replicas=${minInsyncReplicas}`)
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
  return {partitions, minInsyncReplicas, brokers: info.brokers.length, problems}
}

/**
 * Least privilege, checked before anything is paused: a run that could pause producers but not add
 * partitions would hold them for nothing. Returns one line per missing permission.
 */
export async function missingPermissions(cluster: KafkaCluster, inputs: GrowInputs): Promise<string[]> {
  const groups = inputs.groups ?? (await readTopicLag(cluster, inputs.topic)).groups.map((g) => g.groupId)
  const report = await checkPermissions(cluster, {topic: inputs.topic, groups, controlTopic: inputs.controlTopic, targetPartitions: inputs.to})
  return report.missing.length === 0 ? [] : [`missing permissions: ${formatMissingPermissions(report.missing)}`]
}

export async function preflight(ctx: GrowContext): Promise<PreflightResult> {
  ctx.progress(`checking ${ctx.inputs.topic}`)
  const health = await checkTopicHealth(ctx.services.cluster, ctx.inputs)
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

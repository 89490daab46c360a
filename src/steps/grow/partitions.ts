import {readTopicLag} from '../../kafka/lag.js'
import {KreorgError, describeCause} from '../../runbook/errors.js'
import {formatDuration} from '../../cli/duration.js'
import {setTimeout as sleep} from 'node:timers/promises'
import {isTransientKafkaError, pollUntil} from '../poll.js'
import type {AddPartitionsResult, DrainResult} from './context.js'
import {movedPartitions} from './drain.js'
import {originalPartitionCount, requireFreshLease, type GrowContext} from './lease.js'

const STEP = 'add-partitions'

export function newPartitionIds(from: number, to: number): number[] {
  return Array.from({length: to - from}, (_, i) => from + i)
}

async function partitionCount(ctx: GrowContext): Promise<number> {
  return (await ctx.services.cluster.describeTopic(ctx.inputs.topic)).partitions.length
}

/**
 * Repeats read-only or repeat-safe cluster work while a broker or the controller fails over: ~30 s,
 * as kafkajs keeps sending admin requests to a dead node until its metadata moves on.
 */
async function throughFailover<T>(ctx: GrowContext, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (attempt >= 15 || !isTransientKafkaError(error)) throw error
      ctx.progress(`${describeCause(error)}; retrying`)
      await sleep(2_000, undefined, {signal: ctx.signal})
    }
  }
}

/**
 * Skipped when the topic already has the target count (e.g. the alter landed just before a crash).
 * The engine runs this check before the step: a node dying right then must not fail the run either.
 */
export async function alreadyGrown(ctx: GrowContext): Promise<boolean> {
  return throughFailover(ctx, async () => (await partitionCount(ctx)) >= ctx.inputs.to)
}

/**
 * The pre-alter checks and the alter, retried while a broker or the controller fails over (every
 * attempt re-checks the lease and the offsets, and the alter itself is safe to repeat).
 */
export async function addPartitions(ctx: GrowContext): Promise<AddPartitionsResult> {
  return throughFailover(ctx, () => addPartitionsOnce(ctx))
}

async function addPartitionsOnce(ctx: GrowContext): Promise<AddPartitionsResult> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  requireFreshLease(ctx, STEP)
  const drained = ctx.results['drain'] as DrainResult | undefined
  const from = await partitionCount(ctx)
  if (from >= to) return {from, to, addedAt: Date.now(), addMs: 0, alreadyAtTarget: true}
  // Only the drained groups: a full listing costs a request per group in the cluster. End offsets did
  // not move, so lag here means a group re-reads what it had consumed (it rewound, or a rebalance after
  // a coordinator failover replayed uncommitted work): safe to wait for, never safe to alter under.
  const filter = ctx.inputs.groups ? {groups: ctx.inputs.groups} : drained ? {groups: drained.groups} : {}
  let lagging: string[] = []
  await pollUntil(
    async () => {
      const lag = await readTopicLag(cluster, topic, filter)
      lagging = lag.groups.filter((g) => !ctx.inputs.ignoreGroups.includes(g.groupId) && g.total > 0).map((g) => `${g.groupId} (${g.total})`)
      if (lagging.length > 0) ctx.progress(`lag again after drain, waiting: ${lagging.join(', ')}`)
      return lagging.length === 0 ? true : undefined
    },
    {
      intervalMs: 100,
      timeoutMs: ctx.inputs.drainTimeoutMs,
      signal: ctx.signal,
      timeoutMessage: (ms) => `groups ${lagging.join(', ')} had lag again after drain and did not catch up within ${formatDuration(ms)}; not adding partitions`,
      suggestions: ['a group rewound its offsets; producers were resumed; rerun when it has caught up'],
    },
  )
  // Nothing may have been written since drain finished (checked after any wait above).
  const now = await cluster.endOffsets(topic)
  const moved = drained ? movedPartitions(drained.endOffsets, now) : []
  if (moved.length > 0) {
    throw new KreorgError('unknown-writers', `partitions ${moved.map((m) => m.partition).join(', ')} of ${topic} received records after drain; not adding partitions`, {
      suggestions: ['a producer without the kreorg agent writes to this topic: wrap or stop it, then rerun'],
    })
  }
  requireFreshLease(ctx, STEP)
  const assignments = ctx.inputs.replicaAssignment?.map((replicas) => ({replicas}))
  ctx.progress(`createPartitions ${topic}: ${from} → ${to}`)
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      await cluster.createPartitions(topic, to, assignments)
      break
    } catch (error) {
      // A retried request whose first attempt landed reports INVALID_PARTITIONS; the count tells the truth.
      if ((await partitionCount(ctx).catch(() => -1)) === to) break
      // The controller failing over (connection closed/refused, timeout): try again while the lease is fresh.
      if (attempt < 6 && isTransientKafkaError(error)) {
        ctx.progress(`createPartitions failed (${describeCause(error)}); retrying`)
        await sleep(2_000, undefined, {signal: ctx.signal})
        requireFreshLease(ctx, STEP)
        continue
      }
      throw new KreorgError('unexpected', `createPartitions ${topic} → ${to} failed: ${describeCause(error)}`, {cause: error})
    }
  }
  return {from, to, addedAt: Date.now(), addMs: Date.now() - started, alreadyAtTarget: false}
}

/** Every broker must serve the new layout with a leader and a full ISR before anyone is told to use it. */
export async function verifyPartitions(ctx: GrowContext): Promise<{brokers: number; checkedMs: number}> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const started = Date.now()
  const info = await cluster.describeCluster()
  const from = (ctx.results[STEP] as AddPartitionsResult | undefined)?.from ?? originalPartitionCount(ctx) ?? 0
  let pending: string[] = []
  await pollUntil(
    async () => {
      pending = []
      for (const broker of info.brokers) {
        const address = `${broker.host}:${broker.port}`
        const seen = await cluster.describeTopicOnBroker(address, topic)
        if (seen.partitions.length !== to) {
          pending.push(`broker ${broker.nodeId} sees ${seen.partitions.length} partitions`)
          continue
        }
        for (const p of seen.partitions.filter((x) => x.partition >= from)) {
          if (p.leader < 0) pending.push(`partition ${p.partition} has no leader on broker ${broker.nodeId}`)
          else if (p.isr.length < p.replicas.length) pending.push(`partition ${p.partition} ISR ${p.isr.length}/${p.replicas.length}`)
        }
      }
      if (pending.length > 0) ctx.progress(pending.slice(0, 3).join('; '))
      return pending.length === 0 ? true : undefined
    },
    {
      intervalMs: 500,
      timeoutMs: 60_000,
      signal: ctx.signal,
      timeoutMessage: (ms) => `new partitions not ready on every broker after ${formatDuration(ms)}: ${pending.join('; ')}`,
      suggestions: [`the partitions exist; fix the brokers, then kreorg resume ${ctx.runId}`],
    },
  )
  return {brokers: info.brokers.length, checkedMs: Date.now() - started}
}

function joinedMeanwhile(error: unknown): boolean {
  const type = (error as {type?: unknown} | null)?.type
  if (typeof type === 'string' && ['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'REBALANCE_IN_PROGRESS'].includes(type)) return true
  return error instanceof KreorgError && /active member/.test(error.message)
}

/**
 * New partitions must be owned before producers write to them: an empty group gets offset 0
 * committed (so a later `auto.offset.reset=latest` cannot skip records, KAFKA-12478); an active group
 * must have picked them up in its assignment.
 */
export async function primeConsumers(ctx: GrowContext): Promise<{committed: string[]; active: string[]; pickupMs: number}> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const drained = ctx.results['drain'] as DrainResult | undefined
  // add-partitions may have been skipped on a redo (the topic already had the target): preflight knows.
  const from = (ctx.results[STEP] as AddPartitionsResult | undefined)?.from ?? originalPartitionCount(ctx) ?? to
  const fresh = newPartitionIds(from, to)
  const groupIds = (drained?.groups ?? ctx.inputs.groups ?? []).filter((g) => !ctx.inputs.ignoreGroups.includes(g))
  const started = Date.now()
  const committed: string[] = []
  const active: string[] = []
  for (const description of await cluster.describeGroups(groupIds)) {
    if (description.members.length === 0) {
      const existing = new Map((await cluster.committedOffsets(description.groupId, topic)).map((o) => [o.partition, o.offset]))
      const missing = fresh.filter((p) => (existing.get(p) ?? -1) < 0)
      if (missing.length > 0) {
        ctx.progress(`committing offset 0 on partitions ${missing.join(', ')} for empty group ${description.groupId}`)
        try {
          await cluster.commitOffsets(description.groupId, topic, missing.map((partition) => ({partition, offset: 0})))
        } catch (error) {
          // Members (re)joined since describeGroups (e.g. after a coordinator failover): Kafka refuses the
          // commit, and the group is active after all, so it must pick the partitions up itself.
          if (!joinedMeanwhile(error)) throw error
          active.push(description.groupId)
          continue
        }
      }
      committed.push(description.groupId)
    } else {
      active.push(description.groupId)
    }
  }
  let waiting: string[] = []
  if (active.length > 0) {
    await pollUntil(
      async () => {
        waiting = []
        for (const g of await cluster.describeGroups(active)) {
          const owned = new Set(g.members.flatMap((m) => m.assignment[topic] ?? []))
          const missing = fresh.filter((p) => !owned.has(p))
          if (g.members.length > 0 && missing.length > 0) waiting.push(`${g.groupId} (missing ${missing.join(',')})`)
        }
        if (waiting.length > 0) ctx.progress(`waiting for groups to pick up the new partitions: ${waiting.join('; ')}`)
        return waiting.length === 0 ? true : undefined
      },
      {
        intervalMs: 100, // one DescribeGroups request: cheap, and every 100 ms saved is pause time
        timeoutMs: ctx.inputs.pickupTimeoutMs,
        signal: ctx.signal,
        timeoutMessage: (ms) => `consumer groups did not pick up the new partitions within ${formatDuration(ms)}: ${waiting.join('; ')}`,
        suggestions: [
          `consumers see new partitions at their next metadata refresh (metadata.max.age.ms, 5 min by default); kreorg resume ${ctx.runId} continues waiting`,
        ],
      },
    )
  }
  return {committed, active, pickupMs: Date.now() - started}
}

import type {AddPartitionsResult, GrowContext, VerifyPartitionsResult} from './context.js'
import type {PerTopic} from './results.js'

import {formatDuration} from '../../core/duration.js'
import {describeCause, KreorgError} from '../../core/errors.js'
import {retry} from '../../core/retry.js'
import {isTransientKafkaError} from '../../kafka/errors.js'
import {connectInventoryInputs} from '../connect/steps.js'
import {pollUntil} from '../poll.js'
import {incomplete} from './incomplete.js'
import {originalPartitionCount, requireFreshLease} from './lease.js'
import {perTopicResult, topicViews} from './topic-set.js'
import {takeWriterInventory, type WriterInventory, writerInventoryInputs} from './writers.js'

export {newPartitionIds} from './prime.js'

const STEP = 'add-partitions'

async function partitionCount(ctx: GrowContext): Promise<number> {
  return (await ctx.services.cluster.describeTopic(ctx.inputs.topic)).partitions.length
}

/**
 * Repeats read-only or repeat-safe cluster work while a broker or the controller fails over: ~30 s,
 * as kafkajs keeps sending admin requests to a dead node until its metadata moves on.
 */
function throughFailover<T>(ctx: GrowContext, work: () => Promise<T>): Promise<T> {
  return retry(work, {
    attempts: 15,
    delayMs: 2000,
    signal: ctx.signal,
    retryIf: isTransientKafkaError,
    onRetry: (error) => ctx.progress(`${describeCause(error)}; retrying`),
  })
}

/**
 * Skipped when every topic already has its target count (e.g. the alter landed just before a crash).
 * The engine runs this check before the step: a node dying right then must not fail the run either.
 */
export async function alreadyGrown(ctx: GrowContext): Promise<boolean> {
  return throughFailover(ctx, async () => {
    for (const view of topicViews(ctx)) if ((await partitionCount(view)) < view.inputs.to) return false
    return true
  })
}

/**
 * The pre-alter checks and the alter, retried while a broker or the controller fails over (every
 * attempt re-checks the lease and the offsets, and the alter itself is safe to repeat).
 */
export async function addPartitions(ctx: GrowContext): Promise<PerTopic<AddPartitionsResult>> {
  try {
    return await throughFailover(ctx, () => addPartitionsOnce(ctx))
  } catch (error) {
    // Whatever failed, once a count changed producers are pinned to a topic that has grown.
    let grown = false
    for (const view of topicViews(ctx)) {
      grown ||= await partitionCount(view).then(
        (count) => count > (originalPartitionCount(view) ?? count),
        () => false,
      )
    }
    throw grown ? incomplete(ctx, error) : error
  }
}

/**
 * Every live agent must partition with `from`: those that acked the pin, and any that started
 * since (they read the pin in force at start-up and report it in their heartbeat).
 */
async function requirePinnedAgents(ctx: GrowContext, from: number): Promise<void> {
  const pinned = new Set(ctx.results['pin-producers']?.agents ?? [])
  let unpinned: string[] = []
  await pollUntil(
    async () => {
      const agents = await ctx.services.control.agents(ctx.inputs.topic)
      unpinned = agents.filter((a) => !pinned.has(a.agentId) && a.pinnedPartitions !== from).map((a) => `${a.agentId} (${a.host})`)
      return unpinned.length === 0 ? true : undefined
    },
    {
      intervalMs: 250,
      timeoutMs: ctx.inputs.ackTimeoutMs,
      signal: ctx.signal,
      timeoutMessage: () =>
        `agents ${unpinned.join(', ')} started after the pin and do not report being pinned to ${from} partitions; not adding partitions`,
      suggestions: ['upgrade those agents to control protocol 1.1, then rerun; nothing was changed'],
    },
  ).catch((error: unknown) => {
    if (error instanceof KreorgError && error.code === 'timeout')
      throw new KreorgError('precondition', error.message, {suggestions: error.suggestions})
    throw error
  })
}

type Prepared =
  | {view: GrowContext; from: number; alreadyAtTarget: true}
  | {view: GrowContext; from: number; alreadyAtTarget: false; inventory: WriterInventory}

/** One topic's checks right before the alter: lease, pin, every agent pinned, no writer kreorg cannot account for. */
async function prepareAlter(ctx: GrowContext): Promise<Prepared> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  requireFreshLease(ctx, STEP)
  const from = await partitionCount(ctx)
  if (from >= to) return {view: ctx, from, alreadyAtTarget: true}
  const pin = ctx.results['pin-producers']?.pinPartitions ?? originalPartitionCount(ctx)
  if (pin !== undefined && pin !== from) {
    throw new KreorgError(
      'precondition',
      `${topic} has ${from} partitions but producers are pinned to ${pin}: the topic changed since preflight; not adding partitions`,
      {
        suggestions: ['someone else altered the topic; check it, then start a new run'],
      },
    )
  }
  await requirePinnedAgents(ctx, from)
  // The last look before the irreversible step: a writer kreorg cannot account for would write to the
  // new partitions behind the pin's back.
  ctx.progress('taking the writer inventory again')
  const inventory = await takeWriterInventory(
    cluster,
    ctx.services.control,
    await connectInventoryInputs(ctx, writerInventoryInputs(ctx.inputs)),
  )
  if (inventory.problems.length > 0) {
    throw new KreorgError('unknown-writers', `not adding partitions to ${topic}: ${inventory.problems.join('; ')}`, {
      suggestions: ['nothing was changed; the pin is lifted and producers keep running'],
    })
  }
  return {view: ctx, from, alreadyAtTarget: false, inventory}
}

async function addPartitionsOnce(ctx: GrowContext): Promise<PerTopic<AddPartitionsResult>> {
  const {cluster} = ctx.services
  const prepared: Prepared[] = []
  for (const view of topicViews(ctx)) prepared.push(await prepareAlter(view))
  const pending = prepared.filter((p) => !p.alreadyAtTarget)
  for (const p of pending) requireFreshLease(p.view, STEP)
  const requests = pending.map(({view}) => ({
    topic: view.inputs.topic,
    totalCount: view.inputs.to,
    ...(view.inputs.replicaAssignment ? {assignments: view.inputs.replicaAssignment.map((replicas) => ({replicas}))} : {}),
  }))
  const allAtTarget = async () => {
    for (const {view} of pending) if ((await partitionCount(view).catch(() => -1)) !== view.inputs.to) return false
    return true
  }
  const started = Date.now()
  let alterFailure: unknown
  if (requests.length > 0) {
    const what = pending.map((p) => `${p.view.inputs.topic}: ${p.from} → ${p.view.inputs.to}`).join(', ')
    ctx.progress(`createPartitions ${what}`)
    try {
      // The controller failing over (connection closed/refused, timeout): try again while the leases are fresh.
      // Several topics go in one request: a join reading them should never see one grown and not the other.
      await retry(
        async (attempt) => {
          if (attempt > 1) for (const p of pending) requireFreshLease(p.view, STEP)
          try {
            await cluster.createPartitionsForTopics(requests)
          } catch (error) {
            // A retried request whose first attempt landed reports INVALID_PARTITIONS; the counts tell the truth.
            if (await allAtTarget()) return
            alterFailure = error
            throw error
          }
        },
        {
          attempts: 6,
          delayMs: 2000,
          signal: ctx.signal,
          retryIf: isTransientKafkaError,
          onRetry: (error) => ctx.progress(`createPartitions failed (${describeCause(error)}); retrying`),
        },
      )
    } catch (error) {
      // A lapsed lease or Ctrl-C between attempts stops the step as it is; only the alter's own failure is wrapped.
      if (error !== alterFailure) throw error
      const asked = pending.map((p) => `${p.view.inputs.topic} → ${p.view.inputs.to}`).join(', ')
      throw new KreorgError('unexpected', `createPartitions ${asked} failed: ${describeCause(error)}`, {cause: error})
    }
  }
  const addedAt = Date.now()
  return perTopicResult(
    ctx,
    prepared.map((p): AddPartitionsResult => {
      const to = p.view.inputs.to
      if (p.alreadyAtTarget) return {from: p.from, to, addedAt, addMs: 0, alreadyAtTarget: true}
      const {agentProducers, markerProducers, ignoredProducers, notes} = p.inventory
      return {
        from: p.from,
        to,
        addedAt,
        addMs: addedAt - started,
        alreadyAtTarget: false,
        writers: {agentProducers, markerProducers, ignoredProducers, notes},
      }
    }),
  )
}

/** Every broker must serve the new layout with a leader and a full ISR before anyone is told to use it. */
export async function verifyPartitions(ctx: GrowContext): Promise<VerifyPartitionsResult> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const started = Date.now()
  const info = await cluster.describeCluster()
  const from = ctx.results[STEP]?.from ?? originalPartitionCount(ctx) ?? 0
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

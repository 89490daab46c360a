import type {PartitionOffsets} from '../../kafka/types.js'
import type {DrainResult, GrowContext, QuiesceResult} from './context.js'

import {formatDuration} from '../../core/duration.js'
import {KreorgError} from '../../core/errors.js'
import {pollUntil} from '../poll.js'
import {movedSince, readHwmLag} from './group-scan.js'
import {originalPartitionCount} from './lease.js'

export {movedSince as movedPartitions} from './group-scan.js'

/**
 * Right after every agent acked the pause: the high watermarks (read_uncommitted, so an open
 * transaction's writes count). Nothing may move them until resume; the quiet window runs during drain.
 */
export async function quiesce(ctx: GrowContext): Promise<QuiesceResult> {
  const highWatermarksNow = await ctx.services.cluster.highWatermarks(ctx.inputs.topic)
  return {highWatermarks: highWatermarksNow, snapshotAt: Date.now(), quietMs: ctx.inputs.quietPeriodMs}
}

export function writesSinceSnapshotError(topic: string, before: PartitionOffsets[], after: PartitionOffsets[]): KreorgError | undefined {
  const moved = movedSince(before, after)
  if (moved.length === 0) return undefined
  return new KreorgError(
    'unknown-writers',
    `records were appended to ${topic} partitions ${moved.map((m) => `${m.partition} (+${m.appended})`).join(', ')} while every agent was paused: a producer without the kreorg agent writes to this topic`,
    {suggestions: ['find it with `kreorg producers` and the broker request logs, wrap it with kreorg/agent or stop it']},
  )
}

/** Open transactions on the topic, named by transactional id where the coordinator knows it. */
async function openTransactions(ctx: GrowContext): Promise<string[]> {
  const {cluster} = ctx.services
  const open = new Map<number, number[]>()
  for (const p of await cluster.describeProducers(ctx.inputs.topic)) {
    for (const producer of p.producers)
      if (producer.currentTxnStartOffset >= 0) open.set(producer.producerId, [...(open.get(producer.producerId) ?? []), p.partition])
  }
  if (open.size === 0) return []
  const names = new Map(
    (await cluster.listTransactions({producerIds: [...open.keys()]}).catch(() => [])).map((t) => [t.producerId, t.transactionalId]),
  )
  return [...open].map(
    ([producerId, partitions]) => `${names.get(producerId) ?? `producer id ${producerId}`} on partition(s) ${partitions.join(',')}`,
  )
}

/** How often drain lists every consumer group again (a group may start consuming mid-drain). */
const FULL_LISTING_EVERY_MS = 3000

/**
 * Every group has consumed everything up to the high watermarks, the quiet window since the pause
 * has elapsed with the high watermarks unchanged, and no transaction is open on the topic.
 */
export async function drain(ctx: GrowContext): Promise<DrainResult> {
  const {cluster} = ctx.services
  const {topic, ignoreGroups} = ctx.inputs
  const snapshot = ctx.results.quiesce
  if (!snapshot) throw new KreorgError('unexpected', 'drain needs the quiesce snapshot')
  // New partitions hold only kreorg's markers (prime-consumers fenced them): nothing to consume there.
  const markersFrom = ctx.results['add-partitions']?.from ?? originalPartitionCount(ctx) ?? ctx.inputs.to
  const started = Date.now()
  let lastTotal = -1
  let known: string[] | undefined = ctx.inputs.groups
  let lastFullListing = 0
  let why = ''
  const result = await pollUntil(
    async () => {
      const full = !ctx.inputs.groups && (known === undefined || Date.now() - lastFullListing >= FULL_LISTING_EVERY_MS)
      const lag = await readHwmLag(cluster, topic, {...(full || !known ? {} : {groups: known}), ignoreGroups}, markersFrom)
      const moved = writesSinceSnapshotError(topic, snapshot.highWatermarks, lag.highWatermarks)
      if (moved) throw moved
      if (full) {
        known = lag.groups.map((g) => g.groupId)
        lastFullListing = Date.now()
      }
      const stuck = lag.groups.filter((g) => g.total > 0 && (g.members === 0 || g.state === 'Empty' || g.state === 'Dead'))
      if (stuck.length > 0) {
        throw new KreorgError(
          'precondition',
          `group ${stuck.map((g) => `${g.groupId} (${g.total} records)`).join(', ')} has lag and no active members, so it cannot drain`,
          {
            suggestions: [`start its consumers, or rerun with --ignore-group ${stuck[0]!.groupId} if its order does not matter`],
          },
        )
      }
      const total = lag.groups.reduce((sum, g) => sum + g.total, 0)
      if (total !== lastTotal) {
        lastTotal = total
        ctx.progress(
          total === 0
            ? 'all groups drained'
            : lag.groups
                .filter((g) => g.total > 0)
                .map((g) => `${g.groupId}: ${g.total}`)
                .join(', '),
          {lag: Object.fromEntries(lag.groups.map((g) => [g.groupId, g.total]))},
        )
      }
      if (total !== 0) return
      if (!full && !ctx.inputs.groups) {
        lastFullListing = 0 // confirm with a full listing on the next poll
        return
      }
      const quietFor = Date.now() - snapshot.snapshotAt
      if (quietFor < snapshot.quietMs) {
        why = `quiet window: ${formatDuration(snapshot.quietMs - quietFor)} left`
        return
      }
      const open = await openTransactions(ctx)
      if (open.length > 0) {
        throw new KreorgError('unknown-writers', `transactions are open on ${topic} while every agent is paused: ${open.join('; ')}`, {
          suggestions: [
            'an exactly-once producer without an agent (Flink, Streams, Connect) writes to this topic: stop it or wait for it to end',
          ],
        })
      }
      return {groups: lag.groups.map((g) => g.groupId), highWatermarks: lag.highWatermarks}
    },
    {
      intervalMs: 100,
      timeoutMs: Math.max(ctx.inputs.drainTimeoutMs, ctx.inputs.quietPeriodMs),
      signal: ctx.signal,
      timeoutMessage: (ms) =>
        lastTotal > 0
          ? `consumer groups still have ${lastTotal} records of lag on ${topic} after ${formatDuration(ms)}`
          : `drain did not finish within ${formatDuration(ms)} (${why})`,
      suggestions: ['raise --drain-timeout, scale the slow consumers, or --ignore-group a group whose order does not matter'],
    },
  )
  return {...result, drainedAt: Date.now(), drainMs: Date.now() - started}
}

import {setTimeout as sleep} from 'node:timers/promises'
import {readTopicLag} from '../../kafka/lag.js'
import type {PartitionOffsets} from '../../kafka/types.js'
import {KreorgError} from '../../runbook/errors.js'
import {formatDuration} from '../../cli/duration.js'
import {pollUntil} from '../poll.js'
import type {DrainResult} from './context.js'
import {inactiveGroupsWithLag} from './plan.js'
import type {GrowContext} from './lease.js'

export function movedPartitions(before: PartitionOffsets[], after: PartitionOffsets[]): Array<{partition: number; appended: number}> {
  const earlier = new Map(before.map((o) => [o.partition, o.high]))
  return after
    .map((o) => ({partition: o.partition, appended: o.high - (earlier.get(o.partition) ?? o.high)}))
    .filter((o) => o.appended !== 0)
}

/**
 * With every agent paused, end offsets must stand still. If they move, something writes without an
 * agent, and draining would never be safe: stop and name the partitions.
 */
export async function quiesce(ctx: GrowContext): Promise<{endOffsets: PartitionOffsets[]; quietMs: number}> {
  const {cluster} = ctx.services
  const before = await cluster.endOffsets(ctx.inputs.topic)
  ctx.progress(`watching end offsets for ${formatDuration(ctx.inputs.quietPeriodMs)}`)
  await sleep(ctx.inputs.quietPeriodMs, undefined, {signal: ctx.signal})
  const after = await cluster.endOffsets(ctx.inputs.topic)
  const moved = movedPartitions(before, after)
  if (moved.length > 0) {
    const list = moved.map((m) => `${m.partition} (+${m.appended})`).join(', ')
    throw new KreorgError(
      'unknown-writers',
      `records were appended to ${ctx.inputs.topic} partitions ${list} while every agent was paused: a producer without the kreorg agent writes to this topic`,
      {suggestions: ['find it with `kreorg producers` and the broker request logs, wrap it with kreorg/agent or stop it, then rerun']},
    )
  }
  return {endOffsets: after, quietMs: ctx.inputs.quietPeriodMs}
}

/** How often drain re-lists every consumer group (new groups may start consuming mid-drain). */
const FULL_LISTING_EVERY_MS = 3_000

export async function drain(ctx: GrowContext): Promise<DrainResult> {
  const {cluster} = ctx.services
  const {topic, ignoreGroups} = ctx.inputs
  const started = Date.now()
  let lastTotal = -1
  // Listing every group and fetching its offsets costs ~2 ms per group per poll; between full listings
  // only the groups that have offsets on the topic are polled, and a drained result is only accepted
  // from a full listing, so a group that appears mid-drain is never missed.
  let known: string[] | undefined = ctx.inputs.groups
  let lastFullListing = 0
  const result = await pollUntil(
    async () => {
      const full = !ctx.inputs.groups && (known === undefined || Date.now() - lastFullListing >= FULL_LISTING_EVERY_MS)
      const lag = await readTopicLag(cluster, topic, full || !known ? {} : {groups: known})
      if (full) {
        known = lag.groups.map((g) => g.groupId)
        lastFullListing = Date.now()
      }
      const stuck = inactiveGroupsWithLag(lag, ctx.inputs)
      if (stuck.length > 0) {
        throw new KreorgError(
          'precondition',
          `group ${stuck.map((g) => `${g.groupId} (${g.total} records)`).join(', ')} has lag and no active members, so it cannot drain`,
          {suggestions: [`start its consumers, or rerun with --ignore-group ${stuck[0]!.groupId} if its order does not matter`]},
        )
      }
      const groups = lag.groups.filter((g) => !ignoreGroups.includes(g.groupId))
      const total = groups.reduce((sum, g) => sum + g.total, 0)
      if (total !== lastTotal) {
        lastTotal = total
        ctx.progress(
          total === 0 ? 'all groups drained' : groups.filter((g) => g.total > 0).map((g) => `${g.groupId}: ${g.total}`).join(', '),
          {lag: Object.fromEntries(groups.map((g) => [g.groupId, g.total]))},
        )
      }
      if (total !== 0) return undefined
      if (!full && !ctx.inputs.groups) {
        lastFullListing = 0 // confirm with a full listing on the next poll
        return undefined
      }
      return {groups: groups.map((g) => g.groupId), endOffsets: lag.endOffsets}
    },
    {
      intervalMs: 100,
      timeoutMs: ctx.inputs.drainTimeoutMs,
      signal: ctx.signal,
      timeoutMessage: (ms) => `consumer groups still have ${lastTotal} records of lag on ${topic} after ${formatDuration(ms)}`,
      suggestions: ['producers were resumed; raise --drain-timeout, scale the slow consumers, or --ignore-group a group whose order does not matter'],
    },
  )
  return {...result, drainedAt: Date.now(), drainMs: Date.now() - started}
}

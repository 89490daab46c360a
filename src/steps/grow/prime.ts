/**
 * prime-consumers (issue 13): before any producer may write to the new partitions, every group's
 * position there must be proven while producers keep writing, pinned to the old count.
 *
 * - proof: the group committed an offset ≥ 0 on every new partition (Java consumers do on their
 *   next auto-commit once assigned; kafkajs with autoCommitInterval/Threshold once it passes a marker);
 * - an empty group (also one that goes empty while waiting) gets offset 0 committed;
 * - `--trust-group`: assignment coverage counts as proof (kafkajs defaults never commit on empty partitions);
 * - markers: marker-only aborted transactions on new partitions that still lack proof, every few
 *   seconds; consumers pass them and commit their offset + 1;
 * - fence: new partitions hold only those markers, or the run stops.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import type {GrowContext, PrimeConsumersResult} from './context.js'
import type {PositionProof} from './results.js'

import {formatDuration} from '../../core/duration.js'
import {describeCause, KreorgError} from '../../core/errors.js'
import {membersJoinedMeanwhile} from '../../kafka/errors.js'
import {pollUntil} from '../poll.js'
import {MarkerFence} from './fence.js'
import {scanGroups, type ScannedGroup} from './group-scan.js'
import {originalPartitionCount} from './lease.js'
import {markerTransactionalId} from './writers.js'

/** How often markers go to partitions that still lack proof. */
export const MARKER_INTERVAL_MS = 3000
/** How often every group in the cluster is listed again (a group may start consuming meanwhile). */
const LISTING_EVERY_MS = 5000
/** How long records past the verified markers may stay unreadable before the fence gives up. */
const MARKERS_SETTLE_MS = 30_000

export function newPartitionIds(from: number, to: number): number[] {
  return Array.from({length: to - from}, (_, i) => from + i)
}

export type GroupVerdict =
  {kind: 'proven'; proof: PositionProof} | {kind: 'empty'; missing: number[]} | {kind: 'waiting'; missing: number[]; members: string[]}

/**
 * Pure: what a group needs on the new partitions. Committed offsets prove a position; a group
 * without members can be primed from outside; otherwise a trusted group's assignment suffices.
 */
export function judgeGroup(group: ScannedGroup, fresh: readonly number[], topic: string, trusted: boolean): GroupVerdict {
  const missing = fresh.filter((p) => (group.committed.get(p) ?? -1) < 0)
  if (missing.length === 0) return {kind: 'proven', proof: 'committed'}
  if (group.view.members.length === 0) return {kind: 'empty', missing}
  if (trusted) {
    const owned = new Set(group.view.members.flatMap((m) => m.assignment[topic] ?? []))
    if (fresh.every((p) => owned.has(p))) return {kind: 'proven', proof: 'trusted'}
  }
  const members = group.view.members.map((m) => {
    const owned = (m.assignment[topic] ?? []).filter((p) => missing.includes(p))
    const name = m.groupInstanceId !== null ? `${m.clientId} (static ${m.groupInstanceId})` : `${m.clientId}@${m.clientHost}`
    return owned.length > 0 ? `${name} owns ${owned.join(',')}` : name
  })
  return {kind: 'waiting', missing, members}
}

function describeWaiting(waiting: Map<string, {missing: number[]; members: string[]}>): string {
  return [...waiting]
    .map(([groupId, w]) => `${groupId}: no committed offset on ${w.missing.join(',')} (members: ${w.members.join('; ') || 'none'})`)
    .join(' | ')
}

export async function primeConsumers(ctx: GrowContext): Promise<PrimeConsumersResult> {
  const {cluster} = ctx.services
  const {topic, to} = ctx.inputs
  const from = ctx.results['add-partitions']?.from ?? originalPartitionCount(ctx) ?? to
  const fresh = newPartitionIds(from, to)
  const started = Date.now()
  const fence = new MarkerFence(cluster, topic, fresh, markerTransactionalId(ctx.runId))
  const proofs = new Map<string, PositionProof>()
  const waiting = new Map<string, {missing: number[]; members: string[]}>()
  let groups: ScannedGroup[] = []
  let lastListing = 0
  let lastMarkers = 0
  let lastReport = ''
  let lastReportAt = 0

  const writeMarkers = async (partitions: number[]) => {
    try {
      fence.wrote(await cluster.writeAbortMarkers(topic, partitions, fence.transactionalId))
    } catch (error) {
      // A half-done attempt may still add a marker; the fence reads it back either way.
      ctx.progress(`abort markers on ${partitions.join(',')} failed (${describeCause(error)}); retrying at the next interval`)
    }
  }

  if (fresh.length > 0) {
    await pollUntil(
      async () => {
        const scope = {...(ctx.inputs.groups ? {groups: ctx.inputs.groups} : {}), ignoreGroups: ctx.inputs.ignoreGroups}
        const full = Date.now() - lastListing >= LISTING_EVERY_MS
        if (full) {
          groups = await scanGroups(cluster, topic, scope)
          lastListing = Date.now()
        } else {
          // Between listings only the groups still waiting are read again.
          groups = await scanGroups(cluster, topic, {
            groups: groups.map((g) => g.view.groupId).filter((g) => !proofs.has(g)),
            ignoreGroups: scope.ignoreGroups,
          })
        }
        waiting.clear()
        for (const group of groups) {
          const groupId = group.view.groupId
          if (proofs.has(groupId)) continue
          const verdict = judgeGroup(group, fresh, topic, ctx.inputs.trustGroups.includes(groupId))
          if (verdict.kind === 'proven') {
            proofs.set(groupId, verdict.proof)
            ctx.progress(
              `${groupId}: position proven on partitions ${fresh.join(',')} (${verdict.proof === 'trusted' ? 'assignment, --trust-group' : 'committed offsets'})`,
            )
          } else if (verdict.kind === 'empty') {
            // Never for a group with members: Kafka refuses, and kafkajs setOffsets would join a KIP-848 group.
            ctx.progress(`committing offset 0 on partitions ${verdict.missing.join(',')} for empty group ${groupId}`)
            try {
              await cluster.commitOffsets(
                groupId,
                topic,
                verdict.missing.map((partition) => ({partition, offset: 0})),
              )
              proofs.set(groupId, 'primed-empty')
            } catch (error) {
              // Members joined since the description: the group is active after all; judge it next round.
              if (!membersJoinedMeanwhile(error)) throw error
              waiting.set(groupId, {missing: verdict.missing, members: ['(members joined while priming)']})
            }
          } else {
            waiting.set(groupId, {missing: verdict.missing, members: verdict.members})
          }
        }
        await fence.check(await cluster.highWatermarks(topic))
        if (waiting.size === 0) {
          if (full) return true
          lastListing = 0 // a group may have started meanwhile: confirm with a full listing
          return
        }
        if (Date.now() - lastMarkers >= MARKER_INTERVAL_MS) {
          lastMarkers = Date.now()
          const lacking = fresh.filter((p) => [...waiting.values()].some((w) => w.missing.includes(p)))
          await writeMarkers(lacking)
        }
        const report = describeWaiting(waiting)
        if (report !== lastReport || Date.now() - lastReportAt >= 10_000) {
          lastReport = report
          lastReportAt = Date.now()
          ctx.progress(`waiting for positions on the new partitions (producers keep writing, pinned to ${from}): ${report}`, {
            waiting: Object.fromEntries([...waiting].map(([g, w]) => [g, w.missing])),
          })
        }
      },
      {
        intervalMs: 500,
        timeoutMs: ctx.inputs.pickupTimeoutMs,
        signal: ctx.signal,
        timeoutMessage: (ms) =>
          `consumer positions on the new partitions of ${topic} were not proven within ${formatDuration(ms)}: ${describeWaiting(waiting)}`,
        suggestions: [
          'a Java consumer commits once it notices the partitions (its metadata refresh, metadata.max.age.ms, 5 min by default; KIP-848 groups within ~10 s)',
          'a kafkajs consumer commits on empty partitions only with autoCommitInterval or autoCommitThreshold set; if such a group reads new partitions from offset 0, pass --trust-group <group>',
          `producers stay pinned to ${from} partitions; \`kreorg resume ${ctx.runId}\` continues waiting (--prime-timeout raises the limit)`,
        ],
      },
    )
    await settleFence(ctx, fence)
  }
  const groupsProven = [...proofs].map(([groupId, proof]) => ({groupId, proof}))
  return {
    committed: groupsProven.filter((g) => g.proof === 'primed-empty').map((g) => g.groupId),
    active: groupsProven.filter((g) => g.proof === 'committed').map((g) => g.groupId),
    trusted: groupsProven.filter((g) => g.proof === 'trusted').map((g) => g.groupId),
    groups: groupsProven,
    markers: fence.counts(),
    markerProducerId: [...fence.ownProducerIds].at(-1) ?? null,
    pickupMs: Date.now() - started,
  }
}

/** Until every record in the new partitions was read back as a marker of ours: later fences compare exact end offsets. */
async function settleFence(ctx: GrowContext, fence: MarkerFence): Promise<void> {
  const deadline = Date.now() + MARKERS_SETTLE_MS
  for (;;) {
    const hwms = await ctx.services.cluster.highWatermarks(ctx.inputs.topic)
    await fence.check(hwms)
    if (fence.settled(hwms)) return
    if (Date.now() > deadline) {
      throw new KreorgError(
        'unknown-writers',
        `new partitions ${[...fence.unreadable].join(', ')} of ${ctx.inputs.topic} hold records past kreorg's markers that cannot be read back (an open transaction of another producer?)`,
        {
          suggestions: [
            'find the writer (`kreorg producers`, DescribeProducers) and stop it',
            `kreorg resume ${ctx.runId} checks the new partitions again`,
          ],
        },
      )
    }
    await sleep(200, undefined, {signal: ctx.signal})
  }
}

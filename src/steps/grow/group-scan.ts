import type {GroupDescription, KafkaCluster, PartitionOffsets} from '../../kafka/types.js'

/**
 * Which groups a grow must account for, and their lag against high watermarks. A group counts when
 * it has committed offsets on the topic or members assigned to it (one that never committed is
 * still a reader whose position matters).
 */
import {INTERNAL_GROUP_PREFIX} from '../../kafka/lag.js'

const CONCURRENCY = 16

async function mapLimited<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.min(CONCURRENCY, items.length)}, async () => {
      while (next < items.length) {
        const index = next++
        results[index] = await fn(items[index]!)
      }
    }),
  )
  return results
}

export interface GroupScope {
  /** Explicit groups (`--group`); undefined: every group on the topic. */
  groups?: readonly string[]
  ignoreGroups: readonly string[]
}

export interface ScannedGroup {
  view: GroupDescription
  /** partition → committed offset (-1: none). */
  committed: Map<number, number>
}

/** Every group that reads the topic (committed offsets or an assignment), described and with its offsets. */
export async function scanGroups(cluster: KafkaCluster, topic: string, scope: GroupScope): Promise<ScannedGroup[]> {
  const candidates = (scope.groups ?? (await cluster.listGroupIds())).filter(
    (id) => !id.startsWith(INTERNAL_GROUP_PREFIX) && !scope.ignoreGroups.includes(id),
  )
  const offsets = await mapLimited(candidates, async (groupId) => ({groupId, offsets: await cluster.committedOffsets(groupId, topic)}))
  const views = new Map((candidates.length === 0 ? [] : await cluster.describeGroups(candidates)).map((v) => [v.groupId, v]))
  const scanned: ScannedGroup[] = []
  for (const {groupId, offsets: committed} of offsets) {
    const view = views.get(groupId)
    const hasOffsets = committed.some((o) => o.offset >= 0)
    const assigned = view?.members.some((m) => (m.assignment[topic] ?? []).length > 0) ?? false
    if (!scope.groups && !hasOffsets && !assigned) continue
    scanned.push({
      view: view ?? {groupId, state: 'Unknown', type: 'unknown', protocolType: '', assignor: '', members: []},
      committed: new Map(committed.map((o) => [o.partition, o.offset])),
    })
  }
  return scanned
}

export interface HwmGroupLag {
  groupId: string
  state: string
  members: number
  total: number
  partitionsWithLag: number[]
}

export interface HwmLag {
  highWatermarks: PartitionOffsets[]
  groups: HwmGroupLag[]
}

/**
 * Lag against high watermarks (read_uncommitted), read before the group offsets so a lag of 0 means
 * the group had consumed everything written by then. Partitions from `markersFrom` on hold only
 * kreorg's abort markers (the fence checks that separately): a consumer has nothing to read there.
 */
export async function readHwmLag(cluster: KafkaCluster, topic: string, scope: GroupScope, markersFrom: number): Promise<HwmLag> {
  const hwms = await cluster.highWatermarks(topic)
  const groups = await scanGroups(cluster, topic, scope)
  return {
    highWatermarks: hwms,
    groups: groups.map(({view, committed}) => {
      let total = 0
      const partitionsWithLag: number[] = []
      for (const end of hwms) {
        if (end.partition >= markersFrom) continue
        const raw = committed.get(end.partition) ?? -1
        const lag = Math.max(0, end.high - (raw < 0 ? end.low : raw))
        if (lag > 0) partitionsWithLag.push(end.partition)
        total += lag
      }
      return {groupId: view.groupId, state: view.state, members: view.members.length, total, partitionsWithLag}
    }),
  }
}

/** Partitions whose high watermark differs from the snapshot, with how much was appended. */
export function movedSince(before: PartitionOffsets[], after: PartitionOffsets[]): Array<{partition: number; appended: number}> {
  const earlier = new Map(before.map((o) => [o.partition, o.high]))
  return after
    .map((o) => ({partition: o.partition, appended: o.high - (earlier.get(o.partition) ?? o.high)}))
    .filter((o) => o.appended !== 0)
}

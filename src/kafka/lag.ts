import type {GroupDescription, KafkaCluster, PartitionOffsets} from './types.js'

/**
 * Consumer groups kreorg itself creates to read the control topic, sample records or check keys
 * start with this prefix; they never commit on user topics and are left out of lag and drain.
 */
export const INTERNAL_GROUP_PREFIX = 'kreorg-internal-'

export interface PartitionLag {
  partition: number
  /** Committed offset, or null when the group has none for this partition. */
  committed: number | null
  end: number
  /** Records still to be consumed; a partition without a commit counts from the log start. */
  lag: number
}

export interface GroupLag {
  groupId: string
  state: GroupDescription['state']
  /** classic, or consumer (KIP-848, `group.protocol=consumer`); unknown when the group could not be described. */
  protocol: GroupDescription['type']
  members: number
  /** Partitions of the topic currently assigned to members, sorted. */
  assigned: number[]
  partitions: PartitionLag[]
  total: number
}

export interface TopicLag {
  topic: string
  partitionCount: number
  endOffsets: PartitionOffsets[]
  groups: GroupLag[]
  readAt: string
}

/** Bounded parallelism for per-group OffsetFetch requests: fast on 500 groups, gentle on the coordinator. */
const OFFSET_FETCH_CONCURRENCY = 16

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const workers = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  })
  await Promise.all(workers)
  return results
}

export function lagFor(committed: number | null, offsets: PartitionOffsets): number {
  const from = committed === null || committed < 0 ? offsets.low : committed
  return Math.max(0, offsets.high - from)
}

/**
 * Lag of every consumer group that has committed offsets on `topic`. End offsets are read once,
 * fresh, before group offsets, so a lag of 0 means the group had consumed everything present at
 * `readAt` (records written later can only make the next read larger, never hide lag).
 */
export async function readTopicLag(cluster: KafkaCluster, topic: string, options: {groups?: readonly string[]} = {}): Promise<TopicLag> {
  const description = await cluster.describeTopic(topic)
  const readAt = new Date().toISOString()
  const endOffsets = await cluster.endOffsets(topic)
  const candidateIds = (options.groups ?? (await cluster.listGroupIds())).filter((id) => !id.startsWith(INTERNAL_GROUP_PREFIX))
  const withOffsets = await mapLimited(candidateIds, OFFSET_FETCH_CONCURRENCY, async (groupId) => ({
    groupId,
    offsets: await cluster.committedOffsets(groupId, topic),
  }))
  const explicit = options.groups !== undefined
  const relevant = withOffsets.filter((g) => explicit || g.offsets.some((o) => o.offset >= 0))
  const descriptions = new Map((await cluster.describeGroups(relevant.map((g) => g.groupId))).map((d) => [d.groupId, d]))
  const groups = relevant.map(({groupId, offsets}): GroupLag => {
    const committedBy = new Map(offsets.map((o) => [o.partition, o.offset]))
    const partitions = endOffsets.map((end): PartitionLag => {
      const raw = committedBy.get(end.partition)
      const committed = raw === undefined || raw < 0 ? null : raw
      return {partition: end.partition, committed, end: end.high, lag: lagFor(committed, end)}
    })
    const description = descriptions.get(groupId)
    const assigned = (description?.members ?? []).flatMap((m) => m.assignment[topic] ?? []).sort((a, b) => a - b)
    return {
      groupId,
      state: description?.state ?? 'Unknown',
      protocol: description?.type ?? 'unknown',
      members: description?.members.length ?? 0,
      assigned,
      partitions,
      total: partitions.reduce((sum, p) => sum + p.lag, 0),
    }
  })
  return {topic, partitionCount: description.partitions.length, endOffsets, groups, readAt}
}

import type {KafkaCluster} from './types.js'

/**
 * Co-partitioning (issue 16): joins in Kafka Streams and ksqlDB need their input topics to have the
 * same partition count (and the same partitioner), since key k is joined only where partition
 * `hash(k) % N` of each topic meets. Kreorg cannot see joins, but it can see the evidence: another
 * topic with the same partition count read by the same consumer group. Growing only one of them
 * breaks every join between them. Detection is a pure function of what was read
 * (`coPartitionCandidates`); `readCoPartitionCandidates` does the reading.
 */

export interface CoPartitionCandidate {
  topic: string
  /** Its partition count: the same as the topic's being audited or grown. */
  partitions: number
  /** Groups that read both topics (committed offsets or an assignment on each), sorted. */
  groups: string[]
}

/** A group and the other topics it reads (committed offsets or members' assignments). */
export interface GroupTopics {
  groupId: string
  topics: readonly string[]
}

/** Kafka's own topics (`__consumer_offsets`, `__transaction_state`, …) are never join inputs. */
export function isInternalTopic(topic: string): boolean {
  return topic.startsWith('__')
}

/**
 * Other topics with `topic`'s partition count that at least one of `groups` reads too, with the
 * groups that read both; sorted by topic. A topic missing from `partitionCounts` has no candidates.
 */
export function coPartitionCandidates(
  topic: string,
  partitionCounts: ReadonlyMap<string, number>,
  groups: readonly GroupTopics[],
): CoPartitionCandidate[] {
  const count = partitionCounts.get(topic)
  if (count === undefined) return []
  const readers = new Map<string, Set<string>>()
  for (const group of groups) {
    for (const other of group.topics) {
      if (other === topic || isInternalTopic(other) || partitionCounts.get(other) !== count) continue
      const set = readers.get(other) ?? new Set<string>()
      set.add(group.groupId)
      readers.set(other, set)
    }
  }
  return [...readers]
    .map(([other, set]) => ({topic: other, partitions: count, groups: [...set].sort()}))
    .sort((a, b) => a.topic.localeCompare(b.topic))
}

/** One warning line per candidate: which topic, which groups, and what growing only `topic` does. */
export function coPartitionWarning(topic: string, candidate: CoPartitionCandidate, to?: number): string {
  const groups = candidate.groups.length === 1 ? `group ${candidate.groups[0]}` : `groups ${candidate.groups.join(', ')}`
  const grown = to === undefined ? `growing only ${topic}` : `growing only ${topic} to ${to}`
  return (
    `co-partitioning: ${candidate.topic} also has ${candidate.partitions} partitions and ${groups} read${candidate.groups.length === 1 ? 's' : ''} both it and ${topic}; ` +
    `joins (Kafka Streams, ksqlDB) need equal partition counts, so ${grown} breaks any join between them: ` +
    `grow ${candidate.topic}${to === undefined ? '' : ` to ${to}`} in the same window (\`kreorg grow ${topic} ${candidate.topic} --to ${to ?? '<n>'}\`: one pause for both), or confirm these groups do not join the two`
  )
}

/** Bounded parallelism for the per-group OffsetFetch requests. */
const CONCURRENCY = 16

/**
 * Reads what `coPartitionCandidates` needs: every topic's partition count, then for each group that
 * reads `topic`, which of the topics with the same count it has committed offsets on or is assigned.
 */
export async function readCoPartitionCandidates(
  cluster: KafkaCluster,
  topic: string,
  groupIds: readonly string[],
): Promise<CoPartitionCandidate[]> {
  if (groupIds.length === 0) return []
  const counts = await cluster.partitionCounts()
  const count = counts.get(topic)
  const sameCount = [...counts].filter(([t, n]) => t !== topic && n === count && !isInternalTopic(t)).map(([t]) => t)
  if (count === undefined || sameCount.length === 0) return []
  const views = new Map((await cluster.describeGroups([...groupIds])).map((v) => [v.groupId, v]))
  const groups: GroupTopics[] = []
  for (let i = 0; i < groupIds.length; i += CONCURRENCY) {
    const batch = groupIds.slice(i, i + CONCURRENCY)
    const committed = await Promise.all(batch.map(async (groupId) => cluster.committedTopics(groupId, sameCount)))
    for (const [j, groupId] of batch.entries()) {
      const assigned = (views.get(groupId)?.members ?? []).flatMap((m) =>
        Object.entries(m.assignment).flatMap(([t, partitions]) => (partitions.length > 0 ? [t] : [])),
      )
      groups.push({groupId, topics: [...new Set([...committed[j]!, ...assigned])]})
    }
  }
  return coPartitionCandidates(topic, counts, groups)
}

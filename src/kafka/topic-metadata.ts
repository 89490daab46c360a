import type {Admin} from './client.js'
import type {TopicDescription} from './types.js'

/** Topic metadata and group offsets read through the kafkajs admin (the KafkajsCluster methods delegate here). */
import {describeCause, KreorgError} from '../core/errors.js'

/** kafkajs error names that mean "the topic is not there". */
const MISSING_TOPIC_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION'])

function errorType(error: unknown): string | undefined {
  return (error as {type?: string} | undefined)?.type
}

export function mapTopicError(error: unknown, topic: string): unknown {
  if (MISSING_TOPIC_ERRORS.has(errorType(error) ?? '') || /does not host this topic-partition|unknown topic/i.test(describeCause(error))) {
    return new KreorgError('topic-missing', `topic "${topic}" does not exist`, {
      suggestions: ['check the topic name with `kafka-topics --list` or your cluster UI'],
      cause: error,
    })
  }
  return error
}

export async function describeWith(admin: Admin, topic: string): Promise<TopicDescription> {
  // listTopics first: fetchTopicMetadata would otherwise let a broker with auto-create on create it.
  const topics = await admin.listTopics()
  if (!topics.includes(topic)) throw mapTopicError({type: 'UNKNOWN_TOPIC_OR_PARTITION'}, topic)
  try {
    const {topics: described} = await admin.fetchTopicMetadata({topics: [topic]})
    const meta = described.find((t) => t.name === topic)
    if (!meta) throw new KreorgError('topic-missing', `topic "${topic}" does not exist`)
    return {
      name: topic,
      partitions: meta.partitions
        .map((p) => ({
          partition: p.partitionId,
          leader: p.leader,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: [...(p.offlineReplicas ?? [])],
        }))
        .sort((a, b) => a.partition - b.partition),
    }
  } catch (error) {
    throw mapTopicError(error, topic)
  }
}

/** Partition count of every topic: one listing, one metadata request. */
export async function partitionCountsWith(admin: Admin): Promise<Map<string, number>> {
  const topics = await admin.listTopics()
  if (topics.length === 0) return new Map()
  const {topics: described} = await admin.fetchTopicMetadata({topics})
  return new Map(described.map((t) => [t.name, t.partitions.length]))
}

/** Of `topics`, those on which the group has a committed offset on at least one partition (one OffsetFetch). */
export async function committedTopicsWith(admin: Admin, groupId: string, topics: string[]): Promise<string[]> {
  if (topics.length === 0) return []
  const result = await admin.fetchOffsets({groupId, topics})
  return result
    .filter((t) => t.partitions.some((p) => Number(p.offset) >= 0))
    .map((t) => t.topic)
    .sort()
}

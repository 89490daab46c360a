/**
 * Access to a kafkajs producer's own metadata cache. kafkajs caches topic metadata for
 * `metadataMaxAge` (5 minutes by default) and offers no public way to refresh a producer's cache,
 * so after partitions are added a producer keeps partitioning with the old count for up to 5
 * minutes. Every kafkajs producer owns a private `Cluster` whose `refreshMetadata()` and
 * `findTopicPartitionMetadata()` are what `send` itself uses; we capture that cluster when the
 * producer is created (kafkajs 2.x builds it through the client's `private:Kafka:createCluster`
 * function) so the agent refreshes exactly the cache its sends read.
 *
 * When the internals are not where kafkajs 2.2 keeps them, `createTrackedProducer` returns no
 * handle and callers fall back to recreating the producer (a new producer fetches fresh metadata
 * on its first send). test/integration/agent-metadata.test.ts proves the refresh on a real broker.
 */
import type {KafkaClient, PartitionMetadata, Producer, ProducerConfig} from './client.js'

export interface ProducerMetadataHandle {
  /** Fetches metadata for every topic the producer targets (plus `topics`) now, ignoring the cache age. */
  refresh(topics: string[]): Promise<void>
  /** Partition metadata the producer's next send would use; empty when not loaded. */
  partitions(topic: string): PartitionMetadata[]
}

interface ClusterInternals {
  refreshMetadata(): Promise<void>
  addMultipleTargetTopics(topics: string[]): Promise<void>
  findTopicPartitionMetadata(topic: string): PartitionMetadata[]
}

const CREATE_CLUSTER = 'private:Kafka:createCluster'

function isClusterInternals(value: unknown): value is ClusterInternals {
  const candidate = value as Partial<ClusterInternals> | undefined
  return (
    typeof candidate?.refreshMetadata === 'function' &&
    typeof candidate.addMultipleTargetTopics === 'function' &&
    typeof candidate.findTopicPartitionMetadata === 'function'
  )
}

export function createTrackedProducer(
  kafka: KafkaClient,
  config: ProducerConfig,
): {producer: Producer; metadata: ProducerMetadataHandle | undefined} {
  const holder = kafka as unknown as Record<symbol, unknown>
  const symbol = Object.getOwnPropertySymbols(holder).find((s) => s.description === CREATE_CLUSTER)
  const original = symbol ? holder[symbol] : undefined
  if (!symbol || typeof original !== 'function') return {producer: kafka.producer(config), metadata: undefined}
  let captured: unknown
  // Swapped for the duration of this synchronous call only; the client is otherwise untouched.
  holder[symbol] = (...args: unknown[]) => {
    captured = (original as (...a: unknown[]) => unknown).apply(kafka, args)
    return captured
  }
  let producer: Producer
  try {
    producer = kafka.producer(config)
  } finally {
    holder[symbol] = original
  }
  if (!isClusterInternals(captured)) return {producer, metadata: undefined}
  const cluster = captured
  return {
    producer,
    metadata: {
      async refresh(topics) {
        // Adding target topics refreshes only when the set changes; the explicit refresh covers the rest.
        await cluster.addMultipleTargetTopics(topics)
        await cluster.refreshMetadata()
      },
      partitions(topic) {
        try {
          return cluster.findTopicPartitionMetadata(topic)
        } catch {
          return []
        }
      },
    },
  }
}

import type {KafkaClient} from './client.js'
import type {CommittedOffset} from './types.js'

/**
 * Committing offsets for a group with no members. kafkajs's `admin.setOffsets` does it by joining the
 * group with a throwaway consumer and waiting for a fetch (≈5 s per call). Kafka itself accepts an
 * OffsetCommit with generation -1 and an empty member id for an empty group — what Java's
 * `kafka-consumer-groups --reset-offsets` and AdminClient.alterConsumerGroupOffsets send — so we
 * send that directly to the group coordinator through the client's own cluster object. When the
 * kafkajs internals are not where 2.2 keeps them, callers fall back to setOffsets.
 */
import {retry} from '../core/retry.js'
import {isTransientKafkaError} from './errors.js'

const CREATE_CLUSTER = 'private:Kafka:createCluster'

interface CoordinatorBroker {
  offsetCommit(request: {
    groupId: string
    groupGenerationId: number
    memberId: string
    topics: Array<{topic: string; partitions: Array<{partition: number; offset: string}>}>
  }): Promise<{responses: Array<{partitions: Array<{partition: number; errorCode: number}>}>}>
}

interface ClusterInternals {
  connect(): Promise<void>
  disconnect(): Promise<void>
  findGroupCoordinator(request: {groupId: string}): Promise<CoordinatorBroker>
}

function createInternalCluster(kafka: KafkaClient): ClusterInternals | undefined {
  const holder = kafka as unknown as Record<symbol, unknown>
  const symbol = Object.getOwnPropertySymbols(holder).find((s) => s.description === CREATE_CLUSTER)
  const create = symbol ? holder[symbol] : undefined
  if (typeof create !== 'function') return undefined
  const cluster = (create as (options: object) => unknown).call(kafka, {allowAutoTopicCreation: false}) as Partial<ClusterInternals>
  return typeof cluster.connect === 'function' && typeof cluster.findGroupCoordinator === 'function'
    ? (cluster as ClusterInternals)
    : undefined
}

/**
 * Returns false when the fast path is unavailable (the caller falls back). Throws the broker's
 * error when Kafka refuses, e.g. UNKNOWN_MEMBER_ID because the group has members.
 */
export async function commitOffsetsAsAdmin(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  offsets: CommittedOffset[],
): Promise<boolean> {
  const cluster = createInternalCluster(kafka)
  if (!cluster) return false
  await cluster.connect()
  try {
    // A coordinator that is still loading the offsets partition (a fresh or restarted broker) or has just
    // moved answers COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR: find it again and repeat (same values).
    await retry(
      async () => {
        const coordinator = await cluster.findGroupCoordinator({groupId})
        await coordinator.offsetCommit({
          groupId,
          groupGenerationId: -1,
          memberId: '',
          topics: [{topic, partitions: offsets.map((o) => ({partition: o.partition, offset: String(o.offset)}))}],
        })
      },
      {attempts: 10, delayMs: 500, retryIf: isTransientKafkaError},
    )
    return true
  } finally {
    await cluster.disconnect().catch(() => {})
  }
}

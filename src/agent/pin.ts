/**
 * Partitioning through a pin: while a topic is pinned, partitions at or above the pinned count are
 * invisible to the application's partitioner, so keys map exactly as before the grow.
 */
import type {ICustomPartitioner, Message, PartitionerArgs, PartitionMetadata} from '../kafka/client.js'

import {Partitioners} from '../kafka/client.js'

export type Partition = (args: PartitionerArgs) => number

/** The name heartbeats and acks report for a kafkajs partitioner factory. */
export function partitionerNameOf(create: ICustomPartitioner): string {
  if (create === Partitioners.DefaultPartitioner) return 'murmur2'
  if (create === Partitioners.LegacyPartitioner) return 'legacy'
  return 'custom'
}

export function visiblePartitions(partitions: PartitionMetadata[], pinned: number | undefined): PartitionMetadata[] {
  return pinned === undefined ? partitions : partitions.filter((p) => p.partitionId < pinned)
}

/**
 * A partitioner factory for the producer that hands `partition` only the partitions the pin leaves
 * visible, and reports what it chose (so merged releases can tell each caller where its records went).
 */
export function pinnedPartitioner(
  partition: Partition,
  pinnedFor: (topic: string) => number | undefined,
  onPartitioned?: (topic: string, message: Message, partition: number) => void,
): ICustomPartitioner {
  return () => (args) => {
    const chosen = partition({...args, partitionMetadata: visiblePartitions(args.partitionMetadata, pinnedFor(args.topic))})
    onPartitioned?.(args.topic, args.message, chosen)
    return chosen
  }
}

/** The partition `partition` picks for a keyed record among these partitions. */
export function partitionOfKey(partition: Partition, topic: string, key: string | Buffer, partitionMetadata: PartitionMetadata[]): number {
  const message: Message = {key, value: null}
  return partition({topic, partitionMetadata, message})
}

/** Stand-in metadata for `count` partitions, when the producer's own does not have that many. */
export function syntheticPartitions(count: number): PartitionMetadata[] {
  return Array.from({length: count}, (_, partitionId) => ({partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0]}))
}

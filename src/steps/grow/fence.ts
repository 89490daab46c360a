import type {AbortMarkerResult, KafkaCluster, PartitionOffsets} from '../../kafka/types.js'

/**
 * The fence on new partitions while producers run pinned: they may hold only kreorg's abort markers.
 * Anything else in them — a foreign writer, an agent that is not pinned — would be records a group
 * may skip, so the run stops (exit 7: the topic is grown, producers stay pinned).
 *
 * Every batch past the verified prefix of a new partition is read back and must carry the marker
 * writer's producer id. That also covers markers the adapter's retries or an earlier attempt (a
 * crash, then `kreorg resume`) added, which a count of successful requests would miss.
 */
import {KreorgError} from '../../core/errors.js'

/** Offsets read back per partition per check; markers come a few per minute, a foreign writer fails at its first. */
const MAX_READS_PER_CHECK = 500

export interface FenceViolation {
  partition: number
  offset: number
  producerId: number
}

export function foreignWriteError(topic: string, violations: FenceViolation[]): KreorgError {
  const list = violations.map((v) => `partition ${v.partition} offset ${v.offset} (producer id ${v.producerId})`).join(', ')
  return new KreorgError(
    'unknown-writers',
    `new partitions of ${topic} hold records that are not kreorg's markers: ${list}; a producer without a pinned agent writes to them`,
    {
      suggestions: [
        'find it (`kreorg producers`, DescribeProducers, broker request logs) and stop it; groups with auto.offset.reset=latest may skip what it wrote there',
      ],
    },
  )
}

export class MarkerFence {
  /** Per new partition: every batch below this offset is one of kreorg's markers. */
  readonly verified = new Map<number, number>()
  readonly ownProducerIds = new Set<number>()
  markersWritten = 0
  /** Partitions with records past the verified prefix that could not be read back yet. */
  readonly unreadable = new Set<number>()

  constructor(
    private readonly cluster: KafkaCluster,
    private readonly topic: string,
    readonly partitions: readonly number[],
    readonly transactionalId: string,
  ) {
    for (const p of partitions) this.verified.set(p, 0)
  }

  /** The producer id behind kreorg's marker transactional id, when an earlier attempt wrote markers. */
  private async learnOwnProducerId(): Promise<void> {
    if (this.ownProducerIds.size > 0) return
    for (const t of await this.cluster.describeTransactions([this.transactionalId])) {
      if (t.transactionalId === this.transactionalId && t.producerId >= 0) this.ownProducerIds.add(t.producerId)
    }
  }

  /** Records a successful marker request (its producer id is kreorg's own). */
  wrote(result: Pick<AbortMarkerResult, 'producerId'>): void {
    this.ownProducerIds.add(result.producerId)
    this.markersWritten += 1
  }

  /** Reads back what is past the verified prefix; throws on the first batch that is not a marker of ours. */
  async check(hwms: readonly PartitionOffsets[]): Promise<void> {
    this.unreadable.clear()
    for (const partition of this.partitions) {
      const high = hwms.find((o) => o.partition === partition)?.high ?? 0
      let offset = this.verified.get(partition) ?? 0
      if (high <= offset) continue
      await this.learnOwnProducerId()
      for (let reads = 0; offset < high && reads < MAX_READS_PER_CHECK; reads++) {
        const producerId = await this.cluster.producerIdOfBatchAt(this.topic, partition, offset)
        if (producerId === null) break
        if (!this.ownProducerIds.has(producerId)) throw foreignWriteError(this.topic, [{partition, offset, producerId}])
        offset += 1
      }
      this.verified.set(partition, offset)
      if (offset < high) this.unreadable.add(partition)
    }
  }

  /** Every new partition holds exactly the verified markers. */
  settled(hwms: readonly PartitionOffsets[]): boolean {
    return this.partitions.every((p) => (hwms.find((o) => o.partition === p)?.high ?? 0) === (this.verified.get(p) ?? 0))
  }

  /** Markers per new partition (all they hold), by partition id as the checkpoint records them. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.verified].map(([p, offset]) => [String(p), offset]))
  }
}

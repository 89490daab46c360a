/**
 * The application's producer as the agent runs it: created with the pinned partitioner, its
 * metadata kept current on demand, and the partition any key would get right now.
 */
import type {KafkaClient, Message, PartitionMetadata, Producer, ProducerConfig} from '../kafka/client.js'
import type {AgentEvents} from './events.js'

import {Partitioners} from '../kafka/client.js'
import {createTrackedProducer, type ProducerMetadataHandle} from '../kafka/producer-metadata.js'
import {errorMessage, sleep} from './options.js'
import {type Partition, partitionerNameOf, partitionOfKey, pinnedPartitioner, syntheticPartitions} from './pin.js'
import {captureProducerCluster, watchProducerIds} from './producer-id.js'

interface PartitionCapture {
  messages: readonly Message[]
  partitions: Int32Array
  next: number
}

export interface AgentProducerOptions {
  kafka: KafkaClient
  topics: readonly string[]
  producer?: ProducerConfig | undefined
  partitionerName?: string | undefined
  refreshTimeoutMs: number
  /** The pin in force for a topic, read on every send. */
  pinnedFor: (topic: string) => number | undefined
  events: AgentEvents
}

export class AgentProducer {
  readonly partitionerName: string
  /** One partitioner instance shared by the producer and canary computation (see the constructor). */
  private readonly partition: Partition
  private readonly config: ProducerConfig
  private current: Producer | undefined
  private metadata: ProducerMetadataHandle | undefined
  private readonly fallbackCounts = new Map<string, number>()
  /** The id the brokers gave the producer (InitProducerId), when kafkajs let us see it. */
  producerId: number | undefined
  /** Per topic, the messages of a merged release whose partitions the partitioner reports (see capture). */
  private readonly captures = new Map<string, PartitionCapture>()

  constructor(private readonly options: AgentProducerOptions) {
    const createPartitioner = options.producer?.createPartitioner ?? Partitioners.DefaultPartitioner
    this.partitionerName = options.partitionerName ?? partitionerNameOf(createPartitioner)
    // One partitioner instance shared by the producer and canary computation: the canary answer is
    // what the producer's next send does, whatever partitioner the application chose.
    this.partition = createPartitioner()
    const captures = this.captures
    this.config = {
      ...options.producer,
      createPartitioner: pinnedPartitioner(this.partition, options.pinnedFor, (topic, message, partition) => {
        if (captures.size === 0) return
        const capture = captures.get(topic)
        if (!capture) return
        // kafkajs partitions a batch's messages of a topic in order, in one synchronous pass (again on a retry).
        if (message !== capture.messages[capture.next] && message === capture.messages[0]) capture.next = 0
        if (message === capture.messages[capture.next]) capture.partitions[capture.next++] = partition
      }),
    }
  }

  /** The producer sends go through (replaced when its metadata cache is out of reach, see recreate). */
  get producer(): Producer {
    if (!this.current) throw new Error('kreorg agent is not started')
    return this.current
  }

  /**
   * Records the partition the producer's partitioner gives each of these messages of `topic` when
   * they are sent next, in one batch (-1 where it did not run); `done` stops recording.
   */
  capture(topic: string, messages: readonly Message[]): {partitions: Int32Array; done: () => void} {
    const capture: PartitionCapture = {messages, partitions: new Int32Array(messages.length).fill(-1), next: 0}
    this.captures.set(topic, capture)
    return {partitions: capture.partitions, done: () => this.captures.delete(topic)}
  }

  /** Whether the producer is idempotent (or transactional): its batches carry a producer id. */
  get idempotent(): boolean {
    const current = this.current as (Producer & {isIdempotent?: () => boolean}) | undefined
    return typeof current?.isIdempotent === 'function' ? current.isIdempotent() : this.config.idempotent === true
  }

  /** Creates a producer on the application's client, watching the producer id it gets. */
  private createProducer<T>(create: () => T): T {
    const {result, cluster} = captureProducerCluster(this.options.kafka, create)
    watchProducerIds(cluster, (id) => (this.producerId = id))
    return result
  }

  async connect(): Promise<void> {
    const tracked = this.createProducer(() => createTrackedProducer(this.options.kafka, this.config))
    this.current = tracked.producer
    this.metadata = tracked.metadata
    await tracked.producer.connect()
    await this.refresh(undefined)
  }

  async disconnect(): Promise<void> {
    await this.current?.disconnect().catch(() => {})
  }

  /** Partition count the producer's next send to `topic` would use (0 when not loaded yet). */
  partitionCount(topic: string): number {
    return this.metadata?.partitions(topic).length ?? this.fallbackCounts.get(topic) ?? 0
  }

  /** The count keyed records are partitioned with: the producer's, or less while a pin holds. */
  effectivePartitionCount(topic: string): number {
    const count = this.partitionCount(topic)
    const pinned = this.options.pinnedFor(topic)
    return pinned !== undefined && pinned < count ? pinned : count
  }

  /** The partition the producer's own partitioner picks for a keyed record with `count` partitions. */
  partitionFor(topic: string, key: string | Buffer, count: number): number {
    return partitionOfKey(this.partition, topic, key, this.partitionsFor(topic, count))
  }

  /** The producer's metadata when it has `count` partitions, else stand-ins for `count`. */
  partitionsFor(topic: string, count: number): PartitionMetadata[] {
    const known = this.metadata?.partitions(topic) ?? []
    if (known.length === count) return known
    return syntheticPartitions(count)
  }

  /** Canary answers: the partition of each key among these partitions. */
  partitionsOfKeys(topic: string, keys: readonly string[], partitionMetadata: PartitionMetadata[]): Record<string, number> {
    const canary: Record<string, number> = {}
    for (const key of keys) canary[key] = partitionOfKey(this.partition, topic, key, partitionMetadata)
    return canary
  }

  /**
   * Makes the producer's own metadata current. With a target, re-reads until the producer sees at
   * least that many partitions (new partitions reach every broker's metadata shortly after they are
   * created) or refreshTimeoutMs passes. Returns the count for the target topic.
   */
  async refresh(target: {topic: string; target: number} | undefined): Promise<number> {
    const deadline = Date.now() + this.options.refreshTimeoutMs
    for (;;) {
      try {
        await (this.metadata ? this.metadata.refresh([...this.options.topics]) : this.recreate())
      } catch (error) {
        this.options.events.warn(`metadata refresh failed: ${errorMessage(error)}`)
      }
      if (!target) return 0
      const count = this.partitionCount(target.topic)
      if (count >= target.target || Date.now() >= deadline) return count
      await sleep(200)
    }
  }

  /** Fallback when the producer's metadata cache is out of reach: a new producer starts with fresh metadata. */
  private async recreate(): Promise<void> {
    const {kafka, topics} = this.options
    const old = this.current
    const fresh = this.createProducer(() => kafka.producer(this.config))
    this.producerId = undefined
    await fresh.connect()
    this.current = fresh
    await old?.disconnect().catch(() => {})
    const admin = kafka.admin()
    await admin.connect()
    try {
      const fetched = await admin.fetchTopicMetadata({topics: [...topics]})
      for (const t of fetched.topics) this.fallbackCounts.set(t.name, t.partitions.length)
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }
}

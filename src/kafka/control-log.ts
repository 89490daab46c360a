/**
 * Kafka transport of the control topic: append records and tail the single partition from the
 * beginning. Used by the orchestrator (src/control/channel.ts) with its own client and by the
 * producer agent with the application's kafkajs client. Knows nothing about the protocol itself.
 */
import type {Admin, KafkaClient, Producer, RecordMetadata} from './client.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {Partitioners} from './client.js'
import {PartitionTail, type RawControlRecord} from './partition-tail.js'

export type {RawControlRecord} from './partition-tail.js'

export interface ControlLogOptions {
  topic: string
  /** Middle part of the internal consumer group id, e.g. "orchestrator" or "agent". */
  role: string
  /** Topic configs used when this log creates the topic. */
  topicConfig: Record<string, string>
}

export class ControlLog {
  /** A promise, not a producer: two appends racing to connect must share one (the other would leak its sockets). */
  private producer: Promise<Producer> | undefined
  private readonly tail: PartitionTail

  constructor(
    private readonly client: KafkaClient,
    private readonly options: ControlLogOptions,
  ) {
    this.tail = new PartitionTail(client, {topic: options.topic, groupRole: `control-${options.role}`, label: 'control topic'})
  }

  get topic(): string {
    return this.options.topic
  }

  /** Next offset to be read: every record below it has been delivered to `onRecord`. */
  get position(): number {
    return this.tail.position
  }

  /**
   * Makes sure the topic exists. With `create`, a missing topic is created (1 partition, the configs
   * above); without, a missing topic is a precondition error. Returns false when the topic is missing
   * and was not created (read-only callers can then report "no agents").
   */
  async ensureTopic(create: boolean, replicationFactor?: number): Promise<boolean> {
    const admin = this.client.admin()
    await admin.connect()
    try {
      const topics = await admin.listTopics()
      if (topics.includes(this.topic)) return true
      if (!create) return false
      try {
        // kafkajs's waitForLeaders gives up at once on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
        // under load still answers for a moment after the create: wait for the leader below instead.
        await admin.createTopics({
          waitForLeaders: false,
          topics: [
            {
              topic: this.topic,
              numPartitions: 1,
              ...(replicationFactor ? {replicationFactor} : {}),
              configEntries: Object.entries(this.options.topicConfig).map(([name, value]) => ({name, value})),
            },
          ],
        })
      } catch (error) {
        // Another orchestrator or agent created it at the same moment: fine.
        if ((error as {type?: string}).type !== 'TOPIC_ALREADY_EXISTS' && !/already exists/i.test(describeCause(error))) throw error
      }
      await waitForLeader(admin, this.topic)
      return true
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  private async endOffset(admin: Admin): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(this.topic)
    return Number(offsets.find((o) => o.partition === 0)?.high ?? 0)
  }

  /**
   * Starts tailing from the beginning; resolves once every record that existed at start has been
   * delivered (so callers know the current command before acting). Records are delivered in order.
   */
  async start(onRecord: (record: RawControlRecord) => void, options: {catchUpTimeoutMs?: number} = {}): Promise<void> {
    // Every reader folds the whole (compacted) partition.
    await this.tail.start(onRecord, {from: 0, until: await this.currentEnd(), catchUpTimeoutMs: options.catchUpTimeoutMs ?? 30_000})
  }

  /** Resolves once every record below `offset` has been delivered. */
  waitForPosition(offset: number, timeoutMs: number): Promise<void> {
    return this.tail.waitForPosition(offset, timeoutMs)
  }

  /** The partition's end offset now, through a short-lived admin client. */
  private async currentEnd(): Promise<number> {
    const admin = this.client.admin()
    await admin.connect()
    try {
      return await this.endOffset(admin)
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  /** Resolves once every record that exists now has been delivered: the tail can lag a busy broker by a fetch or more. */
  async catchUp(timeoutMs: number): Promise<void> {
    const end = await this.currentEnd()
    await this.waitForPosition(end, timeoutMs)
  }

  /** Appends one record (acks=all) and returns its offset. */
  async append(key: string, value: Buffer | null): Promise<number> {
    if (!this.producer) {
      const created = this.client.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // One request at a time keeps this writer's records in the order it wrote them.
        maxInFlightRequests: 1,
        retry: {retries: 5, initialRetryTime: 100, maxRetryTime: 1000},
      })
      const connecting = created.connect().then(
        () => created,
        (error: unknown) => {
          if (this.producer === connecting) this.producer = undefined
          throw error
        },
      )
      this.producer = connecting
    }
    const connecting = this.producer
    const producer = await connecting
    let sent: RecordMetadata[]
    try {
      sent = await producer.send({topic: this.topic, acks: -1, messages: [{key, value, partition: 0}]})
    } catch (error) {
      // After a node died, kafkajs can keep asking it (stale seed/metadata) on every retry: the
      // caller's next try gets a fresh producer, which bootstraps from a live seed broker.
      if (this.producer === connecting) this.producer = undefined
      await producer.disconnect().catch(() => {})
      throw error
    }
    const meta = sent[0]
    const offset = Number(meta?.baseOffset ?? meta?.offset)
    if (!Number.isFinite(offset))
      throw new KreorgError('unexpected', `control topic ${this.topic}: the broker returned no offset for ${key}`)
    return offset
  }

  /** Append, then wait until the tail has delivered the record (so the fold includes it). */
  async appendAndRead(key: string, value: Buffer | null, timeoutMs: number): Promise<number> {
    const offset = await this.append(key, value)
    await this.waitForPosition(offset + 1, timeoutMs)
    return offset
  }

  async stop(): Promise<void> {
    const producer = this.producer
    this.producer = undefined
    await Promise.all([this.tail.stop(), producer?.then((p) => p.disconnect()).catch(() => {})])
  }
}

/** Until the freshly created control topic's partition has a leader; errors count as "not yet" (bounded). */
async function waitForLeader(admin: Admin, topic: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    let problem = 'no leader yet'
    try {
      const {topics} = await admin.fetchTopicMetadata({topics: [topic]})
      const partitions = topics.find((t) => t.name === topic)?.partitions ?? []
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return
    } catch (error) {
      problem = describeCause(error)
    }
    if (Date.now() >= deadline) throw new Error(`control topic ${topic} was created but has no leader after ${timeoutMs}ms: ${problem}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

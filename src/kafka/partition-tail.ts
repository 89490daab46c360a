/**
 * Following partition 0 of a one-partition topic (the control topic and its heartbeat topic) from an
 * offset: records are delivered in order, and a caller can wait until everything below an offset has
 * been delivered. One fresh, never-committed consumer group per reader. Knows nothing about the
 * records themselves.
 */
import {randomUUID} from 'node:crypto'

import type {Consumer, KafkaClient} from './client.js'

import {KreorgError} from '../core/errors.js'
import {INTERNAL_GROUP_PREFIX} from './lag.js'

export interface RawControlRecord {
  key: string | null
  value: Buffer | null
  offset: number
  timestamp: number
}

export interface PartitionTailOptions {
  topic: string
  /** Middle part of the internal group id, e.g. "control-agent" (kreorg's lag and drain ignore kreorg-internal- groups). */
  groupRole: string
  /** What the topic is, for errors: "control topic", "heartbeat topic". */
  label: string
}

export class PartitionTail {
  private consumer: Consumer | undefined
  private nextOffset = 0
  private readonly waiters = new Set<{offset: number; resolve: () => void}>()
  private stopped = false

  constructor(
    private readonly client: KafkaClient,
    private readonly options: PartitionTailOptions,
  ) {}

  /** Next offset to be read: every record below it has been delivered. */
  get position(): number {
    return this.nextOffset
  }

  /** Follows the partition from `from`; resolves once every record below `until` has been delivered. */
  async start(
    onRecord: (record: RawControlRecord) => void,
    options: {from: number; until: number; catchUpTimeoutMs: number},
  ): Promise<void> {
    this.nextOffset = options.from
    const {topic} = this.options
    const consumer = this.client.consumer({
      groupId: `${INTERNAL_GROUP_PREFIX}${this.options.groupRole}-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      retry: {retries: 10, initialRetryTime: 100, maxRetryTime: 2000},
    })
    this.consumer = consumer
    await consumer.connect()
    await consumer.subscribe({topic, fromBeginning: true})
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({batch, heartbeat}) => {
        for (const message of batch.messages) {
          if (this.stopped) return
          const offset = Number(message.offset)
          // Below `from` (fetched before the seek took effect) or delivered already.
          if (offset < this.nextOffset) continue
          onRecord({
            key: message.key ? message.key.toString('utf8') : null,
            value: message.value,
            offset,
            timestamp: Number(message.timestamp),
          })
          this.advance(offset + 1)
        }
        // Compaction leaves gaps and a batch may end in records we skip: the batch's last offset still counts as read.
        const last = Number(batch.lastOffset())
        if (Number.isFinite(last)) this.advance(last + 1)
        await heartbeat()
      },
    })
    // kafkajs applies a seek once the consumer runs; until then the offset filter above skips older records.
    if (options.from > 0) consumer.seek({topic, partition: 0, offset: String(options.from)})
    await this.waitForPosition(options.until, options.catchUpTimeoutMs)
  }

  private advance(next: number): void {
    if (next <= this.nextOffset) return
    this.nextOffset = next
    for (const waiter of this.waiters) {
      if (this.nextOffset >= waiter.offset) {
        this.waiters.delete(waiter)
        waiter.resolve()
      }
    }
  }

  /** Resolves once every record below `offset` has been delivered. */
  waitForPosition(offset: number, timeoutMs: number): Promise<void> {
    if (this.nextOffset >= offset) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const waiter = {
        offset,
        resolve() {
          clearTimeout(timer)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        this.waiters.delete(waiter)
        const {label, topic} = this.options
        reject(
          new KreorgError(
            'timeout',
            `${label} ${topic}: not read up to offset ${offset} within ${Math.round(timeoutMs / 1000)}s (at ${this.nextOffset})`,
          ),
        )
      }, timeoutMs)
      this.waiters.add(waiter)
    })
  }

  /** Stops following; anyone waiting is let go. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const waiter of this.waiters) waiter.resolve()
    this.waiters.clear()
    await this.consumer?.disconnect().catch(() => {})
    this.consumer = undefined
  }
}

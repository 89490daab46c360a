/**
 * Reading `<controlTopic>-heartbeats` (protocol 1.1, section A). Unlike the control topic, which every
 * reader folds from offset 0, heartbeats are only worth their last few minutes: the tail starts at the
 * offset for `now - lookback` (ListOffsets by timestamp, the end offset if nothing is that recent) and
 * follows the partition from there. Knows nothing about the records themselves.
 */
import {randomUUID} from 'node:crypto'

import type {Consumer, KafkaClient} from '../kafka/client.js'
import type {RawControlRecord} from '../kafka/control-log.js'

import {KreorgError} from '../core/errors.js'
import {INTERNAL_GROUP_PREFIX} from '../kafka/lag.js'

export interface HeartbeatTailOptions {
  /** How far back to start, in ms before now. */
  lookbackMs: number
  /** How long `start` waits to fold what existed when it began. */
  catchUpTimeoutMs: number
}

export class HeartbeatTail {
  private consumer: Consumer | undefined
  private nextOffset = 0
  private readonly waiters = new Set<{offset: number; resolve: () => void}>()
  private stopped = false

  constructor(
    private readonly client: KafkaClient,
    readonly topic: string,
  ) {}

  /** Offset of the first record read (the one at `now - lookback`), once started. */
  startOffset = 0

  /** Tails from `now - lookbackMs`; resolves once the records that existed at start are delivered. */
  async start(onRecord: (record: RawControlRecord) => void, options: HeartbeatTailOptions): Promise<void> {
    const {start, end} = await this.bounds(Date.now() - options.lookbackMs)
    this.startOffset = start
    this.nextOffset = start
    // A fresh group per reader, never committed (kreorg's lag and drain ignore kreorg-internal- groups).
    const consumer = this.client.consumer({
      groupId: `${INTERNAL_GROUP_PREFIX}control-heartbeats-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 250,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      retry: {retries: 10, initialRetryTime: 100, maxRetryTime: 2000},
    })
    this.consumer = consumer
    await consumer.connect()
    await consumer.subscribe({topic: this.topic, fromBeginning: true})
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({batch, heartbeat}) => {
        for (const message of batch.messages) {
          if (this.stopped) return
          const offset = Number(message.offset)
          // Records below the start (fetched before the seek took effect) are older than the lookback.
          if (offset < this.nextOffset) continue
          onRecord({
            key: message.key ? message.key.toString('utf8') : null,
            value: message.value,
            offset,
            timestamp: Number(message.timestamp),
          })
          this.advance(offset + 1)
        }
        const last = Number(batch.lastOffset())
        if (Number.isFinite(last)) this.advance(last + 1)
        await heartbeat()
      },
    })
    // kafkajs applies a seek once the consumer runs; until then the offset filter above skips old records.
    if (start > 0) consumer.seek({topic: this.topic, partition: 0, offset: String(start)})
    await this.waitForPosition(end, options.catchUpTimeoutMs)
  }

  private async bounds(since: number): Promise<{start: number; end: number}> {
    const admin = this.client.admin()
    await admin.connect()
    try {
      const ends = await admin.fetchTopicOffsets(this.topic)
      const end = Number(ends.find((o) => o.partition === 0)?.high ?? 0)
      const byTime = await admin.fetchTopicOffsetsByTimestamp(this.topic, since)
      const found = Number(byTime.find((o) => o.partition === 0)?.offset ?? end)
      return {start: Number.isFinite(found) && found >= 0 ? Math.min(found, end) : end, end}
    } finally {
      await admin.disconnect().catch(() => {})
    }
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

  private waitForPosition(offset: number, timeoutMs: number): Promise<void> {
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
        reject(
          new KreorgError(
            'timeout',
            `heartbeat topic ${this.topic}: not read up to offset ${offset} within ${Math.round(timeoutMs / 1000)}s (at ${this.nextOffset})`,
          ),
        )
      }, timeoutMs)
      this.waiters.add(waiter)
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const waiter of this.waiters) waiter.resolve()
    this.waiters.clear()
    await this.consumer?.disconnect().catch(() => {})
    this.consumer = undefined
  }
}

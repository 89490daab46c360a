/**
 * Reading `<controlTopic>-heartbeats` (protocol 1.1, section A). Unlike the control topic, which every
 * reader folds from offset 0, heartbeats are only worth their last few minutes: the tail starts at the
 * offset for `now - lookback` (ListOffsets by timestamp, the end offset if nothing is that recent) and
 * follows the partition from there. Knows nothing about the records themselves.
 */
import type {KafkaClient} from '../kafka/client.js'
import type {RawControlRecord} from '../kafka/control-log.js'

import {PartitionTail} from '../kafka/partition-tail.js'

export interface HeartbeatTailOptions {
  /** How far back to start, in ms before now. */
  lookbackMs: number
  /** How long `start` waits to fold what existed when it began. */
  catchUpTimeoutMs: number
}

export class HeartbeatTail {
  private readonly tail: PartitionTail

  constructor(
    private readonly client: KafkaClient,
    readonly topic: string,
  ) {
    this.tail = new PartitionTail(client, {topic, groupRole: 'control-heartbeats', label: 'heartbeat topic'})
  }

  /** Offset of the first record read (the one at `now - lookback`), once started. */
  startOffset = 0

  /** Tails from `now - lookbackMs`; resolves once the records that existed at start are delivered. */
  async start(onRecord: (record: RawControlRecord) => void, options: HeartbeatTailOptions): Promise<void> {
    const {start, end} = await this.bounds(Date.now() - options.lookbackMs)
    this.startOffset = start
    await this.tail.start(onRecord, {from: start, until: end, catchUpTimeoutMs: options.catchUpTimeoutMs})
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

  async stop(): Promise<void> {
    await this.tail.stop()
  }
}

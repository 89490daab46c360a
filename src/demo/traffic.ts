import {setTimeout as sleep} from 'node:timers/promises'

import type {Consumer, KafkaClient, Message} from '../kafka/client.js'

import {ReceivedLedger, SentLedger} from './ledger.js'

/** Record values carry the key and its sequence number so consumers can check order. */
export interface DemoValue {
  k: string
  s: number
}

export function demoKeys(count: number): string[] {
  return Array.from({length: count}, (_, i) => `order-${String(i).padStart(5, '0')}`)
}

export type SendFn = (messages: Message[]) => Promise<unknown>

/**
 * Keyed traffic at a steady rate. Each key belongs to exactly one writer, and a writer awaits each
 * send before the next, so the per-key order a consumer sees is the order the key was produced in —
 * unless the partition layout changes under it.
 */
export class KeyedTraffic {
  readonly sent = new SentLedger()
  private stopped = false
  private readonly loops: Array<Promise<void>> = []
  sendErrors = 0

  constructor(
    private readonly options: {
      writers: SendFn[]
      keys: string[]
      ratePerSec: number
      tickMs?: number
    },
  ) {}

  start(): void {
    const {writers, keys} = this.options
    const tickMs = this.options.tickMs ?? 50
    const perWriterPerTick = Math.max(1, Math.round((this.options.ratePerSec * tickMs) / 1000 / writers.length))
    writers.forEach((send, w) => {
      const own = keys.filter((_, i) => i % writers.length === w)
      let cursor = 0
      this.loops.push(
        (async () => {
          while (!this.stopped) {
            const started = Date.now()
            const batch: Array<{key: string; seq: number}> = []
            for (let i = 0; i < perWriterPerTick; i++) {
              const key = own[cursor++ % own.length]!
              batch.push({key, seq: this.sent.next(key)})
            }
            try {
              await send(batch.map(({key, seq}) => ({key, value: JSON.stringify({k: key, s: seq} satisfies DemoValue)})))
            } catch {
              // Not sent: forget these sequence numbers (newest first) so "lost" only counts real losses.
              this.sendErrors++
              for (const {key, seq} of [...batch].reverse()) this.sent.unsend(key, seq)
            }
            await sleep(Math.max(0, tickMs - (Date.now() - started)))
          }
        })(),
      )
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(this.loops)
  }
}

export interface DemoGroupOptions {
  kafka: KafkaClient
  topic: string
  groupId: string
  /** Records per second this group can process; undefined = as fast as it can. */
  maxRatePerSec?: number
  /** How often the consumer refreshes metadata (and so notices new partitions). */
  metadataMaxAgeMs: number
  /**
   * kafkajs fetch size per partition (default 1 MB). A kafkajs consumer looks at new partitions only
   * between fetches, after it processed the last one: a slow group with big fetches can take minutes.
   */
  maxBytesPerPartition?: number
}

/** A consumer group that records every (key, seq) it sees, in the order it processes them. */
export class DemoGroup {
  readonly received = new ReceivedLedger()
  private consumer: Consumer | undefined
  private nextSlot = 0

  constructor(private readonly options: DemoGroupOptions) {}

  async start(): Promise<void> {
    const {kafka, topic, groupId, metadataMaxAgeMs} = this.options
    const {maxBytesPerPartition} = this.options
    const consumer = kafka.consumer({
      groupId,
      metadataMaxAge: metadataMaxAgeMs,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      ...(maxBytesPerPartition ? {maxBytesPerPartition, maxBytes: maxBytesPerPartition * 8} : {}),
    })
    this.consumer = consumer
    await consumer.connect()
    // Like most applications: auto.offset.reset=latest (kafkajs fromBeginning: false).
    await consumer.subscribe({topics: [topic], fromBeginning: false})
    const interval = this.options.maxRatePerSec ? 1000 / this.options.maxRatePerSec : 0
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      // Without an interval (or threshold) kafkajs never commits a position on a partition where it read
      // nothing but a control record, so no one outside the group could see it start the new partitions.
      autoCommitInterval: 1000,
      eachMessage: async ({message}) => {
        if (interval > 0) {
          // A shared schedule across partitions: the group as a whole processes maxRatePerSec.
          const now = Date.now()
          const slot = Math.max(now, this.nextSlot)
          this.nextSlot = slot + interval
          if (slot > now) await sleep(slot - now)
        }
        const value = JSON.parse(message.value?.toString() ?? '{}') as Partial<DemoValue>
        if (typeof value.k === 'string' && typeof value.s === 'number') this.received.record(value.k, value.s)
      },
    })
  }

  /**
   * Stops fetching (the whole topic, or only `partitions`) while the group stays Stable with its
   * members (kafkajs pause), so a backlog builds up that the group then drains at full speed after
   * resume() — what the benchmarks need. Partitions added meanwhile are fetched unless paused.
   */
  pause(partitions?: number[]): void {
    this.consumer?.pause([{topic: this.options.topic, ...(partitions ? {partitions} : {})}])
  }

  resume(): void {
    this.consumer?.resume([{topic: this.options.topic}])
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect()
  }
}

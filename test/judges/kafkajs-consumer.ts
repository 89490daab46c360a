import {type Consumer, Kafka, logLevel} from 'kafkajs'
import {setTimeout as sleep} from 'node:timers/promises'

import {parseSequencedValue, SequenceJudge} from './sequence-judge.js'

/**
 * A plain kafkajs consumer group (kafkajs straight from npm, not kreorg's wrapper) as an application
 * writes one: `fromBeginning: false`, auto-commit. `autoCommitInterval` is set because only then does
 * kafkajs commit a position on a partition where it read nothing but a control record (spikes, Q2):
 * that is what lets anyone outside the group see that its position on a new partition exists.
 */
export interface KafkajsJudgeSpec {
  name: string
  /** kafkajs metadataMaxAge: how soon it notices new partitions (kafkajs default: 5 minutes). */
  metadataMaxAgeMs?: number
  autoCommitIntervalMs?: number
  /** Records/s the group processes (a lagging application); undefined = as fast as it can. */
  ratePerSec?: number
}

export class KafkajsConsumerJudge {
  readonly judge: SequenceJudge
  readonly groupId: string
  private consumer: Consumer | undefined
  private interval = 0
  private nextSlot = 0

  constructor(
    readonly topic: string,
    readonly spec: KafkajsJudgeSpec,
    private readonly brokers: string,
  ) {
    this.groupId = `${topic}-${spec.name}`
    this.judge = new SequenceJudge(spec.name)
  }

  async start(): Promise<void> {
    const kafka = new Kafka({
      clientId: `judge-${this.spec.name}`,
      brokers: this.brokers.split(','),
      logLevel: logLevel.NOTHING,
      connectionTimeout: 10_000,
    })
    const consumer = kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: 15_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 250,
      ...(this.spec.metadataMaxAgeMs === undefined ? {} : {metadataMaxAge: this.spec.metadataMaxAgeMs}),
    })
    this.consumer = consumer
    await consumer.connect()
    await consumer.subscribe({topics: [this.topic], fromBeginning: false})
    this.interval = this.spec.ratePerSec ? 1000 / this.spec.ratePerSec : 0
    await consumer.run({
      autoCommitInterval: this.spec.autoCommitIntervalMs ?? 1000,
      eachMessage: async ({partition, message}) => {
        if (this.interval > 0) {
          // One schedule across partitions: the group as a whole processes ratePerSec.
          const now = Date.now()
          const slot = Math.max(now, this.nextSlot)
          this.nextSlot = slot + this.interval
          if (slot > now) await sleep(slot - now)
        }
        const value = message.value?.toString() ?? ''
        const parsed = parseSequencedValue(value)
        const key = message.key?.toString() ?? ''
        if (parsed && parsed.key === key) this.judge.record({key, seq: parsed.seq, partition, offset: Number(message.offset)})
        else this.judge.unparsed(`p${partition}@${message.offset} ${key}\t${value}`)
      },
    })
  }

  /** From now on the group processes as fast as it can (its backlog drains at full speed). */
  unthrottle(): void {
    this.interval = 0
    this.nextSlot = 0
  }

  async stop(): Promise<void> {
    const consumer = this.consumer
    this.consumer = undefined
    await consumer?.disconnect().catch(() => {})
  }
}

/**
 * Writing the sends a pause held, once it is lifted, in call order. kafkajs does not keep the order
 * of sends that run concurrently (the last of a burst can overtake the one before it), so released
 * sends are merged, in order, into a few `sendBatch` calls made one after another: bounded in size,
 * each sent once the previous one is written. Each caller still gets its own record metadata: the
 * partition of every message is observed through the producer's partitioner, and offsets follow from
 * each partition's base offset and the order of the messages in the batch. While anything is being
 * released, new sends to its topics queue behind it (HeldSends keeps them counted until finished).
 *
 * A merged batch that fails fails every send merged into it (each would have met the same broker).
 */
import type {Message, ProducerBatch, RecordMetadata} from '../kafka/client.js'
import type {HeldBatch, HeldSend, HeldSends, TopicsOpen} from './held-sends.js'

export type {HeldBatch} from './held-sends.js'
import {type AgentLifecycle, errorMessage} from './options.js'

/** A held send's content: what `send` or `sendBatch` was called with. */

/** Bounds of one merged batch: well below the broker's default message.max.bytes (1 MiB) for any one partition. */
export const MAX_MERGED_BYTES = 512 * 1024
export const MAX_MERGED_MESSAGES = 10_000

export interface ReleaserOptions {
  held: () => HeldSends
  isOpen: TopicsOpen
  lifecycle: AgentLifecycle
  /** Sends one merged batch through the producer (counted in flight on its topics). */
  sendBatch: (batch: ProducerBatch, topics: readonly string[]) => Promise<RecordMetadata[]>
  /** Records the partition the producer's partitioner gives each message of `topic` in the next batch (-1: not seen). */
  capture: (topic: string, messages: readonly Message[]) => {partitions: Int32Array; done: () => void}
  warn: (message: string) => void
}

/** Upper bound of a value's size in a record (a string counts 3 bytes per UTF-16 unit). */
function sizeOf(value: unknown): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'string') return value.length * 3
  return Buffer.isBuffer(value) ? value.length : 64
}

function messageBytes(message: Message): number {
  let bytes = 64 + sizeOf(message.key) + sizeOf(message.value)
  if (message.headers) {
    for (const [name, value] of Object.entries(message.headers)) {
      bytes += name.length + (Array.isArray(value) ? value.reduce((sum: number, v) => sum + sizeOf(v), 0) : sizeOf(value))
    }
  }
  return bytes
}

const sameOptions = (a: HeldBatch, b: HeldBatch) => a.acks === b.acks && a.timeout === b.timeout && a.compression === b.compression

export class Releaser {
  private pending: HeldSend[] = []
  private head = 0
  private running: Promise<void> | undefined

  constructor(private readonly options: ReleaserOptions) {}

  /** Settles once the sends taken so far are written (or given back to the queue by a pause). */
  async drained(): Promise<void> {
    while (this.running) await this.running
  }

  /** Takes released sends (in call order) and writes them after those already taken. */
  accept(sends: HeldSend[]): void {
    if (this.head === this.pending.length) {
      this.pending = sends
      this.head = 0
    } else {
      this.pending = this.pending.slice(this.head).concat(sends)
      this.head = 0
    }
    if (!this.running) {
      // Cleared in a callback, never inside run(): a run with nothing to await finishes synchronously,
      // before this assignment, and would leave a settled promise here that drained() awaits forever.
      const running: Promise<void> = this.run()
        // A bug in the release must not strand its callers: they fail instead of waiting forever.
        .catch((error: unknown) => this.failRest(error instanceof Error ? error : new Error(errorMessage(error))))
        .finally(() => {
          if (this.running === running) this.running = undefined
        })
      this.running = running
    }
  }

  private async run(): Promise<void> {
    const held = this.options.held()
    while (this.head < this.pending.length) {
      const next = this.pending[this.head]!
      if (this.options.lifecycle.closed) {
        this.failRest(new Error('kreorg agent closed while the send was held by a pause; the records were not sent'))
        break
      }
      // A pause arrived meanwhile: what was not written yet waits for the next resume, in order.
      if (!this.options.isOpen(next.topics)) {
        held.requeue(this.pending.slice(this.head))
        this.pending = []
        this.head = 0
        break
      }
      if (!next.payload) {
        // Waits its turn only (a transaction's begin): everything before it is written.
        this.head++
        held.finish(next, {metadata: []})
        continue
      }
      await this.write(this.takeChunk())
    }
  }

  private failRest(error: Error): void {
    const held = this.options.held()
    for (const send of this.pending.slice(this.head)) held.finish(send, {error})
    this.pending = []
    this.head = 0
  }

  /** Consecutive sends with the same acks/timeout/compression, open topics, within the size bounds (at least one). */
  private takeChunk(): HeldSend[] {
    const first = this.pending[this.head]!
    const chunk: HeldSend[] = []
    let bytes = 0
    let messages = 0
    while (this.head < this.pending.length) {
      const send = this.pending[this.head]!
      if (!send.payload || !sameOptions(send.payload, first.payload!) || !this.options.isOpen(send.topics)) break
      let sendMessages = 0
      let sendBytes = 0
      for (const {messages: list} of send.payload.topicMessages) {
        sendMessages += list.length
        for (const message of list) sendBytes += messageBytes(message)
      }
      if (chunk.length > 0 && (bytes + sendBytes > MAX_MERGED_BYTES || messages + sendMessages > MAX_MERGED_MESSAGES)) break
      chunk.push(send)
      bytes += sendBytes
      messages += sendMessages
      this.head++
    }
    return chunk
  }

  private async write(chunk: HeldSend[]): Promise<void> {
    const held = this.options.held()
    const batch = chunk[0]!.payload!
    // The batch's messages per topic, in call order; each send remembers where its own messages are
    // (most sends write one topic: a start index, no object per send).
    const perTopic = new Map<string, Message[]>()
    const starts = new Int32Array(chunk.length)
    const slices: Array<Array<{topic: string; start: number; count: number}> | undefined> = new Array(chunk.length)
    for (let i = 0; i < chunk.length; i++) {
      const groups = chunk[i]!.payload!.topicMessages
      for (const {topic, messages} of groups) {
        let list = perTopic.get(topic)
        if (!list) perTopic.set(topic, (list = []))
        if (groups.length === 1) starts[i] = list.length
        else (slices[i] ??= []).push({topic, start: list.length, count: messages.length})
        for (const message of messages) list.push(message)
      }
    }
    const topics = [...perTopic.keys()]
    const captures = new Map(topics.map((topic) => [topic, this.options.capture(topic, perTopic.get(topic)!)]))
    let metadata: RecordMetadata[]
    try {
      metadata = await this.options.sendBatch(
        {
          topicMessages: topics.map((topic) => ({topic, messages: perTopic.get(topic)!})),
          ...(batch.acks !== undefined ? {acks: batch.acks} : {}),
          ...(batch.timeout !== undefined ? {timeout: batch.timeout} : {}),
          ...(batch.compression !== undefined ? {compression: batch.compression} : {}),
        },
        topics,
      )
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(errorMessage(error))
      for (const send of chunk) held.finish(send, {error: failure})
      return
    } finally {
      for (const capture of captures.values()) capture.done()
    }
    // Per topic: each message's partition and its position among the batch's records in that partition.
    const layout = new Map<string, {partitions: Int32Array; positions: Int32Array; written: Map<number, RecordMetadata>}>()
    for (const topic of topics) {
      const {partitions} = captures.get(topic)!
      const positions = new Int32Array(partitions.length)
      const seen = new Map<number, number>()
      for (let i = 0; i < partitions.length; i++) {
        const count = seen.get(partitions[i]!) ?? 0
        positions[i] = count
        seen.set(partitions[i]!, count + 1)
      }
      layout.set(topic, {partitions, positions, written: new Map()})
    }
    for (const m of metadata) layout.get(m.topicName)?.written.set(m.partition, m)
    let unobserved = false
    held.written(chunk, (send, i) => {
      const groups = send.payload!.topicMessages
      const own = slices[i] ?? groups.map(({topic, messages}) => ({topic, start: starts[i]!, count: messages.length}))
      const result: RecordMetadata[] = []
      for (const {topic, start, count} of own) {
        const {partitions, positions, written} = layout.get(topic)!
        for (let j = start; j < start + count; j++) {
          const partition = partitions[j]!
          if (partition < 0) {
            // The partitioner never saw it: the merged batch's metadata is all there is to give.
            unobserved = true
            return metadata.filter((m) => send.topics.includes(m.topicName))
          }
          const base = written.get(partition)
          // The send's first record in each partition gives that partition's metadata, as kafkajs reports it.
          if (base && !result.some((r) => r.topicName === topic && r.partition === partition)) result.push(withOffset(base, positions[j]!))
        }
      }
      return result
    })
    if (unobserved) this.options.warn("released sends: the producer's partitioner was not observed; they got the merged batch's metadata")
  }
}

/** The metadata of a send whose first message sits `index` records after the batch's base offset in that partition. */
function withOffset(written: RecordMetadata, index: number): RecordMetadata {
  if (index === 0) return {...written}
  const shift = (offset: string | undefined) => (offset === undefined ? undefined : String(Number(offset) + index))
  const baseOffset = shift(written.baseOffset)
  const offset = shift(written.offset)
  return {...written, ...(baseOffset !== undefined ? {baseOffset} : {}), ...(offset !== undefined ? {offset} : {})}
}

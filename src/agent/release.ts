/**
 * Writing the sends a pause held, once it is lifted, in call order. kafkajs does not keep the order
 * of sends that run concurrently (the last of a burst can overtake the one before it), so released
 * sends are merged, in order, into a few `sendBatch` calls made one after another: bounded in size,
 * each sent once the previous one is written. Each caller still gets its own record metadata: the
 * partition of every message is observed through the producer's partitioner, and offsets follow from
 * each partition's base offset and the order of the messages in the batch. While anything is being
 * released, new sends to its topics queue behind it (HeldSends keeps them counted until settled).
 *
 * Releasing 100k sends is bound by memory latency and garbage collection, not by arithmetic: a
 * chunk is taken and merged in one pass over the sends (what each needs was read off its payload at
 * call time, see HeldSend), and answered in one more, which finds each caller's metadata from typed
 * arrays of partitions and positions and allocates per send only what the caller receives (its
 * RecordMetadata[]); counters are settled once per topic at the end of that pass. What remains is
 * about twice the floor of any promise-per-send API (bench/held-release.ts measures both). A merged batch
 * that fails fails every send merged into it (each would have met the same broker).
 */
import type {Message, ProducerBatch, RecordMetadata} from '../kafka/client.js'
import type {HeldSend, HeldSends, TopicsOpen} from './held-sends.js'

export type {HeldBatch} from './held-sends.js'
import {type AgentLifecycle, errorMessage} from './options.js'

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
  /** A merged batch was written: the broker's metadata, one entry per partition. */
  written?: (metadata: readonly RecordMetadata[]) => void
  warn: (message: string) => void
}

const sameOptions = (a: HeldSend, b: HeldSend) =>
  (a.plain && b.plain) ||
  (a.payload!.acks === b.payload!.acks && a.payload!.timeout === b.payload!.timeout && a.payload!.compression === b.payload!.compression)

/** What the broker answered for one partition of a merged batch, its offsets parsed once (not once per send). */
interface Written {
  metadata: RecordMetadata
  baseOffset: number
  offset: number
  /** Exactly kafkajs's fields (see withOffset). */
  kafkajsShape: boolean
}

/** One topic of a merged batch: its messages in call order and, once written, where each one went. */
interface TopicLayout {
  topic: string
  messages: Message[]
  /** Messages in `messages` (pre-sized, so its length says nothing until the chunk is taken). */
  size: number
  /** Per message: the partition the producer's partitioner gave it (-1: not observed). */
  partitions: Int32Array
  /** Per message: how many of the batch's messages precede it in its partition. */
  positions: Int32Array
  /** Per partition. */
  written: Array<Written | undefined>
}

/** Where a send that writes several topics (a sendBatch) has its messages. */
interface Slice {
  layout: TopicLayout
  start: number
  count: number
}

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
      // `accept` may replace `pending` while the chunk is written: the chunk keeps its own array.
      const sends = this.pending
      const from = this.head
      let chunk: Chunk | undefined
      try {
        chunk = this.takeChunk()
        await this.write(chunk)
      } catch (error) {
        // A bug must not strand callers: those taken fail here, the rest in failRest (rethrown when taking failed).
        held.failed(sends, from, chunk ? from + chunk.count : this.head, error instanceof Error ? error : new Error(errorMessage(error)))
        if (!chunk) throw error
      }
    }
  }

  private failRest(error: Error): void {
    this.options.held().failed(this.pending, this.head, this.pending.length, error)
    this.pending = []
    this.head = 0
  }

  /**
   * Takes consecutive sends with the same acks/timeout/compression and open topics, within the size
   * bounds (at least one), and merges their messages per topic, in call order, in the same pass.
   */
  private takeChunk(): Chunk {
    const pending = this.pending
    const from = this.head
    const first = pending[from]!
    const layouts: TopicLayout[] = []
    // At most one send per message (bar empty sends, which only end a chunk early).
    const room = Math.min(pending.length - from, MAX_MERGED_MESSAGES)
    const chunk: Chunk = {
      sends: pending,
      from,
      count: 0,
      layouts,
      layoutOf: new Int32Array(room),
      starts: new Int32Array(room),
      counts: new Int32Array(room),
      slices: undefined,
    }
    const layoutFor = (topic: string): number => {
      const index = layouts.findIndex((layout) => layout.topic === topic)
      if (index !== -1) return index
      // The first topic (usually the only one) gets room for one message per send: no regrowth per push.
      const messages: Message[] = layouts.length === 0 ? new Array<Message>(room) : []
      return layouts.push({topic, messages, size: 0, partitions: new Int32Array(0), positions: new Int32Array(0), written: []}) - 1
    }
    let bytes = 0
    let records = 0
    // Gates do not change during this synchronous pass: a topic found open stays open.
    let openTopic: string | undefined
    let lastLayout = -1
    while (this.head < pending.length && chunk.count < room) {
      const send = pending[this.head]!
      if (!send.payload || !sameOptions(send, first)) break
      const {topic} = send
      if (topic === undefined || topic !== openTopic) {
        if (!this.options.isOpen(send.topics)) break
        openTopic = topic
      }
      if (chunk.count > 0 && (bytes + send.bytes > MAX_MERGED_BYTES || records + send.records > MAX_MERGED_MESSAGES)) break
      bytes += send.bytes
      records += send.records
      const k = chunk.count++
      this.head++
      const {messages, message} = send
      if (messages && topic !== undefined) {
        if (lastLayout === -1 || layouts[lastLayout]!.topic !== topic) lastLayout = layoutFor(topic)
        const layout = layouts[lastLayout]!
        chunk.layoutOf[k] = lastLayout
        chunk.starts[k] = layout.size
        if (message) {
          chunk.counts[k] = 1
          append(layout, message)
        } else {
          chunk.counts[k] = messages.length
          for (let j = 0; j < messages.length; j++) append(layout, messages[j]!)
        }
        continue
      }
      // Several topics (a sendBatch): where its messages are in each.
      const own: Slice[] = []
      for (const group of send.payload.topicMessages) {
        const layout = layouts[layoutFor(group.topic)]!
        own.push({layout, start: layout.size, count: group.messages.length})
        for (const message of group.messages) append(layout, message)
      }
      chunk.layoutOf[k] = -1
      ;(chunk.slices ??= new Map()).set(k, own)
    }
    for (const layout of layouts) layout.messages.length = layout.size
    return chunk
  }

  /** Writes a chunk as one merged batch and answers each of its sends. */
  private async write(chunk: Chunk): Promise<void> {
    const held = this.options.held()
    const {sends, from, layouts} = chunk
    const to = from + chunk.count
    const batch = sends[from]!.payload!
    const topics = layouts.map((layout) => layout.topic)
    const captures = layouts.map((layout) => this.options.capture(layout.topic, layout.messages))
    let metadata: RecordMetadata[]
    try {
      metadata = await this.options.sendBatch(
        {
          topicMessages: layouts.map(({topic, messages}) => ({topic, messages})),
          ...(batch.acks !== undefined ? {acks: batch.acks} : {}),
          ...(batch.timeout !== undefined ? {timeout: batch.timeout} : {}),
          ...(batch.compression !== undefined ? {compression: batch.compression} : {}),
        },
        topics,
      )
    } catch (error) {
      held.failed(sends, from, to, error instanceof Error ? error : new Error(errorMessage(error)))
      return
    } finally {
      for (const capture of captures) capture.done()
    }
    this.options.written?.(metadata)
    for (let t = 0; t < layouts.length; t++) place(layouts[t]!, captures[t]!.partitions)
    for (const m of metadata) {
      const layout = layouts.find((l) => l.topic === m.topicName)
      if (layout)
        layout.written[m.partition] = {
          metadata: m,
          baseOffset: Number(m.baseOffset),
          offset: Number(m.offset),
          kafkajsShape: hasKafkajsShape(m),
        }
    }
    // One pass: each send is marked answered, gets its metadata and is resolved; the counters are
    // settled when the pass closes, before any caller resumes.
    const settlement = held.settlement()
    let unobserved = false
    let k = 0
    try {
      for (; k < chunk.count; k++) {
        const send = sends[from + k]!
        if (!settlement.add(send)) continue
        let result = metadataOf(chunk, k)
        if (!result) {
          // The partitioner never saw it: the merged batch's metadata is all there is to give.
          unobserved = true
          result = metadata.filter((m) => send.topics.includes(m.topicName))
        }
        send.resolve(result)
      }
    } catch (error) {
      // A bug here must not strand the rest of the chunk: the failing send and those after it fail instead.
      const failure = error instanceof Error ? error : new Error(errorMessage(error))
      sends[from + k]!.reject(failure)
      for (k++; k < chunk.count; k++) if (settlement.add(sends[from + k]!)) sends[from + k]!.reject(failure)
    } finally {
      settlement.close()
    }
    if (unobserved) this.options.warn("released sends: the producer's partitioner was not observed; they got the merged batch's metadata")
  }
}

/** Appends a message to a topic's list (pre-sized for the first topic, grown for the others). */
function append(layout: TopicLayout, message: Message): void {
  if (layout.size < layout.messages.length) layout.messages[layout.size++] = message
  else layout.size = layout.messages.push(message)
}

/** A merged batch: its sends and, per topic, their messages in call order. */
interface Chunk {
  sends: readonly HeldSend[]
  from: number
  count: number
  layouts: TopicLayout[]
  /** Per send (from `from`): the index in `layouts` of the one topic it writes; -1: see `slices`. */
  layoutOf: Int32Array
  /** Per send writing one topic: where its messages start there, and how many (typed arrays: no object per send). */
  starts: Int32Array
  counts: Int32Array
  slices: Map<number, Slice[]> | undefined
}

/** The k-th send's own metadata; undefined when a message's partition was not observed. */
function metadataOf(chunk: Chunk, k: number): RecordMetadata[] | undefined {
  const index = chunk.layoutOf[k]!
  if (index === -1) {
    let result: RecordMetadata[] = []
    for (const {layout, start, count} of chunk.slices!.get(k)!) {
      const mine = ownMetadata(layout, start, count, result)
      if (!mine) return undefined
      result = mine
    }
    return result
  }
  const layout = chunk.layouts[index]!
  const start = chunk.starts[k]!
  const count = chunk.counts[k]!
  if (count !== 1) return ownMetadata(layout, start, count, [])
  // One record (the usual send): its partition's metadata, no search among partitions already answered.
  const partition = layout.partitions[start]!
  if (partition < 0) return undefined
  const written = layout.written[partition]
  return written ? [withOffset(written, layout.positions[start]!)] : []
}

/** Each message's position among the batch's messages in its partition, counted per partition in one pass. */
function place(layout: TopicLayout, partitions: Int32Array): void {
  layout.partitions = partitions
  const positions = new Int32Array(partitions.length)
  let top = -1
  for (let i = 0; i < partitions.length; i++) if (partitions[i]! > top) top = partitions[i]!
  const seen = new Int32Array(top + 1)
  for (let i = 0; i < partitions.length; i++) {
    const partition = partitions[i]!
    if (partition >= 0) positions[i] = seen[partition]!++
  }
  layout.positions = positions
}

/**
 * A send's metadata in one topic: one entry per partition, at its first record there (as kafkajs
 * reports a send). Undefined when a message's partition was not observed.
 */
function ownMetadata(layout: TopicLayout, start: number, count: number, result: RecordMetadata[]): RecordMetadata[] | undefined {
  const first = result.length
  for (let j = start; j < start + count; j++) {
    const partition = layout.partitions[j]!
    if (partition < 0) return undefined
    const written = layout.written[partition]
    if (!written) continue
    let answered = false
    for (let r = first; r < result.length && !answered; r++) answered = result[r]!.partition === partition
    if (!answered) result.push(withOffset(written, layout.positions[j]!))
  }
  return result
}

/** The fields kafkajs gives a send's record metadata (a produce-response partition, v5 and later, plus the topic). */
const KAFKAJS_METADATA_KEYS = ['topicName', 'partition', 'errorCode', 'baseOffset', 'logAppendTime', 'logStartOffset'] as const

/** Whether the producer answered with exactly kafkajs's fields, so withOffset can build each copy as a literal. */
function hasKafkajsShape(metadata: RecordMetadata): boolean {
  const keys = Object.keys(metadata)
  return keys.length === KAFKAJS_METADATA_KEYS.length && KAFKAJS_METADATA_KEYS.every((key) => key in metadata)
}

/** The metadata of a send whose first message sits `index` records after the batch's base offset in that partition. */
function withOffset(written: Written, index: number): RecordMetadata {
  if (written.kafkajsShape) {
    // A literal of one fixed shape: V8 builds it inline, where a spread copies through a generic path.
    const m = written.metadata
    return {
      topicName: m.topicName,
      partition: m.partition,
      errorCode: m.errorCode,
      baseOffset: index === 0 ? m.baseOffset : shifted(m.baseOffset!, written.baseOffset, index),
      logAppendTime: m.logAppendTime,
      logStartOffset: m.logStartOffset,
    }
  }
  const metadata = {...written.metadata}
  if (index === 0) return metadata
  if (metadata.baseOffset !== undefined) metadata.baseOffset = shifted(metadata.baseOffset, written.baseOffset, index)
  if (metadata.offset !== undefined) metadata.offset = shifted(metadata.offset, written.offset, index)
  return metadata
}

/** Kafka offsets are 64-bit: past 2^53 the sum is made exactly, in BigInt. */
function shifted(text: string, parsed: number, index: number): string {
  const sum = parsed + index
  if (Number.isSafeInteger(sum) || !/^\d+$/.test(text)) return String(sum)
  return String(BigInt(text) + BigInt(index))
}

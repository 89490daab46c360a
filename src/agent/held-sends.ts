/**
 * Sends held while a topic is paused, in call order. A held send is let through only when all its
 * topics are open and no earlier held send shares a topic with it, so no call overtakes an earlier
 * call to the same topic. Releasing compacts the queue in place: O(n) per release, never a shift or
 * splice per send. A hard cap fails new sends fast; a send whose deadline passes leaves the queue
 * without moving the others.
 *
 * With a `release` hand-off (the agent's Releaser), released sends are not let go one by one: they
 * are handed over in order and stay counted (so later sends queue behind them) until the releaser
 * finishes them, because kafkajs may reorder sends that run concurrently.
 */
import type {Message, ProducerBatch, RecordMetadata} from '../kafka/client.js'

import {HeldSendsFullError, SendDeadlineError} from './errors.js'
import {DEFAULT_MAX_HELD_SENDS} from './options.js'

/** A held send's payload, released later as one ordered batch (see release.ts). */
export interface HeldBatch {
  acks?: number | undefined
  timeout?: number | undefined
  compression?: ProducerBatch['compression'] | undefined
  topicMessages: ReadonlyArray<{topic: string; messages: readonly Message[]}>
}

export interface HeldSend {
  readonly topics: readonly string[]
  readonly records: number
  /** What to send once released; absent for a caller that only waits its turn (a transaction's begin). */
  readonly payload: HeldBatch | undefined
  resolve: (metadata: RecordMetadata[]) => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout | undefined
  /** queued → releasing (handed over, still counted) → done. */
  state: 'queued' | 'releasing' | 'done'
}

interface TopicHeld {
  sends: number
  records: number
}

export interface HeldSendsOptions {
  /** Records held before one warning that callers are being held back (re-armed once below it). */
  limit: number
  /** Records held at most; a send that would exceed it fails at once with HeldSendsFullError (default 100000). */
  maxRecords?: number
  warn: (message: string) => void
  /** Takes released sends in call order and finishes each (`finish`); without it they are let go at once. */
  release?: (sends: HeldSend[]) => void
}

export type TopicsOpen = (topics: readonly string[]) => boolean

export class HeldSends {
  private queue: HeldSend[] = []
  /** Entries of `queue` already finished by a deadline, dropped at the next pass. */
  private dropped = 0
  private total = 0
  private readonly byTopic = new Map<string, TopicHeld>()
  private warned = false
  private isOpen: TopicsOpen = () => false
  private passScheduled = false

  constructor(private readonly options: HeldSendsOptions) {}

  /** Records held (queued or being released), all topics. */
  get records(): number {
    return this.total
  }

  /** Records of the held sends that write to `topic` (a batch counts whole for each of its topics). */
  recordsFor(topic: string): number {
    return this.byTopic.get(topic)?.records ?? 0
  }

  /** Whether an earlier send to any of these topics is still held (a new one must queue behind it). */
  holdsAny(topics: readonly string[]): boolean {
    return topics.some((topic) => (this.byTopic.get(topic)?.sends ?? 0) > 0)
  }

  /**
   * Queues a send; resolves with its record metadata once released and sent (with [] for a send
   * without payload). Rejects at once with HeldSendsFullError past the cap, with SendDeadlineError
   * if still queued after `timeoutMs`, and on `rejectAll`.
   */
  hold(topics: readonly string[], records: number, timeoutMs?: number, payload?: HeldBatch): Promise<RecordMetadata[]> {
    const {limit, maxRecords = DEFAULT_MAX_HELD_SENDS, warn} = this.options
    if (this.total + records > maxRecords) return Promise.reject(new HeldSendsFullError(this.total, records, maxRecords, topics))
    if (!this.warned && this.total + records > limit) {
      this.warned = true
      warn(`${this.total + records} records held while paused (limit ${limit}): callers are held back until resume`)
    }
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const send: HeldSend = {topics, records, payload, resolve, reject, timer: undefined, state: 'queued'}
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        send.timer = setTimeout(() => this.expire(send, timeoutMs), Math.max(0, timeoutMs))
        send.timer.unref?.()
      }
      this.queue.push(send)
      this.count(send, 1)
      // Topics open but earlier sends still being released: this one joins them at once.
      if (this.options.release && this.isOpen(topics)) this.schedulePass()
    })
  }

  /** Lets held sends through in the order they were made; a send stays held while any of its topics is closed. */
  release(isOpen: TopicsOpen): void {
    this.isOpen = isOpen
    const queue = this.queue
    const blocked = new Set<string>()
    // Most sends write one topic: ask the gates once per topic.
    const openTopic = new Map<string, boolean>()
    const releasable = (send: HeldSend): boolean => {
      if (send.topics.length !== 1) return isOpen(send.topics) && (blocked.size === 0 || !send.topics.some((topic) => blocked.has(topic)))
      const topic = send.topics[0]!
      let open = openTopic.get(topic)
      if (open === undefined) openTopic.set(topic, (open = isOpen(send.topics)))
      return open && !blocked.has(topic)
    }
    const handOver: HeldSend[] = []
    let kept = 0
    for (let i = 0; i < queue.length; i++) {
      const send = queue[i]!
      if (send.state !== 'queued') continue
      if (releasable(send)) {
        send.state = 'releasing'
        if (send.timer) clearTimeout(send.timer)
        handOver.push(send)
      } else {
        for (const topic of send.topics) blocked.add(topic)
        queue[kept++] = send
      }
    }
    queue.length = kept
    this.dropped = 0
    if (handOver.length === 0) return
    if (this.options.release) this.options.release(handOver)
    else this.letGo(handOver)
  }

  /** Without a releaser: every released send goes at once. */
  private letGo(sends: HeldSend[]): void {
    this.written(sends, () => [])
  }

  /**
   * The releaser wrote these sends: each gets its own metadata. Counters are settled once per topic
   * (not per send) before any caller resumes, so a caller's next send does not queue behind its own.
   */
  written(sends: readonly HeldSend[], metadataOf: (send: HeldSend, index: number) => RecordMetadata[]): void {
    const released = new Map<string, TopicHeld>()
    const fresh = new Uint8Array(sends.length)
    for (let i = 0; i < sends.length; i++) {
      const send = sends[i]!
      if (send.state === 'done') continue
      fresh[i] = 1
      send.state = 'done'
      if (send.timer) clearTimeout(send.timer)
      this.total -= send.records
      for (const topic of send.topics) {
        const sum = released.get(topic)
        if (sum) {
          sum.sends++
          sum.records += send.records
        } else released.set(topic, {sends: 1, records: send.records})
      }
    }
    for (const [topic, sum] of released) {
      const held = this.byTopic.get(topic)
      if (!held) continue
      held.sends -= sum.sends
      held.records -= sum.records
      if (held.sends <= 0) this.byTopic.delete(topic)
    }
    if (this.total < this.options.limit) this.warned = false
    for (let i = 0; i < sends.length; i++) if (fresh[i]) sends[i]!.resolve(metadataOf(sends[i]!, i))
  }

  /** The releaser is done with a send: it was written (its metadata) or failed. */
  finish(send: HeldSend, outcome: {metadata: RecordMetadata[]} | {error: Error}): void {
    if (send.state === 'done') return
    this.settle(send)
    if ('error' in outcome) send.reject(outcome.error)
    else send.resolve(outcome.metadata)
    if (this.total < this.options.limit) this.warned = false
  }

  /** Released sends the releaser could not send because a topic closed again: back to the head of the queue, in order. */
  requeue(sends: HeldSend[]): void {
    for (const send of sends) send.state = 'queued'
    this.queue = sends.concat(this.queue.filter((send) => send.state === 'queued'))
    this.dropped = 0
  }

  /** Fails every held send (their records were never sent) and empties the queue. */
  rejectAll(error: Error): void {
    const queue = this.queue
    this.queue = []
    this.dropped = 0
    for (const send of queue) {
      if (send.state !== 'queued') continue
      this.settle(send)
      send.reject(error)
    }
  }

  private expire(send: HeldSend, timeoutMs: number): void {
    if (send.state !== 'queued') return
    this.settle(send)
    send.reject(new SendDeadlineError(timeoutMs, send.topics))
    this.dropped++
    // Compacting only once half the queue is dead keeps many expiring sends O(1) each.
    if (this.dropped * 2 > this.queue.length) {
      this.queue = this.queue.filter((entry) => entry.state === 'queued')
      this.dropped = 0
    }
    // Later sends were waiting behind this one only on its open topics (a multi-topic batch): let them go.
    if (send.topics.some((topic) => this.isOpen([topic]))) this.schedulePass()
  }

  private schedulePass(): void {
    if (this.passScheduled) return
    this.passScheduled = true
    setImmediate(() => {
      this.passScheduled = false
      this.release(this.isOpen)
    })
  }

  private settle(send: HeldSend): void {
    send.state = 'done'
    if (send.timer) clearTimeout(send.timer)
    this.count(send, -1)
  }

  private count(send: HeldSend, sign: 1 | -1): void {
    this.total += sign * send.records
    for (const topic of send.topics) {
      const held = this.byTopic.get(topic) ?? {sends: 0, records: 0}
      held.sends += sign
      held.records += sign * send.records
      if (held.sends === 0) this.byTopic.delete(topic)
      else this.byTopic.set(topic, held)
    }
  }
}

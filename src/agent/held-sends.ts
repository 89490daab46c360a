/**
 * Sends held while a topic is paused, in call order. A held send is let through only when all its
 * topics are open and no earlier held send shares a topic with it, so no call overtakes an earlier
 * call to the same topic. Releasing compacts the queue in place: O(n) per release, never a shift or
 * splice per send. A hard cap fails new sends fast; a send whose deadline passes leaves the queue
 * without moving the others (one timer for all deadlines, see deadlines.ts).
 *
 * With a `release` hand-off (the agent's Releaser), released sends are not let go one by one: they
 * are handed over in order and stay counted (so later sends queue behind them) until the releaser
 * settles them, because kafkajs may reorder sends that run concurrently.
 */
import type {Message, RecordMetadata} from '../kafka/client.js'

import {Deadlines} from './deadlines.js'
import {HeldSendsFullError, SendDeadlineError} from './errors.js'
import {type HeldBatch, payloadBytes} from './held-batch.js'
import {DEFAULT_MAX_HELD_SENDS} from './options.js'

export type {HeldBatch} from './held-batch.js'

/**
 * One held call. What a release needs of it is read off its payload once, when the call is made (its
 * objects are still in the CPU cache then); a release of 100k sends is bound by memory latency, so
 * it touches this object and not the payload's object graph.
 */
export interface HeldSend {
  readonly topics: readonly string[]
  /** topics[0] when the send writes one topic. */
  readonly topic: string | undefined
  /** Messages in the payload (what the cap counts). */
  readonly records: number
  /** What to send once released; absent for a caller that only waits its turn (a transaction's begin). */
  readonly payload: HeldBatch | undefined
  /** The messages when the payload writes one topic (most sends), else undefined. */
  readonly messages: readonly Message[] | undefined
  /** The message when that is a single one (most sends): taking it needs no visit to the messages array. */
  readonly message: Message | undefined
  /** Upper bound of the payload's size in a produce request (see payloadBytes). */
  readonly bytes: number
  /** No acks, timeout or compression of its own: merges with any other such send. */
  readonly plain: boolean
  resolve: (metadata: RecordMetadata[]) => void
  reject: (error: Error) => void
  /** performance.now() past which the send, still queued, fails (Infinity: no deadline); counted from the call. */
  readonly deadline: number
  /** The deadline as the caller gave it, for the error. */
  readonly timeoutMs: number
  /**
   * queued → releasing (handed over, still counted) → done. A resume that hands the whole queue over
   * leaves sends 'queued' until done: no deadline or rejectAll reaches them any more, and not
   * visiting 100k sends once more is worth it.
   */
  state: 'queued' | 'releasing' | 'done'
}

export interface TopicHeld {
  sends: number
  records: number
}

export interface HeldSendsOptions {
  /** Records held before one warning that callers are being held back (re-armed once below it). */
  limit: number
  /** Records held at most; a send that would exceed it fails at once with HeldSendsFullError (default 100000). */
  maxRecords?: number
  warn: (message: string) => void
  /** Takes released sends in call order and settles them (`written` / `failed` / `finish`); without it they are let go at once. */
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
  private readonly deadlines = new Deadlines<HeldSend>({
    live: (send) => send.state === 'queued',
    expire: (send) => this.expire(send),
  })

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
    if (this.byTopic.size === 0) return false
    for (const topic of topics) if ((this.byTopic.get(topic)?.sends ?? 0) > 0) return true
    return false
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
    const timed = timeoutMs !== undefined && Number.isFinite(timeoutMs)
    const deadline = timed ? performance.now() + Math.max(0, timeoutMs) : Infinity
    const topic = topics.length === 1 ? topics[0] : undefined
    const group = payload?.topicMessages.length === 1 ? payload.topicMessages[0] : undefined
    const single = group !== undefined && group.topic === topic ? group : undefined
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      const send: HeldSend = {
        topics,
        topic,
        records,
        payload,
        messages: single?.messages,
        message: single?.messages.length === 1 ? single.messages[0] : undefined,
        bytes: payload ? payloadBytes(payload) : 0,
        plain: payload === undefined || (payload.acks === undefined && payload.timeout === undefined && payload.compression === undefined),
        resolve,
        reject,
        deadline,
        timeoutMs: timed ? timeoutMs : Infinity,
        state: 'queued',
      }
      this.queue.push(send)
      this.count(send, 1)
      if (timed) this.deadlines.add(send)
      // Topics open but earlier sends still being released: this one joins them at once.
      if (this.options.release && this.isOpen(topics)) this.schedulePass()
    })
  }

  /** Lets held sends through in the order they were made; a send stays held while any of its topics is closed. */
  release(isOpen: TopicsOpen): void {
    this.isOpen = isOpen
    const queue = this.queue
    if (queue.length === 0) return
    // The usual resume: every held send writes the one topic now open (the counters say so, a
    // multi-topic send would count in another topic) and none has left by its deadline. The whole
    // queue goes, in order, without a visit to each send.
    if (this.dropped === 0 && this.byTopic.size === 1) {
      const [only] = this.byTopic.keys()
      if (only !== undefined && isOpen([only])) {
        this.queue = []
        this.deadlines.clear()
        this.handOver(queue)
        return
      }
    }
    const blocked = new Set<string>()
    // Most sends write one topic: ask the gates once per topic, and the last answer without a lookup.
    const openTopic = new Map<string, boolean>()
    let lastTopic: string | undefined
    let lastOpen = false
    let kept = 0
    let released = 0
    for (let i = 0; i < queue.length; i++) {
      const send = queue[i]!
      if (send.state !== 'queued') continue
      let releasable: boolean
      const {topic} = send
      if (topic !== undefined) {
        if (topic !== lastTopic) {
          let open = openTopic.get(topic)
          if (open === undefined) openTopic.set(topic, (open = isOpen(send.topics)))
          lastTopic = topic
          lastOpen = open
        }
        releasable = lastOpen && (blocked.size === 0 || !blocked.has(topic))
      } else {
        releasable = isOpen(send.topics) && (blocked.size === 0 || !send.topics.some((t) => blocked.has(t)))
      }
      if (releasable) {
        send.state = 'releasing'
        released++
      } else {
        for (const t of send.topics) blocked.add(t)
        kept++
      }
    }
    this.dropped = 0
    if (released === 0) return
    let handOver: HeldSend[]
    if (released === queue.length) {
      // Everything goes (a resume after a pause): the queue itself is handed over, not copied.
      handOver = queue
      this.queue = []
    } else {
      handOver = []
      let next = 0
      for (const send of queue) {
        if (send.state === 'releasing') handOver.push(send)
        else if (send.state === 'queued') queue[next++] = send
      }
      queue.length = next
    }
    // Released sends' deadlines no longer apply: drop their entries in bulk, not one by one.
    if (kept === 0) this.deadlines.clear()
    else this.deadlines.prune(kept)
    this.handOver(handOver)
  }

  private handOver(sends: HeldSend[]): void {
    if (this.options.release) this.options.release(sends)
    else this.letGo(sends)
  }

  /** Without a releaser: every released send goes at once. */
  private letGo(sends: HeldSend[]): void {
    const settlement = this.settlement()
    try {
      for (const send of sends) if (settlement.add(send)) send.resolve([])
    } finally {
      settlement.close()
    }
  }

  /**
   * Starts answering released sends in one synchronous pass: `add` each send before resolving or
   * rejecting it, `close` at the end. Counters are settled once per topic (not per send) and before
   * any caller resumes (callers resume in microtasks, after the pass), so a caller's next send does
   * not queue behind its own.
   */
  settlement(): Settlement {
    return new Settlement(this)
  }

  /** Applies a settlement's sums (see Settlement). */
  settleCounts(
    records: number,
    topic: string | undefined,
    sends: number,
    topicRecords: number,
    others: Map<string, TopicHeld> | undefined,
  ): void {
    this.total -= records
    if (topic !== undefined) this.uncount(topic, sends, topicRecords)
    if (others) for (const [name, sum] of others) this.uncount(name, sum.sends, sum.records)
    if (this.total < this.options.limit) this.warned = false
  }

  /** The releaser could not write these sends: every one of them fails with the same error. */
  failed(sends: readonly HeldSend[], from: number, to: number, error: Error): void {
    const settlement = this.settlement()
    try {
      for (let i = from; i < to; i++) if (settlement.add(sends[i]!)) sends[i]!.reject(error)
    } finally {
      settlement.close()
    }
  }

  /** The releaser is done with a send: it was written (its metadata) or failed. */
  finish(send: HeldSend, outcome: {metadata: RecordMetadata[]} | {error: Error}): void {
    if (send.state === 'done') return
    this.settle(send)
    if ('error' in outcome) send.reject(outcome.error)
    else send.resolve(outcome.metadata)
    if (this.total < this.options.limit) this.warned = false
  }

  /**
   * Released sends the releaser could not send because a topic closed again: back to the head of the
   * queue, in order. A deadline counts from the call, so they keep theirs.
   */
  requeue(sends: HeldSend[]): void {
    for (const send of sends) send.state = 'queued'
    this.queue = sends.concat(this.queue.filter((send) => send.state === 'queued'))
    this.dropped = 0
    for (const send of sends) this.deadlines.add(send)
  }

  /** Fails every held send (their records were never sent) and empties the queue. */
  rejectAll(error: Error): void {
    const queue = this.queue
    this.queue = []
    this.dropped = 0
    this.deadlines.clear()
    for (const send of queue) {
      if (send.state !== 'queued') continue
      this.settle(send)
      send.reject(error)
    }
  }

  private expire(send: HeldSend): void {
    if (send.state !== 'queued') return
    this.settle(send)
    send.reject(new SendDeadlineError(send.timeoutMs, send.topics))
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
    this.count(send, -1)
  }

  private count(send: HeldSend, sign: 1 | -1): void {
    this.total += sign * send.records
    for (const topic of send.topics) {
      const held = this.byTopic.get(topic)
      if (held) {
        held.sends += sign
        held.records += sign * send.records
        if (held.sends === 0) this.byTopic.delete(topic)
      } else if (sign > 0) this.byTopic.set(topic, {sends: 1, records: send.records})
    }
  }

  private uncount(topic: string, sends: number, records: number): void {
    const held = this.byTopic.get(topic)
    if (!held) return
    held.sends -= sends
    held.records -= records
    if (held.sends <= 0) this.byTopic.delete(topic)
  }
}

/** Sums of the sends one pass answers, applied to the counters at once (see HeldSends.settlement). */
export class Settlement {
  private records = 0
  /** The topic nearly every send of a release writes: summed without a map entry per send. */
  private topic: string | undefined
  private sends = 0
  private topicRecords = 0
  private others: Map<string, TopicHeld> | undefined

  constructor(private readonly held: HeldSends) {}

  /** Marks the send answered; false if it already was (expired, failed): leave it alone. */
  add(send: HeldSend): boolean {
    if (send.state === 'done') return false
    send.state = 'done'
    this.records += send.records
    const single = send.topic
    if (single !== undefined && (single === this.topic || this.topic === undefined)) {
      this.topic = single
      this.sends++
      this.topicRecords += send.records
      return true
    }
    this.others ??= new Map()
    for (const topic of send.topics) {
      const sum = this.others.get(topic)
      if (sum) {
        sum.sends++
        sum.records += send.records
      } else this.others.set(topic, {sends: 1, records: send.records})
    }
    return true
  }

  close(): void {
    this.held.settleCounts(this.records, this.topic, this.sends, this.topicRecords, this.others)
    // Applied once: a second close adds nothing.
    this.records = 0
    this.sends = 0
    this.topicRecords = 0
    this.others = undefined
  }
}

/**
 * Sends held while a topic is paused, in call order. A held send is let through only when all its
 * topics are open and no earlier held send shares a topic with it, so no call overtakes an earlier
 * call to the same topic. Releasing compacts the queue in place: O(n) per release, never a shift or
 * splice per send. A hard cap fails new sends fast; a send whose deadline passes leaves the queue
 * without moving the others.
 */
import {HeldSendsFullError, SendDeadlineError} from './errors.js'
import {DEFAULT_MAX_HELD_SENDS} from './options.js'

interface HeldSend {
  topics: readonly string[]
  records: number
  resolve: () => void
  reject: (error: Error) => void
  timer: NodeJS.Timeout | undefined
  /** Let through, failed or timed out: no longer counted, skipped (and dropped) by the next pass. */
  settled: boolean
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
}

export type TopicsOpen = (topics: readonly string[]) => boolean

export class HeldSends {
  private queue: HeldSend[] = []
  /** Entries of `queue` already settled by a deadline, dropped at the next pass. */
  private dropped = 0
  private total = 0
  private readonly byTopic = new Map<string, TopicHeld>()
  private warned = false
  private isOpen: TopicsOpen = () => false
  private passScheduled = false

  constructor(private readonly options: HeldSendsOptions) {}

  /** Records held, all topics. */
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
   * Queues a send; resolves when `release` lets it through. Rejects at once with HeldSendsFullError
   * past the cap, with SendDeadlineError if still held after `timeoutMs`, and on `rejectAll`.
   */
  hold(topics: readonly string[], records: number, timeoutMs?: number): Promise<void> {
    const {limit, maxRecords = DEFAULT_MAX_HELD_SENDS, warn} = this.options
    if (this.total + records > maxRecords) return Promise.reject(new HeldSendsFullError(this.total, records, maxRecords, topics))
    if (!this.warned && this.total + records > limit) {
      this.warned = true
      warn(`${this.total + records} records held while paused (limit ${limit}): callers are held back until resume`)
    }
    return new Promise<void>((resolve, reject) => {
      const send: HeldSend = {topics, records, resolve, reject, timer: undefined, settled: false}
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        send.timer = setTimeout(() => this.expire(send, timeoutMs), Math.max(0, timeoutMs))
        send.timer.unref?.()
      }
      this.queue.push(send)
      this.count(send, 1)
    })
  }

  /** Lets held sends through in the order they were made; a send stays held while any of its topics is closed. */
  release(isOpen: TopicsOpen): void {
    this.isOpen = isOpen
    const queue = this.queue
    const blocked = new Set<string>()
    // Most sends write one topic: ask the gates once per topic, and settle counters once per topic at the end.
    const openTopic = new Map<string, boolean>()
    const released = new Map<string, TopicHeld>()
    const releasable = (send: HeldSend): boolean => {
      if (send.topics.length !== 1) return isOpen(send.topics) && (blocked.size === 0 || !send.topics.some((topic) => blocked.has(topic)))
      const topic = send.topics[0]!
      let open = openTopic.get(topic)
      if (open === undefined) openTopic.set(topic, (open = isOpen(send.topics)))
      return open && !blocked.has(topic)
    }
    let kept = 0
    for (let i = 0; i < queue.length; i++) {
      const send = queue[i]!
      if (send.settled) continue
      if (releasable(send)) {
        send.settled = true
        if (send.timer) clearTimeout(send.timer)
        this.total -= send.records
        for (const topic of send.topics) {
          const sum = released.get(topic)
          if (sum) {
            sum.sends++
            sum.records += send.records
          } else released.set(topic, {sends: 1, records: send.records})
        }
        send.resolve()
      } else {
        for (const topic of send.topics) blocked.add(topic)
        queue[kept++] = send
      }
    }
    queue.length = kept
    this.dropped = 0
    for (const [topic, sum] of released) {
      const held = this.byTopic.get(topic)
      if (!held) continue
      held.sends -= sum.sends
      held.records -= sum.records
      if (held.sends <= 0) this.byTopic.delete(topic)
    }
    if (this.total < this.options.limit) this.warned = false
  }

  /** Fails every held send (their records were never sent) and empties the queue. */
  rejectAll(error: Error): void {
    const queue = this.queue
    this.queue = []
    this.dropped = 0
    for (const send of queue) {
      if (send.settled) continue
      this.settle(send)
      send.reject(error)
    }
  }

  private expire(send: HeldSend, timeoutMs: number): void {
    if (send.settled) return
    this.settle(send)
    send.reject(new SendDeadlineError(timeoutMs, send.topics))
    this.dropped++
    // Compacting only once half the queue is dead keeps many expiring sends O(1) each.
    if (this.dropped * 2 > this.queue.length) {
      this.queue = this.queue.filter((entry) => !entry.settled)
      this.dropped = 0
    }
    // Later sends were waiting behind this one only on its open topics (a multi-topic batch): let them go.
    if (send.topics.some((topic) => this.isOpen([topic])) && !this.passScheduled) {
      this.passScheduled = true
      setImmediate(() => {
        this.passScheduled = false
        this.release(this.isOpen)
      })
    }
  }

  private settle(send: HeldSend): void {
    send.settled = true
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

/**
 * The deadlines of held sends (`sendTimeoutMs`) behind one timer. A Node timer per held send costs a
 * Timeout object and a timer-list entry per call, and clearing 100k of them was a visible part of a
 * release; here a send costs two array slots in a min-heap, and the one timer is armed for the
 * earliest deadline. Entries are never removed one by one: a send that left the queue (released,
 * expired, rejected) is skipped when its entry comes up, and the heap is emptied or rebuilt in bulk.
 *
 * The global `performance` (not node:perf_hooks') so that fake timers that fake it move deadlines too.
 */
export interface Deadline {
  /** performance.now() by which the entry expires; Infinity: never. */
  readonly deadline: number
}

export interface DeadlinesOptions<T extends Deadline> {
  /** Whether the entry still waits (expiring it would still mean something). */
  live: (entry: T) => boolean
  expire: (entry: T) => void
}

export class Deadlines<T extends Deadline> {
  /** Parallel arrays ordered as a binary min-heap on `at`: no object per entry. */
  private at: number[] = []
  private entries: T[] = []
  private timer: NodeJS.Timeout | undefined
  /** The deadline the timer was armed for (Infinity: not armed). */
  private armedFor = Infinity

  constructor(private readonly options: DeadlinesOptions<T>) {}

  /** Entries in the heap, the dead ones not skipped yet included. */
  get size(): number {
    return this.at.length
  }

  add(entry: T): void {
    const at = entry.deadline
    if (!(at < Infinity)) return
    let i = this.at.length
    this.at.push(at)
    this.entries.push(entry)
    // Sends with the agent's one sendTimeoutMs arrive in deadline order: the loop stops at once.
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.at[parent]! <= at) break
      this.at[i] = this.at[parent]!
      this.entries[i] = this.entries[parent]!
      i = parent
    }
    this.at[i] = at
    this.entries[i] = entry
    if (at < this.armedFor) this.arm()
  }

  /** Forgets every entry (nothing is held any more) and stops the timer. */
  clear(): void {
    this.at = []
    this.entries = []
    this.disarm()
  }

  /** Drops dead entries once they outnumber `liveAtMost` (the queue's length) so a long pause does not retain released sends. */
  prune(liveAtMost: number): void {
    if (this.at.length <= 2 * liveAtMost + 64) return
    const at: number[] = []
    const entries: T[] = []
    for (let i = 0; i < this.entries.length; i++) {
      if (!this.options.live(this.entries[i]!)) continue
      at.push(this.at[i]!)
      entries.push(this.entries[i]!)
    }
    this.at = at
    this.entries = entries
    // Floyd's heapify: O(n) for the whole rebuild.
    for (let i = (at.length >> 1) - 1; i >= 0; i--) this.siftDown(i)
    this.disarm()
    this.arm()
  }

  private arm(): void {
    const next = this.at.length > 0 ? this.at[0]! : Infinity
    if (next === this.armedFor) return
    this.disarm()
    if (next === Infinity) return
    this.armedFor = next
    // Rounded up: libuv counts whole milliseconds, and a deadline must not pass early.
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(next - performance.now())))
    // Held sends alone must not keep the process alive (their callers are still waiting on them).
    this.timer.unref?.()
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Infinity
  }

  private readonly fire = (): void => {
    // The timer firing means its deadline passed, whatever performance.now() says (fake timers in tests).
    const now = Math.max(performance.now(), this.armedFor)
    this.timer = undefined
    this.armedFor = Infinity
    const due: T[] = []
    while (this.at.length > 0 && this.at[0]! <= now) {
      const entry = this.pop()
      if (this.options.live(entry)) due.push(entry)
    }
    // Expired after the heap is consistent again: expiring may queue more work but never touches the heap.
    for (const entry of due) this.options.expire(entry)
    this.arm()
  }

  private pop(): T {
    const top = this.entries[0]!
    const lastAt = this.at.pop()!
    const lastEntry = this.entries.pop()!
    if (this.at.length > 0) {
      this.at[0] = lastAt
      this.entries[0] = lastEntry
      this.siftDown(0)
    }
    return top
  }

  private siftDown(start: number): void {
    const {at, entries} = this
    const n = at.length
    const value = at[start]!
    const entry = entries[start]!
    let i = start
    for (;;) {
      let child = 2 * i + 1
      if (child >= n) break
      if (child + 1 < n && at[child + 1]! < at[child]!) child++
      if (at[child]! >= value) break
      at[i] = at[child]!
      entries[i] = entries[child]!
      i = child
    }
    at[i] = value
    entries[i] = entry
  }
}

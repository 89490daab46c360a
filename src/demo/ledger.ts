/**
 * Per-key ordering bookkeeping for the demo and the end-to-end tests: producers record what they
 * sent (key → highest sequence), consumers what they received, in consumption order.
 */
export interface LedgerReport {
  consumed: number
  /** A record consumed after a later record of the same key. */
  violations: number
  /** Sent but never consumed. */
  lost: number
  /** Consumed more than once. */
  duplicated: number
  /** Keys with at least one violation (first few, for the story). */
  violatingKeys: string[]
}

export class SentLedger {
  private readonly highest = new Map<string, number>()

  /** Next sequence number for a key (1, 2, 3, ...), remembered as sent. */
  next(key: string): number {
    const seq = (this.highest.get(key) ?? 0) + 1
    this.highest.set(key, seq)
    return seq
  }

  /** Undo the last `next` for a key whose send failed, so the sequence stays gapless. */
  unsend(key: string, seq: number): void {
    if (this.highest.get(key) === seq) this.highest.set(key, seq - 1)
  }

  get total(): number {
    let sum = 0
    for (const seq of this.highest.values()) sum += seq
    return sum
  }

  entries(): IterableIterator<[string, number]> {
    return this.highest.entries()
  }
}

export class ReceivedLedger {
  private readonly seen = new Map<string, Set<number>>()
  private readonly maxSeen = new Map<string, number>()
  private violationCount = 0
  private duplicateCount = 0
  private consumedCount = 0
  private readonly violating = new Set<string>()

  record(key: string, seq: number): void {
    this.consumedCount++
    let set = this.seen.get(key)
    if (!set) this.seen.set(key, (set = new Set()))
    if (set.has(seq)) {
      this.duplicateCount++
      return
    }
    set.add(seq)
    const max = this.maxSeen.get(key) ?? 0
    if (seq < max) {
      this.violationCount++
      this.violating.add(key)
    } else {
      this.maxSeen.set(key, seq)
    }
  }

  get consumed(): number {
    return this.consumedCount
  }

  report(sent: SentLedger): LedgerReport {
    let lost = 0
    for (const [key, highest] of sent.entries()) {
      const set = this.seen.get(key)
      for (let seq = 1; seq <= highest; seq++) if (!set?.has(seq)) lost++
    }
    return {
      consumed: this.consumedCount,
      violations: this.violationCount,
      lost,
      duplicated: this.duplicateCount,
      violatingKeys: [...this.violating].slice(0, 5),
    }
  }
}

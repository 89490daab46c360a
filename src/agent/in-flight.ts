/**
 * Sends handed to the producer and not settled yet, per topic. A pause ack waits for them, a pin ack
 * for those made before the pin. Counted in generations rather than kept in a set: tracking costs a
 * counter and one `then` per send (no per-send closure, nothing to delete), which matters when a
 * resume releases 100k held sends at once.
 */

class Generation {
  count = 0
  private idle: Promise<void> | undefined
  private resolveIdle: (() => void) | undefined
  /** Shared by every send of the generation: one function, not a closure per send. */
  readonly settle = () => {
    if (--this.count === 0) this.resolveIdle?.()
  }

  /** Resolves once every send of this generation has settled. */
  settled(): Promise<void> {
    if (this.count === 0) return Promise.resolve()
    this.idle ??= new Promise<void>((resolve) => (this.resolveIdle = resolve))
    return this.idle
  }
}

export class InFlight {
  private current = new Generation()
  /** Generations cut by earlier `settled()` calls, possibly still pending. */
  private older: Generation[] = []

  /** Sends in flight now. */
  get size(): number {
    return this.older.reduce((sum, g) => sum + g.count, this.current.count)
  }

  add(send: Promise<unknown>): void {
    const generation = this.current
    generation.count++
    void send.then(generation.settle, generation.settle)
  }

  /** Resolves once every send in flight now has settled; sends added later are not waited for. */
  settled(): Promise<void> {
    const pending = [...this.older, this.current].filter((g) => g.count > 0)
    if (pending.length === 0) return Promise.resolve()
    this.current = new Generation()
    this.older = pending
    return Promise.all(pending.map((g) => g.settled())).then(() => {})
  }
}

import {setTimeout as sleep} from 'node:timers/promises'

import {SentRecords} from './sequence-judge.js'

/** Sends one batch of keyed records and resolves once the broker acknowledged all of them. */
export type SendBatch = (messages: Array<{key: string; value: string}>) => Promise<unknown>

export function judgeKeys(count: number): string[] {
  return Array.from({length: count}, (_, i) => `key-${String(i).padStart(4, '0')}`)
}

/**
 * Keyed records `<key>:<seq>` at a steady rate (batches grow when sends are slow). Each key belongs
 * to one writer, and a writer awaits each send before the next, so a key's records reach the log in
 * sequence order unless the partition layout changes under them. Also measures what the producers felt: the longest stretch
 * in which no send completed (a pause shows up here whatever the orchestrator reports).
 */
export class SequencedTraffic {
  readonly sent = new SentRecords()
  sendErrors = 0
  private stopped = false
  private readonly loops: Array<Promise<void>> = []
  private lastCompletion = 0
  private longestGap = {ms: 0, endedAt: 0}

  constructor(
    private readonly options: {
      writers: SendBatch[]
      keys: string[]
      ratePerSec: number
      tickMs?: number
    },
  ) {}

  start(): void {
    const {writers, keys} = this.options
    const tickMs = this.options.tickMs ?? 50
    const perWriterPerSec = this.options.ratePerSec / writers.length
    const startedAt = Date.now()
    this.lastCompletion = startedAt
    writers.forEach((send, w) => {
      const own = keys.filter((_, i) => i % writers.length === w)
      let cursor = 0
      let taken = 0
      this.loops.push(
        (async () => {
          while (!this.stopped) {
            const tick = Date.now()
            // Whatever the rate owes since the start (sends slow down on a busy machine; the rate does not),
            // capped so one held send cannot turn into a burst that swamps the broker.
            const due = Math.floor(((tick - startedAt) / 1000) * perWriterPerSec) - taken
            const size = Math.min(Math.max(due, 1), 200)
            taken += size
            const batch = Array.from({length: size}, () => {
              const key = own[cursor++ % own.length]!
              return {key, seq: this.sent.take(key)}
            })
            try {
              await send(batch.map(({key, seq}) => ({key, value: `${key}:${seq}`})))
              for (const {key, seq} of batch) this.sent.ack(key, seq)
            } catch {
              this.sendErrors++
              for (const {key, seq} of batch) this.sent.fail(key, seq)
            }
            this.completed()
            await sleep(Math.max(0, tickMs - (Date.now() - tick)))
          }
        })(),
      )
    })
  }

  private completed(): void {
    const now = Date.now()
    const gap = now - this.lastCompletion
    if (gap > this.longestGap.ms) this.longestGap = {ms: gap, endedAt: now}
    this.lastCompletion = now
  }

  /** The longest time no send of any writer completed (ms), and when it ended (epoch ms). */
  get longestStall(): {ms: number; endedAt: number} {
    return {...this.longestGap}
  }

  async stop(): Promise<void> {
    this.stopped = true
    await Promise.all(this.loops)
  }
}

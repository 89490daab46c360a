/**
 * The pause gate: per topic, whether sends may go now. Sends to a closed topic wait in the held-send
 * queue; closing a topic waits for the sends already in flight and for open transactions, so that
 * once `close` resolves nothing more is written to it.
 */
import type {RecordMetadata} from '../kafka/client.js'
import type {AgentLifecycle} from './options.js'
import type {HeldBatch} from './release.js'
import type {TransactionTracker} from './transactions.js'

import {HeldSends} from './held-sends.js'
import {InFlight} from './in-flight.js'

export interface TopicGate {
  readonly topic: string
  /** Closed while starting, paused, or refreshing metadata. */
  open: boolean
  paused: boolean
  runId: string | undefined
  epoch: number | undefined
  /** Fallback lapse time from the command; renewals in lease records extend it. */
  leaseExpiresAt: number | undefined
  /**
   * Partition count keyed records keep using until a resume with targetPartitions, even after a
   * lapse: partitions added meanwhile must not receive writes before kreorg primed consumers for them.
   */
  pinned: number | undefined
  readonly inFlight: InFlight
}

export interface PauseGatesOptions {
  topics: readonly string[]
  lifecycle: AgentLifecycle
  transactions: TransactionTracker
  held: HeldSends
  /** A topic opened: worth telling kreorg at once rather than at the next heartbeat. */
  onOpened: (topic: string) => void
}

export class PauseGates {
  private readonly gates = new Map<string, TopicGate>()
  readonly held: HeldSends

  constructor(private readonly options: PauseGatesOptions) {
    this.held = options.held
    for (const topic of options.topics) {
      this.gates.set(topic, {
        topic,
        open: false,
        paused: false,
        runId: undefined,
        epoch: undefined,
        leaseExpiresAt: undefined,
        pinned: undefined,
        inFlight: new InFlight(),
      })
    }
  }

  get(topic: string): TopicGate | undefined {
    return this.gates.get(topic)
  }

  has(topic: string): boolean {
    return this.gates.has(topic)
  }

  all(): IterableIterator<TopicGate> {
    return this.gates.values()
  }

  /** The partition count a pin holds the topic's keyed records to, if any. */
  pinned(topic: string): number | undefined {
    return this.gates.get(topic)?.pinned
  }

  /** Topics the agent does not manage never hold a send back. */
  isOpen(topics: readonly string[]): boolean {
    return this.options.lifecycle.ready && topics.every((topic) => this.gates.get(topic)?.open ?? true)
  }

  /**
   * Whether a send to `topics` may go now: undefined if they are open and nothing earlier is held for
   * them (so a send that may go never pays for a promise), else the held send's outcome: its record
   * metadata once released and written. Rejects with HeldSendsFullError past the cap, with
   * SendDeadlineError once held for `timeoutMs`.
   */
  admitSend(
    topics: readonly string[],
    records: number,
    timeoutMs: number | undefined,
    payload: HeldBatch,
  ): Promise<RecordMetadata[]> | undefined {
    if (this.options.lifecycle.closed) throw new Error('kreorg agent is closed')
    if (this.isOpen(topics) && !this.held.holdsAny(topics)) return undefined
    return this.held.hold(topics, records, timeoutMs, payload)
  }

  /** Resolves when everything held for `topics` before now is written and the topics are open. */
  async admit(topics: readonly string[]): Promise<void> {
    if (this.options.lifecycle.closed) throw new Error('kreorg agent is closed')
    if (this.isOpen(topics) && !this.held.holdsAny(topics)) return
    await this.held.hold(topics, 0)
  }

  /** Runs a send, counted as in flight on its topics until it settles. */
  track<T>(topics: readonly string[], work: () => Promise<T>): Promise<T> {
    const promise = work()
    for (const topic of topics) this.gates.get(topic)?.inFlight.add(promise)
    return promise
  }

  /** Settles once every send in flight now, on any topic, has settled. */
  async inFlightSettled(): Promise<void> {
    await Promise.all([...this.gates.values()].map((gate) => gate.inFlight.settled()))
  }

  /** Stops new sends on the topic and waits for in-flight ones (and open transactions) to finish. */
  async close(gate: TopicGate): Promise<void> {
    const {transactions} = this.options
    gate.open = false
    while (gate.inFlight.size > 0 || transactions.openCount > 0) {
      await Promise.allSettled([gate.inFlight.settled(), ...transactions.openTransactions])
    }
    await transactions.waitForMarkers(gate.topic)
  }

  /** Opens the topic and lets its held sends through, in call order. */
  open(topic: string): void {
    const gate = this.gates.get(topic)
    if (!gate || this.options.lifecycle.closed) return
    gate.open = true
    this.held.release((topics) => this.isOpen(topics))
    this.options.onOpened(topic)
  }
}

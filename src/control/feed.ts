/**
 * The control topic as both sides use it: a tail folded into `ControlState` in log order, and signed
 * writes. The orchestrator's channel and each producer agent own one. A second feed on another
 * topic (e.g. a heartbeat topic) folds into the same kind of state the same way.
 */
import type {ControlLog, RawControlRecord} from '../kafka/control-log.js'
import type {ControlMessage} from './schema.js'

import {decode, encode} from './codec.js'
import {ControlState, type StateChange} from './state.js'

export interface ControlFeedOptions {
  /** Shared HMAC secret: sign everything written, ignore unsigned or badly signed records. */
  secret?: string | undefined
  /** Records that did not decode; each side decides which of them are noise and which deserve a warning. */
  onIgnored?: (record: RawControlRecord, reason: string) => void
  /** The fold to apply records to (a channel without a control topic keeps an empty one). */
  state?: ControlState
}

export class ControlFeed {
  readonly state: ControlState
  private readonly secret: string | undefined

  constructor(
    readonly log: ControlLog,
    private readonly options: ControlFeedOptions = {},
  ) {
    this.state = options.state ?? new ControlState()
    this.secret = options.secret || undefined
  }

  get topic(): string {
    return this.log.topic
  }

  /** Tails from the beginning; resolves once the records that existed at start are folded in. */
  start(onChange: (change: StateChange) => void, options: {catchUpTimeoutMs?: number} = {}): Promise<void> {
    return this.log.start((record) => {
      const change = this.fold(record)
      if (change) onChange(change)
    }, options)
  }

  private fold(record: RawControlRecord): StateChange | undefined {
    const decoded = decode(record.key, record.value, this.secret ? {secret: this.secret} : {})
    if (!decoded.ok) this.options.onIgnored?.(record, decoded.reason)
    return this.state.apply(decoded, {offset: record.offset, timestamp: record.timestamp})
  }

  /** Appends a signed record; returns its offset. */
  write(key: string, message: ControlMessage): Promise<number> {
    return this.log.append(key, encode(key, message, this.secret))
  }

  /** Appends a signed record and waits until the fold includes it. */
  writeAndRead(key: string, message: ControlMessage, timeoutMs: number): Promise<number> {
    return this.log.appendAndRead(key, encode(key, message, this.secret), timeoutMs)
  }

  /** Appends a tombstone (unsigned: a null value carries no signature). */
  tombstone(key: string): Promise<number> {
    return this.log.append(key, null)
  }

  /** Resolves once every record that exists now has been folded in. */
  catchUp(timeoutMs: number): Promise<void> {
    return this.log.catchUp(timeoutMs)
  }

  stop(): Promise<void> {
    return this.log.stop()
  }
}

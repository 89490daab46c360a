/**
 * The control topic folded into state, record by record, in log order. The orchestrator and every
 * agent run the same fold over the same single partition, so they agree on who holds a lease and
 * which command is in force without talking to each other. Pure logic: no Kafka here.
 */
import type {Ack, Command, Heartbeat, LeaseRecord} from './schema.js'
import {keys} from './schema.js'
import type {Decoded} from './codec.js'

export interface ControlRecord {
  offset: number
  /** Record timestamp in ms: the broker's append time on a control topic kreorg created. */
  timestamp: number
}

export interface LeaseHolder {
  runId: string
  host: string
  pid: number
  acquiredAt: number
  expiresAt: number
  /** Offset of the holder's latest claim/renew. */
  offset: number
}

export type LeaseOutcome =
  | {op: 'claim' | 'renew'; granted: true; holder: LeaseHolder; continuous: boolean}
  | {op: 'claim' | 'renew'; granted: false; holder: LeaseHolder /* the one in the way */}
  | {op: 'release'; granted: boolean}

export interface CommandEntry extends ControlRecord {
  command: Command
  /** The command's run held the topic's lease when the command was appended. */
  authorized: boolean
}

export interface AckEntry extends ControlRecord {
  ack: Ack
}

export interface AgentEntry extends ControlRecord {
  heartbeat: Heartbeat
}

export type StateChange =
  | {kind: 'lease'; topic: string; outcome: LeaseOutcome; record: ControlRecord & {lease: LeaseRecord}}
  | {kind: 'cmd'; topic: string; entry: CommandEntry}
  | {kind: 'ack'; topic: string; entry: AckEntry}
  | {kind: 'agent'; agentId: string; entry: AgentEntry | undefined}

const OUTCOME_MEMORY = 10_000

export class ControlState {
  private readonly holders = new Map<string, LeaseHolder | undefined>()
  private readonly commands = new Map<string, CommandEntry>()
  private readonly acks = new Map<string, AckEntry>()
  private readonly agentEntries = new Map<string, AgentEntry>()
  /** Outcome of recent lease records by offset: how a writer learns whether its own claim won. */
  private readonly outcomes = new Map<number, LeaseOutcome>()
  /** Offset of the last record folded in (-1: none yet). */
  lastOffset = -1

  /** Folds one decoded record in; records that failed to decode only advance the offset. */
  apply(decoded: Decoded, record: ControlRecord): StateChange | undefined {
    if (record.offset > this.lastOffset) this.lastOffset = record.offset
    if (!decoded.ok) return undefined
    const {key, message} = decoded
    switch (key.kind) {
      case 'lease': {
        if (!message || message.type !== 'lease') return undefined
        const outcome = this.applyLease(message, record)
        this.outcomes.set(record.offset, outcome)
        if (this.outcomes.size > OUTCOME_MEMORY) this.outcomes.delete(this.outcomes.keys().next().value as number)
        return {kind: 'lease', topic: key.topic, outcome, record: {...record, lease: message}}
      }
      case 'cmd': {
        if (!message || message.type !== 'cmd') return undefined
        const holder = this.holderAt(key.topic, record.timestamp)
        const entry: CommandEntry = {...record, command: message, authorized: holder?.runId === message.runId}
        this.commands.set(key.topic, entry)
        return {kind: 'cmd', topic: key.topic, entry}
      }
      case 'ack': {
        if (!message || message.type !== 'ack') return undefined
        const entry: AckEntry = {...record, ack: message}
        this.acks.set(keys.ack(key.topic, key.agentId), entry)
        return {kind: 'ack', topic: key.topic, entry}
      }
      case 'agent': {
        if (!message) {
          this.agentEntries.delete(key.agentId)
          return {kind: 'agent', agentId: key.agentId, entry: undefined}
        }
        if (message.type !== 'agent') return undefined
        const entry: AgentEntry = {...record, heartbeat: message}
        this.agentEntries.set(key.agentId, entry)
        return {kind: 'agent', agentId: key.agentId, entry}
      }
    }
  }

  /**
   * Lease rules (docs/control-protocol.md, "Leases"): a claim or renew at time T is granted unless
   * another run's lease is still valid at T; a granted record sets expiresAt = T + leaseMs. A renew
   * is "continuous" only if the same run's lease had not lapsed at T: a run whose lease lapsed must
   * treat its lease as lost even if nobody else took it (agents may have resumed meanwhile).
   */
  private applyLease(lease: LeaseRecord, record: ControlRecord): LeaseOutcome {
    const current = this.holders.get(lease.topic)
    const currentValid = current !== undefined && current.expiresAt > record.timestamp
    if (lease.op === 'release') {
      const granted = current !== undefined && current.runId === lease.runId
      if (granted) this.holders.set(lease.topic, undefined)
      return {op: 'release', granted}
    }
    if (currentValid && current.runId !== lease.runId) return {op: lease.op, granted: false, holder: current}
    const continuous = currentValid && current.runId === lease.runId
    const holder: LeaseHolder = {
      runId: lease.runId,
      host: lease.host,
      pid: lease.pid,
      acquiredAt: continuous ? current.acquiredAt : record.timestamp,
      expiresAt: record.timestamp + lease.leaseMs,
      offset: record.offset,
    }
    this.holders.set(lease.topic, holder)
    return {op: lease.op, granted: true, holder, continuous}
  }

  /** The lease holder as of the last folded record (it may have expired since: compare expiresAt with now). */
  holder(topic: string): LeaseHolder | undefined {
    return this.holders.get(topic)
  }

  holderAt(topic: string, time: number): LeaseHolder | undefined {
    const holder = this.holders.get(topic)
    return holder && holder.expiresAt > time ? holder : undefined
  }

  outcomeAt(offset: number): LeaseOutcome | undefined {
    return this.outcomes.get(offset)
  }

  command(topic: string): CommandEntry | undefined {
    return this.commands.get(topic)
  }

  ack(topic: string, agentId: string): AckEntry | undefined {
    return this.acks.get(keys.ack(topic, agentId))
  }

  agents(): AgentEntry[] {
    return [...this.agentEntries.values()]
  }
}

import type {Decoded} from './codec.js'
/**
 * The control topic folded into state, record by record, in log order. The orchestrator and every
 * agent run the same fold over the same single partition, so they agree on who holds a lease and
 * which command is in force without talking to each other. Pure logic: no Kafka here.
 */
import type {Ack, Command, Heartbeat, LeaseRecord} from './schema.js'

import {keys} from './schema.js'

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
  | {op: 'claim' | 'renew'; granted: false; reason: 'held'; holder: LeaseHolder /* the one in the way */}
  /** 1.1 fencing: the record's epoch is below the latest granted claim of the same run (a stale attempt). */
  | {op: 'claim' | 'renew'; granted: false; reason: 'stale-epoch'; holder: LeaseHolder | undefined; epoch: number; latestEpoch: number}
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
  /** 1.1 fencing: a command whose epoch is below one already seen for its run; it never comes into force. */
  | {kind: 'stale-cmd'; topic: string; entry: CommandEntry; seenEpoch: number}
  | {kind: 'ack'; topic: string; entry: AckEntry}
  | {kind: 'agent'; agentId: string; entry: AgentEntry | undefined}

const OUTCOME_MEMORY = 10_000

function epochsOf(byTopic: Map<string, Map<string, number>>, topic: string): Map<string, number> {
  let epochs = byTopic.get(topic)
  if (!epochs) byTopic.set(topic, (epochs = new Map()))
  return epochs
}

export class ControlState {
  private readonly holders = new Map<string, LeaseHolder | undefined>()
  private readonly commands = new Map<string, CommandEntry>()
  private readonly acks = new Map<string, AckEntry>()
  private readonly agentEntries = new Map<string, AgentEntry>()
  /** Outcome of recent lease records by offset: how a writer learns whether its own claim won. */
  private readonly outcomes = new Map<number, LeaseOutcome>()
  /** topic → runId → epoch of the run's latest granted claim that carried one (1.1 D). */
  private readonly leaseEpochs = new Map<string, Map<string, number>>()
  /** topic → runId → highest command epoch seen (1.1 D). */
  private readonly commandEpochs = new Map<string, Map<string, number>>()
  /** topic → the pin the commands in force carried, until a resume with targetPartitions (1.1 C). */
  private readonly pins = new Map<string, number>()
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
        const epochs = epochsOf(this.commandEpochs, key.topic)
        const seenEpoch = epochs.get(message.runId)
        // An orchestrator that slept through a later attempt of the same run: its command is ignored.
        if (seenEpoch !== undefined && message.epoch < seenEpoch) return {kind: 'stale-cmd', topic: key.topic, entry, seenEpoch}
        epochs.set(message.runId, message.epoch)
        this.commands.set(key.topic, entry)
        if (message.action === 'resume' && message.targetPartitions !== undefined) this.pins.delete(key.topic)
        else if (message.pinPartitions !== undefined) this.pins.set(key.topic, message.pinPartitions)
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
   * another run's lease is still valid at T, or (1.1) its epoch is below the epoch of the latest
   * granted claim by the same run; a granted record sets expiresAt = T + leaseMs. A renew is
   * "continuous" only if the same run's lease had not lapsed at T: a run whose lease lapsed must
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
    if (currentValid && current.runId !== lease.runId) return {op: lease.op, granted: false, reason: 'held', holder: current}
    const epochs = epochsOf(this.leaseEpochs, lease.topic)
    const latestEpoch = epochs.get(lease.runId)
    if (lease.epoch !== undefined && latestEpoch !== undefined && lease.epoch < latestEpoch) {
      return {op: lease.op, granted: false, reason: 'stale-epoch', holder: current, epoch: lease.epoch, latestEpoch}
    }
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
    if (lease.epoch !== undefined && lease.op === 'claim') epochs.set(lease.runId, lease.epoch)
    return {op: lease.op, granted: true, holder, continuous}
  }

  /**
   * The highest epoch the log shows for a run on a topic: its commands and its granted claims. A new
   * attempt of the run must use a higher one, or agents and the lease fold take it for a stale one.
   */
  latestEpoch(topic: string, runId: string): number | undefined {
    const fromCommands = this.commandEpochs.get(topic)?.get(runId)
    const fromLeases = this.leaseEpochs.get(topic)?.get(runId)
    if (fromCommands === undefined) return fromLeases
    return fromLeases === undefined ? fromCommands : Math.max(fromCommands, fromLeases)
  }

  /**
   * The pin commands have put in force on a topic: the latest `pinPartitions` since the last resume
   * with targetPartitions (a pause without the field keeps it, as agents do).
   */
  pinInForce(topic: string): number | undefined {
    return this.pins.get(topic)
  }

  /** Epoch of the run's latest granted claim on the topic, if its claims carried one. */
  leaseEpoch(topic: string, runId: string): number | undefined {
    return this.leaseEpochs.get(topic)?.get(runId)
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

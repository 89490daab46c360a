/**
 * How the agent obeys the control topic: commands in force for its topics (pin, pause, refresh,
 * resume) applied one at a time in log order, the acks it writes, and resuming by itself when the
 * pausing run's lease lapses. Commands of a stale attempt (an epoch below one already seen for their
 * run) never come into force: the fold reports them and they are only logged. See
 * docs/control-protocol.md for the state machine.
 */
import type {ControlFeed} from '../control/feed.js'
import type {CommandEntry, StateChange} from '../control/state.js'
import type {AgentEvents} from './events.js'
import type {PauseGates, TopicGate} from './gate.js'
import type {Heartbeats} from './heartbeat.js'
import type {AgentProducer} from './producer.js'

import {type Ack, type AckState, type Command, keys, PROTOCOL_VERSION} from '../control/schema.js'
import {type AgentLifecycle, errorMessage} from './options.js'

export interface CommandFollowerOptions {
  agentId: string
  feed: ControlFeed
  gates: PauseGates
  producer: AgentProducer
  heartbeats: Heartbeats
  lifecycle: AgentLifecycle
  events: AgentEvents
}

export class CommandFollower {
  /** Commands and lapses run one after another, in the order they were read. */
  private work: Promise<void> = Promise.resolve()
  private lapseTimer: NodeJS.Timeout | undefined

  constructor(private readonly options: CommandFollowerOptions) {}

  /** Settles once everything queued so far has run. */
  get idle(): Promise<void> {
    return this.work
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => this.options.events.warn(`control command failed: ${errorMessage(error)}`))
  }

  /** At start, after the control topic was read to its end: apply what is in force, open every topic not paused. */
  startUp(): void {
    const {gates, feed} = this.options
    for (const gate of gates.all()) {
      const entry = feed.state.command(gate.topic)
      if (entry) this.enqueue(() => this.apply(entry, true))
      // Whatever the command in force was (none, ignored, lapsed), a topic that is not paused opens.
      this.enqueue(async () => {
        if (!gate.paused) gates.open(gate.topic)
      })
    }
  }

  /** A change the fold reported after start. */
  onChange(change: StateChange): void {
    const {gates} = this.options
    if (change.kind === 'cmd' && gates.has(change.topic)) {
      const entry = change.entry
      this.enqueue(() => this.apply(entry, false))
    } else if (change.kind === 'stale-cmd' && gates.has(change.topic)) {
      const {command} = change.entry
      this.options.events.warn(
        `ignored stale ${command.action} of ${command.topic} from run ${command.runId}: epoch ${command.epoch} is below epoch ${change.seenEpoch} already seen for that run (an older attempt of the run)`,
      )
    } else if (change.kind === 'lease' && gates.has(change.topic) && change.outcome.op === 'release' && change.outcome.granted) {
      const gate = gates.get(change.topic)!
      const runId = change.record.lease.runId
      if (gate.paused && gate.runId === runId) {
        this.enqueue(() => this.lapse(gate, `run ${runId} released its lease without resuming`, true))
      }
    }
  }

  stop(): void {
    clearInterval(this.lapseTimer)
  }

  /** When the pause stops being valid: the lease holder's expiry while it is the pausing run, else the command's. */
  private pauseDeadline(gate: TopicGate): number {
    const holder = this.options.feed.state.holder(gate.topic)
    const fromLease = holder && holder.runId === gate.runId ? holder.expiresAt : 0
    return Math.max(fromLease, gate.leaseExpiresAt ?? 0)
  }

  private async apply(entry: CommandEntry, initial: boolean): Promise<void> {
    if (this.options.lifecycle.closed) return
    const gate = this.options.gates.get(entry.command.topic)
    if (!gate) return
    switch (entry.command.action) {
      case 'resume': {
        return this.resume(gate, entry, initial)
      }
      case 'pause':
      case 'refresh': {
        return this.hold(gate, entry, initial)
      }
      case 'pin': {
        return this.pin(gate, entry, initial)
      }
    }
  }

  private async resume(gate: TopicGate, entry: CommandEntry, initial: boolean): Promise<void> {
    const {gates, producer, events} = this.options
    const command = entry.command
    if (!entry.authorized && gate.paused && gate.runId !== command.runId) {
      events.warn(`ignored resume of ${command.topic} from run ${command.runId}: it did not pause it and does not hold the lease`)
      return
    }
    await gates.close(gate)
    await producer.refresh(command.targetPartitions === undefined ? undefined : {topic: gate.topic, target: command.targetPartitions})
    // 1.1: only a resume with targetPartitions lifts the pin; one without keeps it (and names it, for agents starting later).
    if (command.targetPartitions !== undefined) gate.pinned = undefined
    else if (command.pinPartitions !== undefined) gate.pinned = command.pinPartitions
    gate.paused = false
    gate.runId = command.runId
    gate.epoch = command.epoch
    gate.leaseExpiresAt = undefined
    gates.open(gate.topic)
    // A resume read at start-up was meant for agents that were paused; nobody waits for our ack.
    if (!initial) await this.ack(gate, 'resumed', command, producer.effectivePartitionCount(gate.topic))
    events.emit({type: 'resumed', topic: gate.topic, runId: command.runId})
  }

  /** pause / refresh: only from the run holding the lease, and only while it is valid. */
  private async hold(gate: TopicGate, entry: CommandEntry, initial: boolean): Promise<void> {
    const {gates, producer, heartbeats, events} = this.options
    const command = entry.command
    if (!entry.authorized) {
      events.warn(`ignored ${command.action} of ${command.topic} from run ${command.runId}: it does not hold the topic's lease`)
      return
    }
    gate.runId = command.runId
    gate.epoch = command.epoch
    gate.leaseExpiresAt = command.leaseExpiresAt
    // The pin outlives the lease: it holds until a resume, also for an agent that starts after a lapse.
    const pin = command.pinPartitions ?? (gate.pinned || producer.partitionCount(gate.topic) || undefined)
    if (pin !== undefined && pin !== gate.pinned) {
      gate.pinned = pin
      if (initial) events.warn(`${command.topic} is pinned to ${pin} partitions by run ${command.runId} until it resumes`)
    }
    if (this.pauseDeadline(gate) <= Date.now()) {
      if (!initial) events.warn(`ignored ${command.action} of ${command.topic} from run ${command.runId}: its lease already lapsed`)
      if (!gate.paused) gates.open(gate.topic)
      return
    }
    const wasPaused = gate.paused
    gate.paused = true
    await gates.close(gate)
    this.scheduleLapseCheck()
    if (!wasPaused) {
      if (initial) events.warn(`started while ${command.topic} is paused by run ${command.runId}: sends wait until it resumes`)
      events.emit({type: 'paused', topic: gate.topic, runId: command.runId})
    }
    if (command.action === 'pause') {
      await this.ack(gate, 'paused', command, producer.effectivePartitionCount(gate.topic))
    } else {
      const count = await producer.refresh({topic: gate.topic, target: command.targetPartitions ?? 0})
      // Canary partitions with targetPartitions: the layout the producer uses after the resume (1.1 E).
      await this.ack(gate, 'refreshed', command, count, command.targetPartitions ?? count)
    }
    void heartbeats.beat()
  }

  /**
   * 1.1 `pin`: from now on keyed records are partitioned as if the topic had `pinPartitions`
   * partitions; the agent keeps writing (or stays paused). Only from the run holding the lease.
   */
  private async pin(gate: TopicGate, entry: CommandEntry, initial: boolean): Promise<void> {
    const {producer, heartbeats, events} = this.options
    const command = entry.command
    if (!entry.authorized) {
      events.warn(`ignored pin of ${command.topic} from run ${command.runId}: it does not hold the topic's lease`)
      return
    }
    const pin = command.pinPartitions ?? (gate.pinned || producer.partitionCount(gate.topic) || undefined)
    gate.pinned = pin
    if (!gate.paused) {
      gate.runId = command.runId
      gate.epoch = command.epoch
    }
    if (initial) events.warn(`${command.topic} is pinned to ${pin} partitions by run ${command.runId} until it resumes with a target count`)
    // Sends partitioned before the pin must be written before the ack says "pinned".
    await gate.inFlight.settled()
    // At start-up the pin holds whatever; an ack is only worth writing while the run may still wait for it.
    const wanted = !initial || this.pauseDeadline(gate) > Date.now() || (command.leaseExpiresAt ?? 0) > Date.now()
    if (wanted) await this.ack(gate, 'pinned', command, pin ?? producer.partitionCount(gate.topic))
    if (pin !== undefined) events.emit({type: 'pinned', topic: gate.topic, runId: command.runId, partitions: pin})
    void heartbeats.beat()
  }

  private async ack(
    gate: TopicGate,
    state: AckState,
    command: Command,
    partitionCount: number,
    canaryCount = partitionCount,
  ): Promise<void> {
    const {producer, feed, agentId, events} = this.options
    const partitionMetadata = producer.partitionsFor(gate.topic, canaryCount)
    const canary = canaryCount > 0 ? producer.partitionsOfKeys(gate.topic, command.canaryKeys ?? [], partitionMetadata) : {}
    const seen = producer.partitionCount(gate.topic)
    const warning =
      command.targetPartitions !== undefined && seen < command.targetPartitions
        ? `producer sees ${seen} partitions, expected ${command.targetPartitions}`
        : undefined
    if (warning) events.warn(`${gate.topic}: ${warning}`)
    const ack: Ack = {
      v: PROTOCOL_VERSION,
      type: 'ack',
      topic: gate.topic,
      agentId,
      state,
      runId: command.runId,
      epoch: command.epoch,
      partitionCount,
      ...(command.canaryKeys ? {canary} : {}),
      partitioner: producer.partitionerName,
      ...(warning ? {warning} : {}),
      at: Date.now(),
    }
    await feed.write(keys.ack(gate.topic, agentId), ack)
  }

  private scheduleLapseCheck(): void {
    if (this.lapseTimer || this.options.lifecycle.closed) return
    this.lapseTimer = setInterval(() => {
      let anyPaused = false
      for (const gate of this.options.gates.all()) {
        if (!gate.paused) continue
        anyPaused = true
        const deadline = this.pauseDeadline(gate)
        if (deadline <= Date.now()) {
          gate.leaseExpiresAt = 0
          this.enqueue(() => this.lapse(gate, `the lease of run ${gate.runId} lapsed at ${new Date(deadline).toISOString()}`))
        }
      }
      if (!anyPaused) {
        clearInterval(this.lapseTimer)
        this.lapseTimer = undefined
      }
    }, 100)
    this.lapseTimer.unref?.()
  }

  /** Resumes on our own: the orchestrator is gone, and holding the application's writes forever is worse. */
  private async lapse(gate: TopicGate, reason: string, force = false): Promise<void> {
    const {lifecycle, gates, producer, events} = this.options
    if (!gate.paused || lifecycle.closed) return
    // A renewal may have arrived since the timer fired.
    if (!force && this.pauseDeadline(gate) > Date.now()) return
    events.warn(
      `resuming ${gate.topic} by itself: ${reason}` +
        (gate.pinned
          ? `; keyed records keep the ${gate.pinned}-partition layout until \`kreorg resume ${gate.runId}\` (or \`kreorg unpause ${gate.topic}\`) switches them`
          : ''),
    )
    // Partitions may have been added before the orchestrator vanished: never resume with stale metadata.
    await producer.refresh(undefined)
    gate.paused = false
    gates.open(gate.topic)
    events.emit({type: 'lapsed', topic: gate.topic, runId: gate.runId, reason})
  }
}

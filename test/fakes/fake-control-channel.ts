import type {
  AgentInfo,
  AgentQueryOptions,
  CommandOptions,
  ControlChannelPort,
  ControlLease,
  CurrentCommand,
  LeaseHolderIdentity,
  LeaseInfo,
  RefreshOptions,
  ResumeOptions,
  WaitForAcksOptions,
} from '../../src/control/port.js'

import {leaseLostError} from '../../src/control/lease.js'
import {
  type Ack,
  type AckState,
  type AgentTopicState,
  type CommandAction,
  DEFAULT_CONTROL_TOPIC,
  PROTOCOL_VERSION,
} from '../../src/control/schema.js'
import {KreorgError} from '../../src/core/errors.js'
import {keyBytes} from '../../src/kafka/murmur2.js'
import {predictPartition} from '../../src/kafka/partitioners.js'
import {FaultPlan} from './faults.js'

/**
 * `ControlChannelPort` in memory, for unit tests of the orchestrator's logic: leases (re-entrant per
 * run, refused to other runs, lapsed on demand), commands, and agents that ack at once. What the
 * protocol does over Kafka (fold, signatures, read-back races, renewals) is tested on a real broker;
 * this fake only keeps the port's contract.
 */

export type ControlMethod = 'acquireLease' | 'currentLease' | 'agents' | 'pin' | 'pause' | 'refresh' | 'resume' | 'waitForAcks' | 'close'

/** What protocol 1.1 agents advertise (the fake's agents have all of it unless told otherwise). */
export const ALL_CAPABILITIES = ['pause', 'pin', 'refresh', 'canary', 'fence', 'txn']

interface LeaseEntry extends LeaseInfo {
  released: boolean
}

class FakeLease implements ControlLease {
  private stopped = false

  constructor(
    private readonly channel: FakeControlChannel,
    private readonly entry: LeaseEntry,
  ) {}

  get topic(): string {
    return this.entry.topic
  }

  get runId(): string {
    return this.entry.runId
  }

  get holder(): LeaseHolderIdentity {
    return {runId: this.entry.runId, host: this.entry.host, pid: this.entry.pid}
  }

  get expiresAt(): number {
    return this.entry.expiresAt
  }

  get lostReason(): string | undefined {
    if (this.entry.released) return 'released'
    if (this.channel.leaseEntry(this.topic) !== this.entry) return 'taken over'
    if (Date.now() >= this.entry.expiresAt) return `lapsed at ${new Date(this.entry.expiresAt).toISOString()}`
    return undefined
  }

  valid(): boolean {
    return this.lostReason === undefined
  }

  assertValid(step?: string): void {
    const reason = this.lostReason
    if (reason !== undefined) throw leaseLostError(this.topic, this.runId, reason, step)
  }

  stop(): void {
    this.stopped = true
  }

  get isStopped(): boolean {
    return this.stopped
  }

  async release(): Promise<void> {
    this.entry.released = true
    this.channel.leaseEvents.push({op: 'release', topic: this.topic, runId: this.runId})
  }
}

export interface FakeAgentSpec {
  topics: string[]
  /** Partitions its producer uses per topic (default 1). */
  partitionCount?: Record<string, number>
  /** false: never acks (a producer that cannot reach the control topic). */
  responds?: boolean
  /** Protocol 1.1 heartbeat fields; capabilities default to ALL_CAPABILITIES, null: an agent older than 1.1. */
  capabilities?: string[] | null
  producerId?: number
  partitioner?: string
  lastWrite?: Record<string, {partition: number; offset: number}>
  /** Heartbeats stopped this long ago (listed only with includeStale). */
  staleForMs?: number
}

interface FakeAgent {
  agentId: string
  topics: string[]
  responds: boolean
  states: Record<string, AgentTopicState>
  startedAt: number
  capabilities: string[] | null
  producerId: number | undefined
  partitioner: string
  lastWrite: Record<string, {partition: number; offset: number}> | undefined
  staleForMs: number
}

export class FakeControlChannel implements ControlChannelPort {
  readonly controlTopic = DEFAULT_CONTROL_TOPIC
  readonly available = true
  readonly faults = new FaultPlan<ControlMethod>()
  /** Commands published, in order. */
  readonly commands: CurrentCommand[] = []
  /** Lease claims and releases, in order. */
  readonly leaseEvents: Array<{op: 'claim' | 'release'; topic: string; runId: string}> = []
  private readonly leases = new Map<string, LeaseEntry>()
  private readonly agentsById = new Map<string, FakeAgent>()
  private readonly acks: Ack[] = []
  closed = false

  // -- Arranging (not part of the port) ----------------------------------------------------------

  addAgent(agentId: string, spec: FakeAgentSpec): this {
    const states = Object.fromEntries(
      spec.topics.map((topic): [string, AgentTopicState] => [topic, {state: 'running', partitionCount: spec.partitionCount?.[topic] ?? 1}]),
    )
    this.agentsById.set(agentId, {
      agentId,
      topics: spec.topics,
      responds: spec.responds ?? true,
      states,
      startedAt: Date.now(),
      capabilities: spec.capabilities === undefined ? [...ALL_CAPABILITIES] : spec.capabilities,
      producerId: spec.producerId,
      partitioner: spec.partitioner ?? 'murmur2',
      lastWrite: spec.lastWrite,
      staleForMs: spec.staleForMs ?? 0,
    })
    return this
  }

  removeAgent(agentId: string): this {
    this.agentsById.delete(agentId)
    return this
  }

  agentState(agentId: string, topic: string): AgentTopicState | undefined {
    return this.agentsById.get(agentId)?.states[topic]
  }

  /**
   * The lease lapses (its holder died and stopped renewing): agents paused under it resume by
   * themselves on the partition count they were pinned to, as the control protocol says.
   */
  lapseLease(topic: string): void {
    const entry = this.leases.get(topic)
    if (entry) entry.expiresAt = Date.now() - 1
    for (const agent of this.agentsById.values()) {
      const state = agent.states[topic]
      // The pin outlives the lease (control protocol 1.1): only a resume with a target lifts it.
      if (state?.state === 'paused') agent.states[topic] = {...state, state: 'running'}
    }
  }

  /** Another run holds the topic's lease (e.g. a second operator). */
  holdLease(topic: string, holder: LeaseHolderIdentity, leaseMs: number): void {
    const now = Date.now()
    this.leases.set(topic, {topic, ...holder, acquiredAt: now, expiresAt: now + leaseMs, released: false})
  }

  /** The lease entry in force (valid or lapsed), for the lease handles and assertions. */
  leaseEntry(topic: string): (LeaseInfo & {released: boolean}) | undefined {
    return this.leases.get(topic)
  }

  actions(topic: string): CommandAction[] {
    return this.commands.filter((c) => c.topic === topic).map((c) => c.action)
  }

  // -- ControlChannelPort ------------------------------------------------------------------------

  acquireLease(topic: string, holder: LeaseHolderIdentity, leaseMs: number): Promise<ControlLease> {
    return this.call('acquireLease', () => {
      const now = Date.now()
      const current = this.validEntry(topic)
      if (current && current.runId !== holder.runId) {
        throw new KreorgError(
          'lease-held',
          `topic ${topic} is held by run ${current.runId} on ${current.host} (pid ${current.pid}) until ${new Date(current.expiresAt).toISOString()}`,
        )
      }
      const entry: LeaseEntry = {topic, ...holder, acquiredAt: current?.acquiredAt ?? now, expiresAt: now + leaseMs, released: false}
      this.leases.set(topic, entry)
      this.leaseEvents.push({op: 'claim', topic, runId: holder.runId})
      return new FakeLease(this, entry)
    })
  }

  currentLease(topic: string): Promise<LeaseInfo | undefined> {
    return this.call('currentLease', () => {
      const entry = this.validEntry(topic)
      if (!entry) return
      const {released: _, ...info} = entry
      return info
    })
  }

  currentCommand(topic: string): CurrentCommand | undefined {
    return this.commands.findLast((c) => c.topic === topic)
  }

  agents(topic?: string, options: AgentQueryOptions = {}): Promise<AgentInfo[]> {
    return this.call('agents', () =>
      [...this.agentsById.values()]
        .filter((agent) => topic === undefined || agent.topics.includes(topic))
        .filter((agent) => options.includeStale || agent.staleForMs === 0)
        .map((agent): AgentInfo => {
          const info: AgentInfo = {
            agentId: agent.agentId,
            host: 'fake-host',
            pid: 1,
            clientId: undefined,
            topics: agent.topics,
            version: 'fake',
            partitioner: agent.partitioner,
            startedAt: agent.startedAt,
            lastHeartbeat: Date.now() - agent.staleForMs,
            heartbeatMs: 1000,
            alive: agent.staleForMs === 0,
            states: structuredClone(agent.states),
          }
          // Protocol 1.1 heartbeat fields, as the channel's fold would carry them.
          const extras = {
            ...(agent.capabilities === null ? {} : {capabilities: [...agent.capabilities]}),
            ...(agent.producerId === undefined ? {} : {producerId: agent.producerId}),
            ...(agent.lastWrite === undefined ? {} : {lastWrite: structuredClone(agent.lastWrite)}),
            language: 'kafkajs',
          }
          return Object.assign(info, extras)
        })
        .sort((a, b) => a.agentId.localeCompare(b.agentId)),
    )
  }

  /** Control protocol 1.1: producers keep writing, partitioning with `pinPartitions`; acked `pinned`. */
  pin(topic: string, options: CommandOptions & {pinPartitions: number}): Promise<void> {
    return this.call('pin', () => {
      const lease = this.authorize(topic, options, 'pin')
      this.publish(topic, 'pin' as CommandAction, options, lease.expiresAt)
      this.deliver(
        topic,
        'pinned' as AckState,
        options,
        (state) => ({...state, runId: options.runId, epoch: options.epoch, pinnedPartitions: options.pinPartitions}),
        {understands: (agent) => agent.capabilities?.includes('pin') === true},
      )
    })
  }

  pause(topic: string, options: CommandOptions): Promise<void> {
    return this.call('pause', () => {
      const lease = this.authorize(topic, options, 'pause')
      this.publish(topic, 'pause', options, lease.expiresAt)
      this.deliver(topic, 'paused', options, (state) => ({
        state: 'paused',
        runId: options.runId,
        epoch: options.epoch,
        partitionCount: state.partitionCount ?? 1,
        ...(options.pinPartitions === undefined ? {} : {pinnedPartitions: options.pinPartitions}),
      }))
    })
  }

  refresh(topic: string, options: RefreshOptions): Promise<void> {
    return this.call('refresh', () => {
      const lease = this.authorize(topic, options, 'refresh')
      this.publish(topic, 'refresh', options, lease.expiresAt)
      this.deliver(topic, 'refreshed', options, (state) => ({...state, partitionCount: options.targetPartitions}), {
        canaryKeys: options.canaryKeys,
      })
    })
  }

  resume(topic: string, options: ResumeOptions): Promise<void> {
    return this.call('resume', () => {
      // Allowed after the lease lapsed: agents accept a resume from the run that paused them.
      const entry = this.leases.get(topic)
      const valid = entry && entry.runId === options.runId && !entry.released && entry.expiresAt > Date.now()
      this.publish(topic, 'resume', options, valid ? entry.expiresAt : undefined)
      // Control protocol 1.1: only a resume with a target lifts the pin.
      this.deliver(topic, 'resumed', options, (state) => ({
        state: 'running',
        runId: options.runId,
        epoch: options.epoch,
        partitionCount: options.targetPartitions ?? state.partitionCount ?? 1,
        ...(options.targetPartitions === undefined && state.pinnedPartitions !== undefined
          ? {pinnedPartitions: state.pinnedPartitions}
          : {}),
      }))
    })
  }

  waitForAcks(topic: string, options: WaitForAcksOptions): Promise<Ack[]> {
    return this.call('waitForAcks', async () => {
      const matching = (agentId: string) =>
        this.acks.findLast(
          (a) =>
            a.topic === topic &&
            a.agentId === agentId &&
            a.runId === options.runId &&
            a.epoch === options.epoch &&
            a.state === options.state,
        )
      const acked = options.agentIds.map(matching).filter((a): a is Ack => a !== undefined)
      for (const ack of acked) options.onAck?.(ack)
      const missing = options.agentIds.filter((id) => !matching(id))
      if (missing.length === 0) return acked
      // Agents that never answer: the real wait runs out its timeout (keep it short in tests).
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, options.timeoutMs)
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(new KreorgError('interrupted', `interrupted while waiting for ${options.state} acks on ${topic}`))
        })
      })
      throw new KreorgError(
        'timeout',
        `${missing.length} of ${options.agentIds.length} agents did not ack ${options.state} on ${topic} within ${Math.round(options.timeoutMs / 1000)}s: ${missing.join(', ')}`,
      )
    })
  }

  close(): Promise<void> {
    return this.call('close', () => {
      this.closed = true
    })
  }

  // -- internals ---------------------------------------------------------------------------------

  private async call<T>(method: ControlMethod, work: () => T | Promise<T>): Promise<T> {
    await Promise.resolve()
    return this.faults.apply(method, work)
  }

  private validEntry(topic: string): LeaseEntry | undefined {
    const entry = this.leases.get(topic)
    return entry && !entry.released && entry.expiresAt > Date.now() ? entry : undefined
  }

  /** Same rule as the real channel: the command's run must hold a valid lease on the topic. */
  private authorize(topic: string, options: CommandOptions, action: string): {expiresAt: number} {
    const entry = this.validEntry(topic)
    const lease = options.lease
    if (lease ? !(lease.topic === topic && lease.runId === options.runId) : !(entry && entry.runId === options.runId)) {
      throw new KreorgError('precondition', `cannot ${action} ${topic}: run ${options.runId} does not hold its lease`)
    }
    if (lease) lease.assertValid()
    else if (!entry) throw new KreorgError('precondition', `the lease on ${topic} for run ${options.runId} is no longer held`)
    return {expiresAt: lease?.expiresAt ?? entry!.expiresAt}
  }

  private publish(topic: string, action: CommandAction, options: ResumeOptions, leaseExpiresAt: number | undefined): void {
    const at = Date.now()
    this.commands.push({
      v: PROTOCOL_VERSION,
      type: 'cmd',
      action,
      topic,
      runId: options.runId,
      epoch: options.epoch,
      ...(leaseExpiresAt === undefined ? {} : {leaseExpiresAt}),
      ...(options.targetPartitions === undefined ? {} : {targetPartitions: options.targetPartitions}),
      ...(options.canaryKeys === undefined ? {} : {canaryKeys: options.canaryKeys}),
      ...(options.pinPartitions !== undefined && action !== 'resume' ? {pinPartitions: options.pinPartitions} : {}),
      at,
      offset: this.commands.length,
      timestamp: at,
    })
  }

  /** Every responsive agent on the topic applies the command and acks it. */
  private deliver(
    topic: string,
    state: AckState,
    options: CommandOptions,
    apply: (state: AgentTopicState) => AgentTopicState,
    {canaryKeys, understands = () => true}: {canaryKeys?: string[]; understands?: (agent: FakeAgent) => boolean} = {},
  ): void {
    for (const agent of this.agentsById.values()) {
      const current = agent.states[topic]
      if (!current || !agent.responds || !understands(agent)) continue
      const next = apply(current)
      agent.states[topic] = next
      // A pinned ack reports the pinned count (control protocol 1.1).
      const partitionCount = (state === ('pinned' as AckState) ? next.pinnedPartitions : undefined) ?? next.partitionCount ?? 1
      this.acks.push({
        v: PROTOCOL_VERSION,
        type: 'ack',
        topic,
        agentId: agent.agentId,
        state,
        runId: options.runId,
        epoch: options.epoch,
        partitionCount,
        ...(canaryKeys
          ? {
              canary: Object.fromEntries(
                canaryKeys.map((key) => [key, predictPartition(agent.partitioner, keyBytes(key), partitionCount) ?? 0]),
              ),
            }
          : {}),
        partitioner: agent.partitioner,
        at: Date.now(),
      })
    }
  }
}

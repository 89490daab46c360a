/**
 * Orchestrator side of the control protocol: the topic lease (the cluster-wide lock), pause /
 * refresh / resume commands, acks and the live agent list. See docs/control-protocol.md.
 */
import {EventEmitter} from 'node:events'
import {hostname} from 'node:os'
import {createKafkaClient} from '../kafka/client.js'
import {ControlLog, type RawControlRecord} from '../kafka/control-log.js'
import type {ConnectionOptions} from '../kafka/types.js'
import {KreorgError, describeCause} from '../runbook/errors.js'
import {decode, encode} from './codec.js'
import {
  CONTROL_TOPIC_CONFIG,
  DEFAULT_CONTROL_TOPIC,
  MAX_LEASE_MS,
  PROTOCOL_VERSION,
  keys,
  type Ack,
  type AckState,
  type AgentTopicState,
  type Command,
  type CommandAction,
  type LeaseRecord,
} from './schema.js'
import {ControlState, type LeaseHolder, type StateChange} from './state.js'

export interface ControlLogger {
  warn(message: string): void
  info?(message: string): void
  debug?(message: string): void
}

const silentLogger: ControlLogger = {warn: () => {}}

export interface ControlChannelOptions {
  controlTopic?: string
  /** Shared HMAC secret: sign everything written, ignore unsigned or badly signed records. */
  secret?: string
  /** false in read-only modes (--dry-run, `kreorg producers`): never create the topic, never write. */
  create: boolean
  logger?: ControlLogger
  /** How long to wait for our own writes to come back through the tail. */
  readBackTimeoutMs?: number
  /** Replication factor when creating the control topic (broker default otherwise). */
  replicationFactor?: number
}

export interface LeaseHolderIdentity {
  runId: string
  host: string
  pid: number
}

export interface LeaseInfo extends LeaseHolderIdentity {
  topic: string
  acquiredAt: number
  expiresAt: number
}

export interface AgentInfo {
  agentId: string
  host: string
  pid: number
  clientId: string | undefined
  topics: string[]
  version: string
  partitioner: string
  startedAt: number
  /** Broker timestamp of the last heartbeat. */
  lastHeartbeat: number
  heartbeatMs: number
  alive: boolean
  /** Per topic: running/paused, the run that paused it, partition count its producer uses. */
  states: Record<string, AgentTopicState>
}

export interface CommandOptions {
  runId: string
  epoch: number
  /** Defaults to the lease this channel holds for the topic. */
  lease?: Lease
  /** pause/refresh: keep producers on this partition count until a resume (see the protocol doc). */
  pinPartitions?: number
}

export interface RefreshOptions extends CommandOptions {
  targetPartitions: number
  canaryKeys: string[]
}

export interface ResumeOptions extends CommandOptions {
  targetPartitions?: number
  canaryKeys?: string[]
}

export interface WaitForAcksOptions {
  runId: string
  epoch: number
  agentIds: string[]
  state: AckState
  timeoutMs: number
  signal?: AbortSignal
  onAck?: (ack: Ack) => void
}

function leaseHeldError(topic: string, holder: LeaseHolder): KreorgError {
  const expires = new Date(holder.expiresAt).toISOString()
  return new KreorgError(
    'lease-held',
    `topic ${topic} is held by run ${holder.runId} on ${holder.host} (pid ${holder.pid}) until ${expires}`,
    {suggestions: [`wait for that run to finish or its lease to lapse at ${expires}; \`kreorg producers ${topic}\` shows the agents' state`]},
  )
}

/**
 * A held topic lease. It renews itself every third of its duration until released; `valid()` turns
 * false for good as soon as a renewal is late or refused, because agents may have resumed meanwhile.
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined
  private lost: string | undefined
  private released = false
  private _expiresAt: number

  constructor(
    private readonly channel: ControlChannel,
    readonly topic: string,
    readonly holder: LeaseHolderIdentity,
    readonly leaseMs: number,
    readonly acquiredAt: number,
    expiresAt: number,
  ) {
    this._expiresAt = expiresAt
    this.schedule()
  }

  get runId(): string {
    return this.holder.runId
  }

  get expiresAt(): number {
    return this._expiresAt
  }

  /** Why the lease is no longer held, if it is not. */
  get lostReason(): string | undefined {
    if (this.released) return 'released'
    if (this.lost) return this.lost
    if (Date.now() >= this._expiresAt) return `lapsed at ${new Date(this._expiresAt).toISOString()}`
    return undefined
  }

  valid(): boolean {
    return this.lostReason === undefined
  }

  /** Throws unless the lease is valid: the runbook calls this right before add-partitions. */
  assertValid(step?: string): void {
    const reason = this.lostReason
    if (reason === undefined) return
    throw new KreorgError('precondition', `the lease on ${this.topic} for run ${this.runId} is no longer held (${reason}); agents may have resumed`, {
      ...(step ? {step} : {}),
      suggestions: ['run again: producers are paused and drained anew before partitions are added'],
    })
  }

  private schedule(): void {
    if (this.released || this.lost) return
    const interval = Math.max(50, Math.floor(this.leaseMs / 3))
    this.timer = setTimeout(() => void this.renew().finally(() => this.schedule()), interval)
    this.timer.unref?.()
  }

  /** One renewal now (also called by the timer). */
  async renew(): Promise<void> {
    if (this.released || this.lost) return
    try {
      const outcome = await this.channel.writeLease(this.topic, 'renew', this.holder, this.leaseMs)
      if (this.released) return
      if (outcome.op !== 'release' && outcome.granted && outcome.continuous) {
        this._expiresAt = outcome.holder.expiresAt
      } else if (outcome.op !== 'release' && !outcome.granted) {
        this.lost = `taken over by run ${outcome.holder.runId} on ${outcome.holder.host}`
      } else {
        this.lost = `renewal came after the lease lapsed at ${new Date(this._expiresAt).toISOString()}`
      }
      if (this.lost) this.channel.logger.warn(`lease on ${this.topic} lost: ${this.lost}`)
    } catch (error) {
      // Transient: the next tick retries; if renewals keep failing, the lease lapses and valid() says so.
      this.channel.logger.warn(`lease on ${this.topic}: renewal failed: ${describeCause(error)}`)
    }
  }

  /** Stops renewing without releasing (an interrupted run lets the lease lapse; its agents resume). */
  stop(): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  async release(): Promise<void> {
    if (this.released) return
    this.stop()
    this.released = true
    this.channel.forgetLease(this)
    await this.channel.writeLease(this.topic, 'release', this.holder, 0)
  }
}

export class ControlChannel {
  private readonly state = new ControlState()
  private readonly events = new EventEmitter()
  private readonly leases = new Map<string, Lease>()
  readonly controlTopic: string

  private constructor(
    private readonly log: ControlLog | undefined,
    private readonly options: ControlChannelOptions,
    readonly logger: ControlLogger,
  ) {
    this.controlTopic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC
    this.events.setMaxListeners(0)
  }

  /**
   * Connects and reads the control topic to its end. With `create: false` a missing control topic
   * gives a channel that reports no agents and no lease, and refuses to write.
   */
  static async open(connection: ConnectionOptions, options: ControlChannelOptions): Promise<ControlChannel> {
    const topic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC
    const logger = options.logger ?? silentLogger
    const client = createKafkaClient(connection)
    const log = new ControlLog(client, {topic, role: 'orchestrator', topicConfig: CONTROL_TOPIC_CONFIG})
    let exists: boolean
    try {
      exists = await log.ensureTopic(options.create, options.replicationFactor)
    } catch (error) {
      throw new KreorgError('connect', `cannot prepare control topic ${topic}: ${describeCause(error)}`, {cause: error})
    }
    const channel = new ControlChannel(exists ? log : undefined, options, logger)
    if (exists) {
      try {
        await log.start((record) => channel.onRecord(record), {catchUpTimeoutMs: options.readBackTimeoutMs ?? 30_000})
      } catch (error) {
        await log.stop()
        throw error instanceof KreorgError ? error : new KreorgError('connect', `cannot read control topic ${topic}: ${describeCause(error)}`, {cause: error})
      }
    }
    return channel
  }

  /** Whether the control topic exists (false only for read-only channels on a cluster that never had one). */
  get available(): boolean {
    return this.log !== undefined
  }

  private onRecord(record: RawControlRecord): void {
    const decoded = decode(record.key, record.value, this.options.secret ? {secret: this.options.secret} : {})
    if (!decoded.ok && !decoded.reason.startsWith('run/')) this.logger.warn(`control topic ${this.controlTopic} offset ${record.offset}: ignored: ${decoded.reason}`)
    const change = this.state.apply(decoded, {offset: record.offset, timestamp: record.timestamp})
    if (change) this.events.emit('change', change)
  }

  private requireLog(action: string): ControlLog {
    if (!this.log || !this.options.create) {
      throw new KreorgError('precondition', `cannot ${action}: control channel ${this.controlTopic} is read-only${this.log ? '' : ' (the topic does not exist)'}`)
    }
    return this.log
  }

  private get readBackMs(): number {
    return this.options.readBackTimeoutMs ?? 30_000
  }

  /** @internal Writes a lease record and returns how the fold judged it. */
  async writeLease(topic: string, op: LeaseRecord['op'], holder: LeaseHolderIdentity, leaseMs: number) {
    const log = this.requireLog('write a lease')
    const record: LeaseRecord = {v: PROTOCOL_VERSION, type: 'lease', op, topic, runId: holder.runId, host: holder.host, pid: holder.pid, leaseMs, at: Date.now()}
    const key = keys.lease(topic)
    const offset = await log.appendAndRead(key, encode(key, record, this.options.secret), this.readBackMs)
    const outcome = this.state.outcomeAt(offset)
    if (!outcome) throw new KreorgError('unexpected', `control topic ${this.controlTopic}: our own lease record at offset ${offset} did not read back`)
    return outcome
  }

  /** @internal */
  forgetLease(lease: Lease): void {
    if (this.leases.get(lease.topic) === lease) this.leases.delete(lease.topic)
  }

  /**
   * Takes the topic's lease (re-entrant for the same run id). Race-safe: the claim is appended and
   * the partition read back up to it; the first still-valid claim in log order wins, and every
   * reader computes the same answer. Throws KreorgError('lease-held') (exit 6) naming the holder.
   */
  async acquireLease(topic: string, holder: LeaseHolderIdentity, leaseMs: number): Promise<Lease> {
    if (!(leaseMs > 0) || leaseMs > MAX_LEASE_MS) throw new KreorgError('usage', `lease must be between 1ms and ${MAX_LEASE_MS / 3_600_000}h, got ${leaseMs}ms`)
    const existing = this.leases.get(topic)
    if (existing && existing.runId === holder.runId && existing.valid()) return existing
    let current = this.state.holderAt(topic, Date.now())
    if (current && current.runId !== holder.runId && this.log) {
      // Our tail may not have delivered a release another channel wrote a moment ago (it is read
      // asynchronously, a fetch behind on a busy broker): refuse only on a view that is current.
      await this.log.catchUp(this.readBackMs)
      current = this.state.holderAt(topic, Date.now())
    }
    if (current && current.runId !== holder.runId) throw leaseHeldError(topic, current)
    const outcome = await this.writeLease(topic, 'claim', holder, leaseMs)
    if (outcome.op === 'release') throw new KreorgError('unexpected', 'lease claim read back as a release')
    if (!outcome.granted) throw leaseHeldError(topic, outcome.holder)
    existing?.stop()
    const lease = new Lease(this, topic, holder, leaseMs, outcome.holder.acquiredAt, outcome.holder.expiresAt)
    this.leases.set(topic, lease)
    return lease
  }

  /** The valid lease on a topic, if any (as of the last record read). */
  async currentLease(topic: string): Promise<LeaseInfo | undefined> {
    const holder = this.state.holderAt(topic, Date.now())
    if (!holder) return undefined
    return {topic, runId: holder.runId, host: holder.host, pid: holder.pid, acquiredAt: holder.acquiredAt, expiresAt: holder.expiresAt}
  }

  /** The latest command in force for a topic. */
  currentCommand(topic: string): (Command & {offset: number; timestamp: number}) | undefined {
    const entry = this.state.command(topic)
    return entry ? {...entry.command, offset: entry.offset, timestamp: entry.timestamp} : undefined
  }

  /**
   * Agents from their heartbeats, for one topic or all. Only live ones (a heartbeat within 3
   * intervals, or `maxAgeMs`) unless `includeStale`.
   */
  async agents(topic?: string, options: {maxAgeMs?: number; includeStale?: boolean} = {}): Promise<AgentInfo[]> {
    const now = Date.now()
    return this.state
      .agents()
      .filter(({heartbeat}) => topic === undefined || heartbeat.topics.includes(topic))
      .map(({heartbeat, timestamp}): AgentInfo => {
        const maxAge = options.maxAgeMs ?? Math.max(3 * heartbeat.heartbeatMs, 3_000)
        return {
          agentId: heartbeat.agentId,
          host: heartbeat.host,
          pid: heartbeat.pid,
          clientId: heartbeat.clientId,
          topics: heartbeat.topics,
          version: heartbeat.version,
          partitioner: heartbeat.partitioner,
          startedAt: heartbeat.startedAt,
          lastHeartbeat: timestamp,
          heartbeatMs: heartbeat.heartbeatMs,
          alive: now - timestamp <= maxAge,
          states: heartbeat.states,
        }
      })
      .filter((agent) => options.includeStale || agent.alive)
      .sort((a, b) => a.agentId.localeCompare(b.agentId))
  }

  private leaseFor(topic: string, options: CommandOptions, action: string): Lease {
    const lease = options.lease ?? this.leases.get(topic)
    if (!lease || lease.topic !== topic || lease.runId !== options.runId) {
      throw new KreorgError('precondition', `cannot ${action} ${topic}: run ${options.runId} does not hold its lease`)
    }
    lease.assertValid()
    return lease
  }

  private async publish(topic: string, action: CommandAction, options: ResumeOptions, leaseExpiresAt: number | undefined): Promise<void> {
    const log = this.requireLog(`publish ${action}`)
    const command: Command = {
      v: PROTOCOL_VERSION,
      type: 'cmd',
      action,
      topic,
      runId: options.runId,
      epoch: options.epoch,
      ...(leaseExpiresAt !== undefined ? {leaseExpiresAt} : {}),
      ...(options.targetPartitions !== undefined ? {targetPartitions: options.targetPartitions} : {}),
      ...(options.canaryKeys !== undefined ? {canaryKeys: options.canaryKeys} : {}),
      ...(options.pinPartitions !== undefined && action !== 'resume' ? {pinPartitions: options.pinPartitions} : {}),
      at: Date.now(),
    }
    const key = keys.cmd(topic)
    await log.appendAndRead(key, encode(key, command, this.options.secret), this.readBackMs)
  }

  /** Publishes `pause`; agents flush in-flight sends, hold new ones and ack `paused`. */
  async pause(topic: string, options: CommandOptions): Promise<void> {
    const lease = this.leaseFor(topic, options, 'pause')
    await this.publish(topic, 'pause', options, lease.expiresAt)
  }

  /** While paused: agents refresh metadata and ack `refreshed` with their partition count and canary partitions, staying paused. */
  async refresh(topic: string, options: RefreshOptions): Promise<void> {
    const lease = this.leaseFor(topic, options, 'refresh')
    await this.publish(topic, 'refresh', options, lease.expiresAt)
  }

  /**
   * Publishes `resume`; agents refresh metadata (to `targetPartitions` when given), release held
   * sends and ack `resumed`. Allowed after the lease lapsed: agents accept a resume from the run
   * that paused them.
   */
  async resume(topic: string, options: ResumeOptions): Promise<void> {
    const lease = options.lease ?? this.leases.get(topic)
    await this.publish(topic, 'resume', options, lease?.valid() ? lease.expiresAt : undefined)
  }

  private matches(ack: Ack, options: WaitForAcksOptions): boolean {
    return ack.runId === options.runId && ack.epoch === options.epoch && ack.state === options.state
  }

  /**
   * Waits until every agent in `agentIds` has acked `state` for this run id and epoch. An agent that
   * deregisters meanwhile (clean shutdown, its producer flushed) no longer needs to ack. Throws
   * KreorgError('timeout') naming the agents that did not ack, or KreorgError('interrupted').
   */
  async waitForAcks(topic: string, options: WaitForAcksOptions): Promise<Ack[]> {
    const pending = new Set(options.agentIds)
    const acks = new Map<string, Ack>()
    const check = (agentId: string) => {
      const entry = this.state.ack(topic, agentId)
      if (entry && this.matches(entry.ack, options) && pending.delete(agentId)) {
        acks.set(agentId, entry.ack)
        options.onAck?.(entry.ack)
      }
    }
    for (const agentId of [...pending]) check(agentId)
    if (pending.size === 0) return options.agentIds.filter((id) => acks.has(id)).map((id) => acks.get(id)!)
    return new Promise<Ack[]>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer)
        this.events.off('change', onChange)
        options.signal?.removeEventListener('abort', onAbort)
        if (error) reject(error)
        else resolve(options.agentIds.filter((id) => acks.has(id)).map((id) => acks.get(id)!))
      }
      const onChange = (change: StateChange) => {
        if (change.kind === 'ack' && change.topic === topic) check(change.entry.ack.agentId)
        else if (change.kind === 'agent' && change.entry === undefined) pending.delete(change.agentId)
        if (pending.size === 0) finish()
      }
      const onAbort = () => finish(new KreorgError('interrupted', `interrupted while waiting for ${options.state} acks on ${topic}`))
      const timer = setTimeout(() => {
        const missing = [...pending].map((id) => {
          const agent = this.state.agents().find((a) => a.heartbeat.agentId === id)?.heartbeat
          return agent ? `${id} (${agent.host} pid ${agent.pid})` : id
        })
        finish(
          new KreorgError('timeout', `${pending.size} of ${options.agentIds.length} agents did not ack ${options.state} on ${topic} within ${Math.round(options.timeoutMs / 1000)}s: ${missing.join(', ')}`, {
            suggestions: ['check those producers are running a current kreorg agent and can reach the control topic; `kreorg producers ' + topic + '` shows their state'],
          }),
        )
      }, options.timeoutMs)
      this.events.on('change', onChange)
      if (options.signal?.aborted) onAbort()
      else options.signal?.addEventListener('abort', onAbort, {once: true})
    })
  }

  /** Stops lease renewals (without releasing: see Lease.stop) and disconnects. */
  async close(): Promise<void> {
    for (const lease of this.leases.values()) lease.stop()
    this.leases.clear()
    this.events.removeAllListeners()
    await this.log?.stop()
  }
}

/** The holder identity of this process for a run id. */
export function localHolder(runId: string): LeaseHolderIdentity {
  return {runId, host: hostname(), pid: process.pid}
}

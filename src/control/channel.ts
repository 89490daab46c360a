/**
 * Orchestrator side of the control protocol over Kafka: reads the control topic into the fold (and,
 * protocol 1.1, the recent heartbeats on `<controlTopic>-heartbeats`), publishes pin / pause / refresh
 * / resume commands with fencing epochs, waits for acks and lists agents. Topic leases live in
 * lease.ts. See docs/control-protocol.md.
 */
import {EventEmitter} from 'node:events'

import type {ConnectionOptions} from '../kafka/types.js'
import type {
  AgentInfo,
  AgentQueryOptions,
  CommandOptions,
  ControlChannelPort,
  ControlLogger,
  CurrentCommand,
  LeaseHolderIdentity,
  LeaseInfo,
  PinOptions,
  RefreshOptions,
  ResumeOptions,
  WaitForAcksOptions,
} from './port.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {createKafkaClient} from '../kafka/client.js'
import {ControlLog} from '../kafka/control-log.js'
import {type ControlChanges, waitForAcks} from './acks.js'
import {AgentDirectory} from './agents.js'
import {decode} from './codec.js'
import {ControlFeed} from './feed.js'
import {HeartbeatTail} from './heartbeat-tail.js'
import {type Lease, type LeaseLog, Leases} from './lease.js'
import {
  type Ack,
  type AckState,
  type Command,
  type CommandAction,
  CONTROL_TOPIC_CONFIG,
  DEFAULT_CONTROL_TOPIC,
  HEARTBEAT_LOOKBACK_MS,
  HEARTBEAT_TOPIC_CONFIG,
  heartbeatTopicOf,
  keys,
  type LeaseRecord,
  PROTOCOL_VERSION,
} from './schema.js'
import {ControlState} from './state.js'

export {localHolder} from './lease.js'
export type * from './port.js'

const silentLogger: ControlLogger = {warn() {}}

const ACK_STATE_OF: Record<CommandAction, AckState> = {pause: 'paused', refresh: 'refreshed', resume: 'resumed', pin: 'pinned'}

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
  /**
   * How far back heartbeats are read from `<controlTopic>-heartbeats` (default 120 s, protocol 1.1
   * section A). Longer to know agents that stopped a while ago (the writer inventory's lookback).
   */
  heartbeatLookbackMs?: number
}

export class ControlChannel implements ControlChannelPort {
  private readonly state = new ControlState()
  private readonly heartbeatState = new ControlState()
  private readonly changes = new EventEmitter<ControlChanges>()
  private readonly feed: ControlFeed | undefined
  private readonly directory: AgentDirectory
  private readonly leases: Leases
  /** `topic\nrunId` → the highest epoch this channel published or claimed with, so each attempt can go higher. */
  private readonly epochsWritten = new Map<string, number>()
  /** Per topic, the last command this channel published and its offset: acks must come after it. */
  private readonly published = new Map<string, {runId: string; epoch: number; state: AckState; offset: number}>()
  readonly controlTopic: string
  readonly heartbeatTopic: string

  private constructor(
    log: ControlLog | undefined,
    private readonly heartbeatTail: HeartbeatTail | undefined,
    private readonly options: ControlChannelOptions,
    readonly logger: ControlLogger,
  ) {
    this.controlTopic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC
    this.heartbeatTopic = heartbeatTopicOf(this.controlTopic)
    this.changes.setMaxListeners(0)
    this.feed = log
      ? new ControlFeed(log, {
          state: this.state,
          secret: options.secret,
          onIgnored: (record, reason) => {
            if (!reason.startsWith('run/'))
              this.logger.warn(`control topic ${this.controlTopic} offset ${record.offset}: ignored: ${reason}`)
          },
        })
      : undefined
    this.directory = new AgentDirectory(this.state, heartbeatTail ? this.heartbeatState : undefined)
    this.leases = new Leases(this.leaseLog())
  }

  /**
   * Connects and reads the control topic to its end, and the heartbeat topic from `now - lookback`.
   * With `create: false` a missing control topic gives a channel that reports no lease and refuses
   * to write (and a missing heartbeat topic, no 1.1 agents).
   */
  static async open(connection: ConnectionOptions, options: ControlChannelOptions): Promise<ControlChannel> {
    const topic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC
    const heartbeatTopic = heartbeatTopicOf(topic)
    const logger = options.logger ?? silentLogger
    const client = createKafkaClient(connection)
    const log = new ControlLog(client, {topic, role: 'orchestrator', topicConfig: CONTROL_TOPIC_CONFIG})
    const heartbeatLog = new ControlLog(client, {
      topic: heartbeatTopic,
      role: 'orchestrator-heartbeats',
      topicConfig: HEARTBEAT_TOPIC_CONFIG,
    })
    let exists: boolean
    let heartbeatsExist: boolean
    try {
      exists = await log.ensureTopic(options.create, options.replicationFactor)
      // Whoever needs the heartbeat topic first creates it (1.1 A): agents, or an orchestrator about to wait for them.
      heartbeatsExist = await heartbeatLog.ensureTopic(options.create, options.replicationFactor)
    } catch (error) {
      throw new KreorgError('connect', `cannot prepare control topics ${topic} and ${heartbeatTopic}: ${describeCause(error)}`, {
        cause: error,
      })
    }
    const channel = new ControlChannel(
      exists ? log : undefined,
      heartbeatsExist ? new HeartbeatTail(client, heartbeatTopic) : undefined,
      options,
      logger,
    )
    try {
      await channel.feed?.start((change) => channel.changes.emit('change', change), {catchUpTimeoutMs: channel.readBackMs})
      await channel.startHeartbeats()
    } catch (error) {
      await channel.close()
      throw error instanceof KreorgError
        ? error
        : new KreorgError('connect', `cannot read control topic ${topic}: ${describeCause(error)}`, {cause: error})
    }
    return channel
  }

  private async startHeartbeats(): Promise<void> {
    const tail = this.heartbeatTail
    if (!tail) return
    const secret = this.options.secret || undefined
    await tail.start(
      (record) => {
        const decoded = decode(record.key, record.value, secret ? {secret} : {})
        // Only heartbeats belong here; a heartbeat failing the secret is worth a warning, as on the control topic.
        if (decoded.ok && decoded.key.kind !== 'agent') return
        if (!decoded.ok) this.logger.warn(`heartbeat topic ${tail.topic} offset ${record.offset}: ignored: ${decoded.reason}`)
        const change = this.heartbeatState.apply(decoded, {offset: record.offset, timestamp: record.timestamp})
        if (change) this.changes.emit('change', change)
      },
      {lookbackMs: this.options.heartbeatLookbackMs ?? HEARTBEAT_LOOKBACK_MS, catchUpTimeoutMs: this.readBackMs},
    )
  }

  /** Whether the control topic exists (false only for read-only channels on a cluster that never had one). */
  get available(): boolean {
    return this.feed !== undefined
  }

  private requireFeed(action: string): ControlFeed {
    if (!this.feed || !this.options.create) {
      throw new KreorgError(
        'precondition',
        `cannot ${action}: control channel ${this.controlTopic} is read-only${this.feed ? '' : ' (the topic does not exist)'}`,
      )
    }
    return this.feed
  }

  private get readBackMs(): number {
    return this.options.readBackTimeoutMs ?? 30_000
  }

  private leaseLog(): LeaseLog {
    return {
      logger: this.logger,
      holderAt: (topic, time) => this.state.holderAt(topic, time),
      writeLease: async (topic: string, op: LeaseRecord['op'], holder: LeaseHolderIdentity, leaseMs: number) => {
        const feed = this.requireFeed('write a lease')
        const record: LeaseRecord = {
          v: PROTOCOL_VERSION,
          type: 'lease',
          op,
          topic,
          runId: holder.runId,
          host: holder.host,
          pid: holder.pid,
          leaseMs,
          ...(holder.epoch !== undefined ? {epoch: holder.epoch} : {}),
          at: Date.now(),
        }
        if (holder.epoch !== undefined) this.noteEpoch(topic, holder.runId, holder.epoch)
        const offset = await feed.writeAndRead(keys.lease(topic), record, this.readBackMs)
        const outcome = this.state.outcomeAt(offset)
        if (!outcome)
          throw new KreorgError(
            'unexpected',
            `control topic ${this.controlTopic}: our own lease record at offset ${offset} did not read back`,
          )
        return outcome
      },
      catchUp: async () => {
        await this.feed?.catchUp(this.readBackMs)
      },
    }
  }

  /**
   * Takes the topic's lease (re-entrant for the same run id). Race-safe: the claim is appended and
   * the partition read back up to it; the first still-valid claim in log order wins, and every
   * reader computes the same answer. Throws KreorgError('lease-held') (exit 6) naming the holder,
   * or saying this attempt is stale (a later attempt of the run claimed it with a higher epoch).
   */
  acquireLease(topic: string, holder: LeaseHolderIdentity, leaseMs: number): Promise<Lease> {
    return this.leases.acquire(topic, holder, leaseMs)
  }

  /** The valid lease on a topic, if any (as of the last record read). */
  async currentLease(topic: string): Promise<LeaseInfo | undefined> {
    return this.leases.current(topic)
  }

  /** The latest command in force for a topic (a stale-epoch command never is). */
  currentCommand(topic: string): CurrentCommand | undefined {
    const entry = this.state.command(topic)
    return entry ? {...entry.command, offset: entry.offset, timestamp: entry.timestamp} : undefined
  }

  private epochKey(topic: string, runId: string): string {
    return `${topic}\n${runId}`
  }

  private noteEpoch(topic: string, runId: string, epoch: number): void {
    const key = this.epochKey(topic, runId)
    this.epochsWritten.set(key, Math.max(epoch, this.epochsWritten.get(key) ?? -1))
  }

  /** The highest epoch of a run on a topic: in the log (commands, claims) or written by this channel. */
  latestEpoch(topic: string, runId: string): number | undefined {
    const logged = this.state.latestEpoch(topic, runId)
    const written = this.epochsWritten.get(this.epochKey(topic, runId))
    if (logged === undefined) return written
    return written === undefined ? logged : Math.max(logged, written)
  }

  /**
   * An epoch for a new attempt of a run: above every epoch the run used on the topic (so agents and
   * the lease fold take this attempt as the current one), and at least the wall clock in ms.
   */
  nextEpoch(topic: string, runId: string): number {
    return Math.max(Date.now(), (this.latestEpoch(topic, runId) ?? -1) + 1)
  }

  /**
   * Agents from their heartbeats (the heartbeat topic, and v1 records on the control topic), for one
   * topic or all. Only live ones (a heartbeat within 3 intervals, or `maxAgeMs`) unless `includeStale`.
   */
  async agents(topic?: string, options: AgentQueryOptions = {}): Promise<AgentInfo[]> {
    return this.directory.list(topic, options)
  }

  /**
   * Refuses a command from an attempt older than one the log shows for the run: agents would ignore
   * it as stale anyway (1.1 D), and a resume from a woken orchestrator must not even be tried while a
   * later attempt of its run may be draining groups again.
   */
  private async assertCurrentEpoch(topic: string, action: CommandAction, options: CommandOptions): Promise<void> {
    const held = options.lease ?? this.leases.heldFor(topic)
    // Without a valid lease of our own, another host may have taken the run over since our last read.
    if (!held?.valid()) await this.feed?.catchUp(this.readBackMs)
    const latest = this.state.latestEpoch(topic, options.runId)
    if (latest !== undefined && options.epoch < latest) {
      throw new KreorgError(
        'precondition',
        `cannot ${action} ${topic}: run ${options.runId} already used epoch ${latest} there, this attempt's epoch is ${options.epoch} (a later attempt of the run took over)`,
        {
          suggestions: [`let the later attempt finish (\`kreorg status ${options.runId}\`); agents ignore commands of an older attempt`],
        },
      )
    }
  }

  private async publish(topic: string, action: CommandAction, options: ResumeOptions, leaseExpiresAt: number | undefined): Promise<void> {
    const feed = this.requireFeed(`publish ${action}`)
    await this.assertCurrentEpoch(topic, action, options)
    // Every command but a lifting resume names the pin in force, so an agent that starts after it starts pinned.
    const pinPartitions =
      action === 'resume' && options.targetPartitions !== undefined ? undefined : (options.pinPartitions ?? this.state.pinInForce(topic))
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
      ...(pinPartitions !== undefined ? {pinPartitions} : {}),
      at: Date.now(),
    }
    this.noteEpoch(topic, options.runId, options.epoch)
    const offset = await feed.writeAndRead(keys.cmd(topic), command, this.readBackMs)
    this.published.set(topic, {runId: options.runId, epoch: options.epoch, state: ACK_STATE_OF[action], offset})
  }

  /** 1.1: producers keep writing, partitioning with `pinPartitions`, and ack `pinned`. Needs the lease. */
  async pin(topic: string, options: PinOptions): Promise<void> {
    const lease = this.leases.authorize(topic, options, 'pin')
    await this.publish(topic, 'pin', options, lease.expiresAt)
  }

  /** Publishes `pause`; agents flush in-flight sends, hold new ones and ack `paused`. */
  async pause(topic: string, options: CommandOptions): Promise<void> {
    const lease = this.leases.authorize(topic, options, 'pause')
    await this.publish(topic, 'pause', options, lease.expiresAt)
  }

  /** While paused: agents refresh metadata and ack `refreshed` with their partition count and canary partitions, staying paused. */
  async refresh(topic: string, options: RefreshOptions): Promise<void> {
    const lease = this.leases.authorize(topic, options, 'refresh')
    await this.publish(topic, 'refresh', options, lease.expiresAt)
  }

  /**
   * Publishes `resume`; agents refresh metadata (to `targetPartitions` when given), release held
   * sends and ack `resumed`. With targetPartitions the pin is lifted; without, it stays (1.1).
   * Allowed after the lease lapsed: agents accept a resume from the run that paused them — unless a
   * later attempt of the run exists (refused here, and ignored by agents).
   */
  async resume(topic: string, options: ResumeOptions): Promise<void> {
    const lease = options.lease ?? this.leases.heldFor(topic)
    await this.publish(topic, 'resume', options, lease?.valid() ? lease.expiresAt : undefined)
  }

  /**
   * Waits until every agent in `agentIds` has acked `state` for this run id and epoch. An agent that
   * deregisters meanwhile (clean shutdown, its producer flushed) no longer needs to ack. Throws
   * KreorgError('timeout') naming the agents that did not ack, or KreorgError('interrupted').
   */
  waitForAcks(topic: string, options: WaitForAcksOptions): Promise<Ack[]> {
    const source = {
      ack: (t: string, agentId: string) => this.state.ack(t, agentId),
      heartbeat: (agentId: string) => this.directory.heartbeat(agentId),
    }
    // An ack of an earlier command with the same run, epoch and state (a resume before this resume)
    // must not count for the command this channel just published.
    const last = this.published.get(topic)
    const after = last && last.runId === options.runId && last.epoch === options.epoch && last.state === options.state ? last.offset : -1
    return waitForAcks(source, this.changes, topic, options, after)
  }

  /** Stops lease renewals (without releasing: see Lease.stop) and disconnects. */
  async close(): Promise<void> {
    this.leases.stopAll()
    this.changes.removeAllListeners()
    await Promise.all([this.feed?.stop(), this.heartbeatTail?.stop()])
  }
}

/**
 * What callers use of the orchestrator side of the control protocol, as interfaces: the Kafka-backed
 * `ControlChannel` (channel.ts) implements `ControlChannelPort`, and unit tests can pass a fake.
 */
import type {Ack, AckState, AgentTopicState, Command, LastWrite} from './schema.js'

export interface ControlLogger {
  warn(message: string): void
  info?(message: string): void
  debug?(message: string): void
}

export interface LeaseHolderIdentity {
  runId: string
  host: string
  pid: number
  /**
   * 1.1 fencing token of this attempt of the run, carried by its claim and renewals: each start or
   * resume of a run uses a higher one, and the lease fold refuses an attempt older than the latest.
   */
  epoch?: number
}

export interface LeaseInfo extends LeaseHolderIdentity {
  topic: string
  acquiredAt: number
  expiresAt: number
}

/** A topic lease held by this process (see `Lease` in lease.ts). */
export interface ControlLease {
  readonly topic: string
  readonly runId: string
  readonly holder: LeaseHolderIdentity
  /** The attempt's fencing epoch (undefined for a lease claimed without one). */
  readonly epoch?: number | undefined
  readonly expiresAt: number
  /** Why the lease is no longer held, if it is not. */
  readonly lostReason: string | undefined
  valid(): boolean
  /** Throws KreorgError('precondition') unless the lease is valid. */
  assertValid(step?: string): void
  /** Stops renewing without releasing: the lease lapses by itself. */
  stop(): void
  release(): Promise<void>
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
  // Protocol 1.1 heartbeat fields: absent for agents older than 1.1.
  /** What the agent implements (see AGENT_CAPABILITIES); undefined: a v1 agent that advertises nothing. */
  capabilities?: string[]
  /** kafkajs | java | python | other. */
  language?: string
  /** Idempotent/transactional producer id; -1 or undefined when the agent cannot tell (see lastWrite). */
  producerId?: number
  /** Whether the agent's producer is idempotent, when it can tell. */
  idempotent?: boolean
  /** Per topic, the agent's latest write: the batch there names its producer id. */
  lastWrite?: Record<string, LastWrite>
  /** Where the heartbeat was read: the 1.1 heartbeat topic, or a v1 record on the control topic. */
  heartbeatSource?: 'heartbeats' | 'control'
}

export interface AgentQueryOptions {
  /** Heartbeats older than this are stale (default: 3 heartbeat intervals, at least 3 s). */
  maxAgeMs?: number
  includeStale?: boolean
}

export interface CommandOptions {
  runId: string
  epoch: number
  /** Defaults to the lease this channel holds for the topic. */
  lease?: ControlLease
  /**
   * pin/pause/refresh: keep producers on this partition count until a resume with targetPartitions
   * (see the protocol doc); a resume without targetPartitions keeps the pin and names it for agents
   * that start later. Default: the pin earlier commands put in force, if any.
   */
  pinPartitions?: number
}

export interface PinOptions extends CommandOptions {
  pinPartitions: number
}

export interface RefreshOptions extends CommandOptions {
  targetPartitions: number
  canaryKeys: string[]
}

export interface ResumeOptions extends CommandOptions {
  /** Lifts the pin: agents refresh to at least this count and partition with their full count. Without it the pin stays (1.1). */
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
  /** Only acks written after this control-topic offset count (the command's own offset); -1 = any. */
  afterOffset?: number
}

/** The command in force for a topic, with where it sits in the control topic. */
export type CurrentCommand = Command & {offset: number; timestamp: number}

/**
 * The control channel as the CLI, steps and manual pause/unpause use it. Leases are race-safe and
 * re-entrant per run id; commands other than resume need a valid lease; acks are matched by run id,
 * epoch and state.
 */
export interface ControlChannelPort {
  readonly controlTopic: string
  /** Whether the control topic exists (false only for read-only channels on a cluster that never had one). */
  readonly available: boolean

  /** Takes the topic's lease (re-entrant for the same run id); KreorgError('lease-held') names the holder. */
  acquireLease(topic: string, holder: LeaseHolderIdentity, leaseMs: number): Promise<ControlLease>
  /** The valid lease on a topic, if any (as of the last record read). */
  currentLease(topic: string): Promise<LeaseInfo | undefined>

  /** The latest command in force for a topic. */
  currentCommand(topic: string): CurrentCommand | undefined
  /**
   * An epoch for a new attempt of a run on a topic: above every epoch the run used there (commands,
   * lease claims), at least the wall clock in ms. Optional: callers fall back to the wall clock.
   */
  nextEpoch?(topic: string, runId: string): number
  /** Agents from their heartbeats, for one topic or all; only live ones unless `includeStale`. */
  agents(topic?: string, options?: AgentQueryOptions): Promise<AgentInfo[]>

  /**
   * 1.1 `pin`: producers keep writing, partitioning as if the topic had `pinPartitions` partitions,
   * until a resume with targetPartitions; agents ack `pinned`. Needs the lease, like pause.
   */
  pin(topic: string, options: PinOptions): Promise<void>
  pause(topic: string, options: CommandOptions): Promise<void>
  refresh(topic: string, options: RefreshOptions): Promise<void>
  /**
   * Allowed after the lease lapsed: agents accept a resume from the run that paused them. With
   * targetPartitions the pin is lifted; without, producers write again and stay pinned (1.1).
   */
  resume(topic: string, options: ResumeOptions): Promise<void>
  /** Until every agent in `agentIds` acked `state` (or deregistered); KreorgError('timeout' | 'interrupted'). */
  waitForAcks(topic: string, options: WaitForAcksOptions): Promise<Ack[]>

  /** Stops lease renewals (without releasing) and disconnects. */
  close(): Promise<void>
}

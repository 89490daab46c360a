import type {KafkaCluster, PartitionOffsets} from '../../kafka/types.js'

/** What `kreorg grow` was asked to do. Stored in the checkpoint: no secrets here. */
export interface GrowInputs {
  topic: string
  to: number
  /** Explicit groups to drain; undefined = every group with offsets on the topic. */
  groups?: string[]
  ignoreGroups: string[]
  drainTimeoutMs: number
  ackTimeoutMs: number
  quietPeriodMs: number
  leaseMs: number
  pickupTimeoutMs: number
  /** Replica broker ids per new partition (from --replica-assignment), in partition order. */
  replicaAssignment?: number[][]
  controlTopic: string
  /** Name of the environment variable holding the control-topic signing secret (the secret itself is never stored). */
  controlSecretEnv: string
  samplePerPartition: number
  /** How long post-check waits for records written after resume. */
  postCheckWindowMs: number
  host: string
}

export interface AgentView {
  agentId: string
  host: string
  pid?: number
  clientId?: string
  state?: string
  partitionCount?: number
  lastHeartbeat?: number
}

export interface AgentAck {
  agentId: string
  state: string
  partitionCount?: number
  /** key → partition as the agent's own partitioner computes it. */
  canary?: Record<string, number>
  partitioner?: string
}

export interface LeaseHandle {
  readonly runId: string
  readonly expiresAt: number
  valid(): boolean
  release(): Promise<void>
}

/**
 * What grow needs from the control topic. The orchestrator side in src/control implements it;
 * keeping the port here lets the steps read as the runbook does and keeps read-only planning
 * (dry-run) from ever holding a writable channel.
 */
export interface ControlPort {
  acquireLease(topic: string, holder: {runId: string; host: string; pid: number}, leaseMs: number): Promise<LeaseHandle>
  currentLease(topic: string): Promise<{runId: string; host: string; expiresAt: number} | undefined>
  agents(topic: string): Promise<AgentView[]>
  /** Uses the lease this channel holds for the topic (acquired above). */
  pause(topic: string, command: {runId: string; epoch: number; pinPartitions?: number}): Promise<void>
  refresh(topic: string, command: {runId: string; epoch: number; targetPartitions: number; canaryKeys: string[]; pinPartitions?: number}): Promise<void>
  resume(topic: string, command: {runId: string; epoch: number; targetPartitions?: number; canaryKeys?: string[]}): Promise<void>
  waitForAcks(
    topic: string,
    options: {
      runId: string
      epoch: number
      agentIds: string[]
      state: 'paused' | 'refreshed' | 'resumed'
      timeoutMs: number
      signal?: AbortSignal
      onAck?: (ack: AgentAck) => void
    },
  ): Promise<AgentAck[]>
  close(): Promise<void>
}

export interface GrowServices {
  cluster: KafkaCluster
  control: ControlPort
  /** Held from preflight until post-check (or failure); re-acquired on resume. */
  lease?: LeaseHandle
}

/** Step results as recorded in the checkpoint, by step id. */
export interface PreflightResult {
  partitions: number
  brokers: number
  minInsyncReplicas: number
  leaseExpiresAt: number
}

export interface PauseResult {
  epoch: number
  agents: string[]
  pausedAt: number
}

export interface DrainResult {
  groups: string[]
  endOffsets: PartitionOffsets[]
  drainedAt: number
  drainMs: number
}

export interface AddPartitionsResult {
  from: number
  to: number
  addedAt: number
  addMs: number
  alreadyAtTarget: boolean
}

export interface ResumeResult {
  resumedAt: number
  agents: string[]
  endOffsetsAtResume: PartitionOffsets[]
}

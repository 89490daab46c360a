/** What an agent can do (protocol 1.1 heartbeats list them); a run refuses agents lacking one it needs. */
export type AgentCapability = 'pause' | 'pin' | 'refresh' | 'canary' | 'fence' | 'txn'

/** Capabilities every agent must advertise for grow v2: producers keep writing pinned, and stale orchestrators are fenced. */
export const REQUIRED_CAPABILITIES: readonly AgentCapability[] = ['pause', 'pin', 'refresh', 'fence']

export interface AgentView {
  agentId: string
  host: string
  pid?: number
  clientId?: string
  state?: string
  partitionCount?: number
  /** Set while the agent's producer partitions with fewer partitions than the topic has. */
  pinnedPartitions?: number
  lastHeartbeat?: number
  /** False for an agent whose heartbeats stopped (listed only when asked for stale agents). */
  alive?: boolean
  /** Absent for agents older than protocol 1.1: they advertise nothing, so they are refused. */
  capabilities?: string[]
  /** murmur2, murmur2_random, consistent(_random), fnv1a(_random), legacy, custom. */
  partitioner?: string
  language?: string
  /** The idempotent/transactional producer id, when the client exposes it (-1 or absent: unknown). */
  producerId?: number
  /** Whether its producer is idempotent, when the agent can tell. */
  idempotent?: boolean
  /** The offset of the agent's latest write to the topic: the batch there names its producer id. */
  lastWrite?: {partition: number; offset: number}
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

export type AckWaitState = 'pinned' | 'paused' | 'refreshed' | 'resumed'

export interface CommandIdentity {
  runId: string
  /** Fencing token: each start or resume of a run uses a higher epoch, so agents ignore a stale orchestrator. */
  epoch: number
}

/**
 * What grow needs from the control topic. The orchestrator side in src/control implements it
 * (control-adapter.ts maps it); keeping the port here lets the steps read as the runbook does and
 * keeps read-only planning (dry-run) from ever holding a writable channel.
 */
export interface ControlPort {
  /** Re-entrant for the same run id; `epoch` is recorded with the claim so an older attempt cannot renew. */
  acquireLease(topic: string, holder: {runId: string; host: string; pid: number; epoch?: number}, leaseMs: number): Promise<LeaseHandle>
  currentLease(topic: string): Promise<{runId: string; host: string; expiresAt: number} | undefined>
  /** Live agents of the topic; with `includeStaleWithinMs`, also those whose last heartbeat is that recent. */
  agents(topic: string, options?: {includeStaleWithinMs?: number}): Promise<AgentView[]>
  /** Producers keep writing, partitioning as if the topic had `pinPartitions` partitions, until a resume with a target. */
  pin(topic: string, command: CommandIdentity & {pinPartitions: number}): Promise<void>
  /** Uses the lease this channel holds for the topic (acquired above). */
  pause(topic: string, command: CommandIdentity & {pinPartitions?: number}): Promise<void>
  refresh(topic: string, command: CommandIdentity & {targetPartitions: number; canaryKeys: string[]; pinPartitions?: number}): Promise<void>
  /** With `targetPartitions` the pin is lifted; without it producers resume and stay pinned. */
  resume(topic: string, command: CommandIdentity & {targetPartitions?: number; canaryKeys?: string[]}): Promise<void>
  waitForAcks(
    topic: string,
    options: CommandIdentity & {
      agentIds: string[]
      state: AckWaitState
      timeoutMs: number
      signal?: AbortSignal
      onAck?: (ack: AgentAck) => void
    },
  ): Promise<AgentAck[]>
  close(): Promise<void>
}

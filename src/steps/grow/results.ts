import type {ConnectPauseRecord, ConnectResumeRecord} from '../../connect/records.js'
import type {PartitionOffsets} from '../../kafka/types.js'
import type {GrowPlan} from './plan.js'
import type {WriterInventory} from './writers.js'

/**
 * What each grow step returns, as recorded in the checkpoint. `GrowResults` maps step ids to them: the
 * runbook declares its steps against it and later steps read `ctx.results` through it, so a step that
 * changes its result shape breaks the build where the result is read.
 */
export interface PreflightResult {
  partitions: number
  brokers: number
  minInsyncReplicas: number
  leaseExpiresAt: number
}

export interface PinResult {
  epoch: number
  agents: string[]
  /** The partition count producers keep partitioning with until resume-producers lifts the pin. */
  pinPartitions: number
  pinnedAt: number
  /** Kafka Connect source connectors paused until resume-producers (with --connect-url). */
  connect?: ConnectPauseRecord
}

export interface PauseResult {
  epoch: number
  agents: string[]
  /** When the pause was published: the blackout starts at the first ack after this. */
  pauseSentAt: number
  /** When every agent had acked. */
  pausedAt: number
}

export interface DrainResult {
  groups: string[]
  /** High watermarks (read_uncommitted) when every group had drained: unchanged since the quiesce snapshot. */
  highWatermarks: PartitionOffsets[]
  drainedAt: number
  drainMs: number
}

export interface AddPartitionsResult {
  from: number
  to: number
  addedAt: number
  addMs: number
  alreadyAtTarget: boolean
  /** The writer inventory taken right before the alter (absent when the alter was already done). */
  writers?: Pick<WriterInventory, 'agentProducers' | 'markerProducers' | 'ignoredProducers' | 'notes'>
}

export interface ResumeResult {
  resumedAt: number
  agents: string[]
  endOffsetsAtResume: PartitionOffsets[]
  /** Kafka Connect tasks restarted while paused, and connectors resumed (with --connect-url). */
  connect?: ConnectResumeRecord
}

export interface QuiesceResult {
  /** High watermarks right after every agent acked the pause: the fence drain and resume compare against. */
  highWatermarks: PartitionOffsets[]
  snapshotAt: number
  quietMs: number
}

export interface VerifyPartitionsResult {
  brokers: number
  checkedMs: number
}

export type PositionProof = 'committed' | 'primed-empty' | 'trusted'

export interface PrimeConsumersResult {
  /** Empty groups (also those that went empty while waiting) that got offset 0 committed on the new partitions. */
  committed: string[]
  /** Active groups whose committed offsets on every new partition proved their position. */
  active: string[]
  /** Groups accepted on assignment coverage (`--trust-group`). */
  trusted: string[]
  groups: Array<{groupId: string; proof: PositionProof}>
  /** Marker-only aborted transactions written per new partition (the fence: their end offsets equal these). */
  markers: Record<string, number>
  markerProducerId: number | null
  pickupMs: number
}

export interface VerifyMappingResult {
  agents: number
  canaryKeys: number
  /** Partitioner per agent, as reported in its ack. */
  partitioners: Record<string, string>
}

export interface GrowSummary {
  topic: string
  from: number
  to: number
  /** The blackout: from the pause to every agent's resume ack (producers kept writing, pinned, before it). */
  pausedMs: number | null
  /** How long producers ran pinned while consumer positions were proven. */
  primeMs: number | null
  drainMs: number | null
  addMs: number | null
  checkedRecords: number
  /**
   * Keyed records post-check judged per partitioner: each by the partitioner its writer reported (a
   * CRC32 producer's by CRC32), `any` for a producer id no agent named. Absent in older checkpoints.
   */
  checkedByPartitioner?: Record<string, number>
  misplacedRecords: number
  watchNext: string[]
  /** Declared partition counts (Terraform, Strimzi, topicctl) that must now say `to`. */
  declaredCounts: string[]
  /** True when the topic already had the target count and nothing was done. */
  nothingToDo?: boolean
  /** How long Kafka Connect source connectors were paused (pin-producers to resume-producers), with --connect-url. */
  connectPausedMs?: number
}

/**
 * A step's recorded result. A multi-topic run (`grow a b --to N`) records every topic's under
 * `byTopic`, and the first topic's at the top level too, so single-topic readers keep working.
 */
export type PerTopic<R> = R & {byTopic?: Record<string, R>}

/** Results by step id (the ids in runbooks/grow.ts). */
export type GrowResults = {
  preflight: PerTopic<PreflightResult>
  plan: PerTopic<GrowPlan>
  'pin-producers': PerTopic<PinResult>
  'add-partitions': PerTopic<AddPartitionsResult>
  'verify-partitions': PerTopic<VerifyPartitionsResult>
  'prime-consumers': PerTopic<PrimeConsumersResult>
  'pause-producers': PerTopic<PauseResult>
  quiesce: PerTopic<QuiesceResult>
  drain: PerTopic<DrainResult>
  'verify-mapping': PerTopic<VerifyMappingResult>
  'resume-producers': PerTopic<ResumeResult>
  'post-check': PerTopic<GrowSummary>
}

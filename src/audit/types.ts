import type {CoPartitionCandidate} from '../kafka/co-partition.js'
import type {PartitionerMatch} from '../kafka/key-analysis.js'
import type {GroupLag} from '../kafka/lag.js'
import type {PartitionerName} from '../kafka/partitioners.js'
import type {PartitionSample, SampledRecord} from '../kafka/sampler.js'

export type Verdict = 'pass' | 'warn' | 'fail'

export type CheckId =
  | 'sample'
  | 'null-keys'
  | 'key-cardinality'
  | 'partition-skew'
  | 'partitioner'
  | 'idempotence'
  | 'consumer-groups'
  | 'co-partitioning'
  | 'key-movement'
  | 'compaction'

export interface Check<D = Record<string, unknown>> {
  id: CheckId
  title: string
  verdict: Verdict
  /** One line: what was found and why it matters. */
  why: string
  details: D
}

export interface AuditInput {
  topic: string
  partitionCount: number
  /** The sampler's per-partition plan and outcome (also carries low/high offsets). */
  partitions: readonly PartitionSample[]
  records: readonly SampledRecord[]
  perPartition: number
  sampleComplete: boolean
  groups: readonly GroupLag[]
  /** Candidate partition counts, all above `partitionCount`. */
  candidates: readonly number[]
  /** The topic's cleanup.policy (absent: not read, taken as delete). */
  cleanupPolicy?: string
  /** Other topics with the same partition count read by the same groups (src/kafka/co-partition.ts), or why they could not be read. */
  coPartitioned?: readonly CoPartitionCandidate[] | {error: string}
}

export interface CandidateFigures {
  to: number
  sampledKeys: number
  movedKeys: number
  /** Share of distinct sampled keys whose partition changes. */
  movedShare: number
  /** Share of (volume-weighted) keyed records whose key moves. */
  movedRecordShare: number
  /** What a uniform hash predicts: 1 − gcd(from, to)/to. */
  uniformMovedShare: number
  /** Projected max/mean load over the new partitions, by records and by bytes. */
  skew: {records: number; bytes: number}
  /** The skew hot keys force at this count whatever the hash (light keys spread evenly). */
  unavoidableSkew: {records: number; bytes: number}
  /** The projected skew up to which this count is acceptable. */
  skewLimit: number
  acceptable: boolean
}

/** The candidate counts judged against each other (candidates.ts), shared by the key-movement check and the report. */
export interface CandidateRanking {
  partitioner: PartitionerName
  baselineSkew: {records: number; bytes: number}
  candidates: CandidateFigures[]
  recommended: number | null
}

export interface AuditReport {
  topic: string
  partitionCount: number
  verdict: Verdict
  counts: Record<Verdict, number>
  sample: {perPartition: number; records: number; keyedRecords: number; complete: boolean; partitions: number}
  checks: Check[]
  candidates: CandidateFigures[]
  recommended: number | null
  partitioner: PartitionerMatch
}

/** What every check reads: the input plus the figures several checks share, computed once. */
export interface AuditContext {
  input: AuditInput
  /** Records each sampled record stands for, by partition (figures.ts partitionWeights). */
  weights: Map<number, number>
  match: PartitionerMatch
  /** The partitioner key movement is projected with: the detected one, else murmur2. */
  partitioner: PartitionerName
  ranking: CandidateRanking
}

/** One audit check: the registry in checks/index.ts runs them in report order. */
export interface AuditCheck {
  id: CheckId
  run(context: AuditContext): Check
}

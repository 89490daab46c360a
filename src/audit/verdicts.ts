import type {AuditContext, AuditInput, AuditReport, Verdict} from './types.js'

/**
 * The audit's judgement, as pure functions of what was read: sampled records, offsets and consumer
 * group lag go in, checks with a verdict and one line of why come out. No I/O here, so every
 * threshold is unit-tested (test/unit/audit-verdicts.test.ts) and the integration tests only have
 * to prove the figures that come from a real broker. Each check is its own module (./checks).
 */
import {partitionerMatch} from '../kafka/key-analysis.js'
import {PARTITIONER_NAMES, type PartitionerName} from '../kafka/partitioners.js'
import {rankCandidates} from './candidates.js'
import {AUDIT_CHECKS} from './checks/index.js'
import {partitionWeights, worst} from './figures.js'

export {defaultCandidates} from './candidates.js'
export {displayKey, partitionWeights, percent, THRESHOLDS, worst} from './figures.js'
export type {AuditCheck, AuditContext, AuditInput, AuditReport, CandidateFigures, Check, CheckId, Verdict} from './types.js'

export function auditVerdicts(input: AuditInput): AuditReport {
  const weights = partitionWeights(input.partitions, input.records)
  const match = partitionerMatch(input.records, input.partitionCount)
  const partitioner: PartitionerName = (PARTITIONER_NAMES as readonly string[]).includes(match.detected)
    ? (match.detected as PartitionerName)
    : match.detected === 'mixed'
      ? match.partitioners[0]!
      : 'murmur2'
  const context: AuditContext = {input, weights, match, partitioner, ranking: rankCandidates(input, weights, partitioner)}
  const checks = AUDIT_CHECKS.map((check) => check.run(context))
  const counts: Record<Verdict, number> = {pass: 0, warn: 0, fail: 0}
  for (const c of checks) counts[c.verdict]++
  return {
    topic: input.topic,
    partitionCount: input.partitionCount,
    verdict: worst(checks.map((c) => c.verdict)),
    counts,
    sample: {
      perPartition: input.perPartition,
      records: input.records.length,
      keyedRecords: input.records.filter((r) => r.key !== null).length,
      complete: input.sampleComplete,
      partitions: input.partitions.length,
    },
    checks,
    candidates: context.ranking.candidates,
    recommended: context.ranking.recommended,
    partitioner: match,
  }
}

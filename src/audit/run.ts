import type {KafkaCluster} from '../kafka/types.js'

import {describeCause, KreorgError} from '../core/errors.js'
/**
 * The audit's I/O: describe the topic, sample recent records, read consumer group lag, then hand
 * everything to the pure verdict logic in ./verdicts.ts.
 */
import {readCoPartitionCandidates} from '../kafka/co-partition.js'
import {readTopicLag} from '../kafka/lag.js'
import {sampleTopicDetailed} from '../kafka/sampler.js'
import {type AuditReport, auditVerdicts, defaultCandidates} from './verdicts.js'

export interface AuditOptions {
  /** Candidate partition counts (each above the current count); default 2×, 3×, 4× the current count. */
  candidates?: number[]
  /** Records per partition (the last N of each). */
  perPartition: number
  /** Bound for sampling; past it the audit judges what it read and says so. */
  timeoutMs: number
  signal?: AbortSignal
  onProgress?: (done: number, total: number) => void
}

/** Parses `--to 16,24,32` (also repeated flags); every count must be a whole number. */
export function parseCandidates(values: readonly string[] | undefined): number[] | undefined {
  if (!values || values.length === 0) return undefined
  const counts = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
  const parsed = counts.map((v) => {
    const n = Number(v)
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) {
      throw new KreorgError('usage', `--to takes partition counts like 16,24,32 (got "${v}")`)
    }
    return n
  })
  return [...new Set(parsed)].sort((a, b) => a - b)
}

export async function runAudit(cluster: KafkaCluster, topic: string, options: AuditOptions): Promise<AuditReport> {
  const description = await cluster.describeTopic(topic)
  const partitionCount = description.partitions.length
  const candidates = options.candidates ?? defaultCandidates(partitionCount)
  const notAbove = candidates.filter((c) => c <= partitionCount)
  if (notAbove.length > 0) {
    throw new KreorgError(
      'usage',
      `--to ${notAbove.join(',')}: "${topic}" already has ${partitionCount} partitions; candidates must be above that`,
      {
        suggestions: [`try --to ${defaultCandidates(partitionCount).join(',')}`],
      },
    )
  }
  const sample = await sampleTopicDetailed(cluster, topic, {
    perPartition: options.perPartition,
    from: 'latest',
    timeoutMs: options.timeoutMs,
    allowPartial: true,
    ...(options.signal ? {signal: options.signal} : {}),
    ...(options.onProgress ? {onProgress: options.onProgress} : {}),
  })
  const lag = await readTopicLag(cluster, topic)
  const config = await cluster.topicConfig(topic, ['cleanup.policy'])
  // Judged as a warning: a failed read is reported by the check instead of failing the audit.
  const coPartitioned = await readCoPartitionCandidates(
    cluster,
    topic,
    lag.groups.map((g) => g.groupId),
  ).catch((error: unknown) => ({error: describeCause(error)}))
  return auditVerdicts({
    topic,
    partitionCount,
    partitions: sample.partitions,
    records: sample.records,
    perPartition: options.perPartition,
    sampleComplete: sample.complete,
    groups: lag.groups,
    candidates,
    ...(config['cleanup.policy'] === undefined ? {} : {cleanupPolicy: config['cleanup.policy']}),
    coPartitioned,
  })
}

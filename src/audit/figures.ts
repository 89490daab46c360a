/** Arithmetic and wording the audit checks share. */
import type {PartitionSample, SampledRecord} from '../kafka/sampler.js'
import type {Verdict} from './types.js'

/** Thresholds in one place; the README quotes them. */
export const THRESHOLDS = {
  /** Null-key records at or above this share of keyed topics fail (below: warn). */
  nullKeyFailShare: 0.01,
  /** Partition skew (max / mean) above this warns. */
  skew: 1.5,
  /** A candidate's projected skew is acceptable up to max(skew, baseline × this). */
  skewGrowth: 1.25,
  /** Keyed records no detected partitioner explains above this share warn. */
  unexplainedShare: 0.01,
  /** How many of the heaviest keys the report lists. */
  heaviestKeys: 5,
} as const

export const VERDICT_RANK: Record<Verdict, number> = {pass: 0, warn: 1, fail: 2}

export function worst(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((a, b) => (VERDICT_RANK[b] > VERDICT_RANK[a] ? b : a), 'pass')
}

export function percent(share: number): string {
  if (share === 0) return '0%'
  if (share < 0.001) return '<0.1%'
  if (share > 0.999 && share < 1) return '>99.9%'
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b
}

export function listPartitions(partitions: readonly number[], max = 8): string {
  const shown = partitions.slice(0, max).join(', ')
  return partitions.length > max ? `${shown}, … (${partitions.length})` : shown
}

/** A key for humans: text when it is printable, hex otherwise, cut at 40 characters. */
export function displayKey(key: Uint8Array): string {
  const buffer = Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  const text = buffer.toString('utf8')
  const printable = /^[\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd')
  const shown = printable ? text : `0x${buffer.toString('hex')}`
  return shown.length > 40 ? `${shown.slice(0, 39)}…` : shown
}

/**
 * Each sampled record stands for `retained / sampled` records of its partition, so figures over the
 * whole topic are not skewed by sampling the same number from a busy and an idle partition.
 */
export function partitionWeights(partitions: readonly PartitionSample[], records: readonly SampledRecord[]): Map<number, number> {
  const sampled = new Map<number, number>()
  for (const r of records) sampled.set(r.partition, (sampled.get(r.partition) ?? 0) + 1)
  return new Map(partitions.map((p) => [p.partition, ratio(p.high - p.low, sampled.get(p.partition) ?? 0)]))
}

export function maxOverMean(values: readonly number[]): number {
  const total = values.reduce((a, b) => a + b, 0)
  if (values.length === 0 || total === 0) return 1
  return Math.max(...values) / (total / values.length)
}

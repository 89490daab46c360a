import type {SampledRecord} from '../kafka/sampler.js'
import type {AuditInput, CandidateFigures, CandidateRanking} from './types.js'

/**
 * Candidate partition counts judged against each other: how many keys and records move, and the
 * load skew each count would leave. The key-movement check words it; the report lists it.
 */
import {keyId, keyMovement} from '../kafka/key-analysis.js'
import {type PartitionerName, positiveHashWith} from '../kafka/partitioners.js'
import {maxOverMean, ratio, THRESHOLDS} from './figures.js'

interface KeyLoad {
  hash: number
  records: number
  bytes: number
}

type Loads = {keys: KeyLoad[]; spread: {records: number; bytes: number}}

/** Volume-weighted load per distinct key, plus what has no key (or a key the partitioner ignores). */
function keyLoads(records: readonly SampledRecord[], weights: Map<number, number>, partitioner: PartitionerName): Loads {
  const perKey = new Map<string, KeyLoad>()
  const spread = {records: 0, bytes: 0}
  for (const r of records) {
    const w = weights.get(r.partition) ?? 0
    const size = r.valueBytes + (r.key?.length ?? 0)
    const hash = r.key === null ? null : positiveHashWith(partitioner, r.key)
    if (hash === null || r.key === null) {
      spread.records += w
      spread.bytes += w * size
      continue
    }
    const id = keyId(r.key)
    const entry = perKey.get(id) ?? {hash, records: 0, bytes: 0}
    entry.records += w
    entry.bytes += w * size
    perKey.set(id, entry)
  }
  return {keys: [...perKey.values()], spread}
}

/**
 * Max/mean load over `to` partitions: keyed load where the hash puts it, keyless load spread evenly
 * (round-robin or sticky). With `onlyHeavyKeys`, keys below a quarter of a partition's fair share are
 * spread evenly too: what is left is the skew no hash can avoid (hot keys and their collisions),
 * without the sampling noise of light keys.
 */
function projectedSkew(loads: Loads, to: number, onlyHeavyKeys = false): {records: number; bytes: number} {
  const records = new Array<number>(to).fill(0)
  const bytes = new Array<number>(to).fill(0)
  const total = loads.keys.reduce((s, k) => s + k.records, loads.spread.records)
  let spreadRecords = loads.spread.records
  let spreadBytes = loads.spread.bytes
  for (const key of loads.keys) {
    if (onlyHeavyKeys && key.records < total / to / 4) {
      spreadRecords += key.records
      spreadBytes += key.bytes
      continue
    }
    records[key.hash % to]! += key.records
    bytes[key.hash % to]! += key.bytes
  }
  return {
    records: maxOverMean(records.map((l) => l + spreadRecords / to)),
    bytes: maxOverMean(bytes.map((b) => b + spreadBytes / to)),
  }
}

export const highestSkew = (s: {records: number; bytes: number}): number => Math.max(s.records, s.bytes)

/** With no keys sampled the uniform estimate is all there is to rank by. */
export const movedShareOf = (c: CandidateFigures): number => (c.sampledKeys > 0 ? c.movedShare : c.uniformMovedShare)

export function rankCandidates(input: AuditInput, weights: Map<number, number>, partitioner: PartitionerName): CandidateRanking {
  const n = input.partitionCount
  const loads = keyLoads(input.records, weights, partitioner)
  const baseline = projectedSkew(loads, n)
  const candidates = input.candidates.map((to): CandidateFigures => {
    const movement = keyMovement(input.records, n, to, {partitioner})
    let keyedWeight = 0
    let movedWeight = 0
    for (const r of input.records) {
      if (r.key === null) continue
      const hash = positiveHashWith(partitioner, r.key)
      if (hash === null) continue
      const w = weights.get(r.partition) ?? 0
      keyedWeight += w
      if (hash % n !== hash % to) movedWeight += w
    }
    const skew = projectedSkew(loads, to)
    const unavoidable = projectedSkew(loads, to, true)
    // Acceptable: not much worse than today, than the hot keys force anyway, or than the plain threshold.
    const limit = Math.max(THRESHOLDS.skew, highestSkew(baseline) * THRESHOLDS.skewGrowth, highestSkew(unavoidable) * THRESHOLDS.skewGrowth)
    return {
      to,
      sampledKeys: movement.sampledKeys,
      movedKeys: movement.moved,
      movedShare: movement.movedShare,
      movedRecordShare: ratio(movedWeight, keyedWeight),
      uniformMovedShare: movement.uniformMovedShare,
      skew,
      unavoidableSkew: unavoidable,
      skewLimit: limit,
      acceptable: highestSkew(skew) <= limit,
    }
  })
  const ranked = candidates.filter((c) => c.acceptable).sort((a, b) => movedShareOf(a) - movedShareOf(b) || a.to - b.to)
  return {partitioner, baselineSkew: baseline, candidates, recommended: ranked[0]?.to ?? null}
}

/** Default candidates when none are given: the multiples of the current count keep the most keys. */
export function defaultCandidates(partitionCount: number): number[] {
  return [2, 3, 4].map((m) => partitionCount * m)
}

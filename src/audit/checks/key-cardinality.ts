import type {AuditCheck} from '../types.js'

import {keyId} from '../../kafka/key-analysis.js'
import {displayKey, percent, ratio, THRESHOLDS} from '../figures.js'

/** Hot keys and too few keys: load that more partitions cannot spread. */
export const keyCardinalityCheck: AuditCheck = {
  id: 'key-cardinality',
  run({input, weights}) {
    const perKey = new Map<string, {key: Uint8Array; weight: number; records: number}>()
    let keyedWeight = 0
    for (const r of input.records) {
      if (r.key === null) continue
      const w = weights.get(r.partition) ?? 0
      keyedWeight += w
      const id = keyId(r.key)
      const entry = perKey.get(id)
      if (entry) {
        entry.weight += w
        entry.records++
      } else perKey.set(id, {key: r.key, weight: w, records: 1})
    }
    const keyedRecords = input.records.filter((r) => r.key !== null).length
    const heaviest = [...perKey.values()]
      .sort((a, b) => b.weight - a.weight || b.records - a.records)
      .slice(0, THRESHOLDS.heaviestKeys)
      .map((k) => ({key: displayKey(k.key), records: k.records, share: ratio(k.weight, keyedWeight)}))
    const distinct = perKey.size
    const allDistinct = distinct === keyedRecords
    const details = {distinctKeys: distinct, keyedRecords, allDistinct, heaviest}
    const base = {id: 'key-cardinality' as const, title: 'Key cardinality and hot keys', details}
    if (keyedRecords === 0) return {...base, verdict: 'warn', why: 'no keyed records sampled'}
    const top = heaviest[0]!
    const fairShare = 1 / input.partitionCount
    const cardinality = allDistinct
      ? `every one of ${distinct} sampled keys is distinct`
      : `${distinct} distinct keys in ${keyedRecords} keyed records`
    if (top.share >= fairShare && distinct > 1) {
      return {
        ...base,
        verdict: 'warn',
        why: `hot key "${top.key}" carries ${percent(top.share)} of keyed records (a partition's fair share is ${percent(fairShare)}): more partitions cannot spread one key`,
      }
    }
    if (distinct < input.partitionCount && !allDistinct) {
      return {
        ...base,
        verdict: 'warn',
        why: `only ${distinct} distinct keys for ${input.partitionCount} partitions: some partitions get no keyed records`,
      }
    }
    return {...base, verdict: 'pass', why: `${cardinality}; the heaviest carries ${percent(top.share)}`}
  },
}

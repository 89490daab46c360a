import type {AuditCheck} from '../types.js'

import {percent, ratio, THRESHOLDS} from '../figures.js'

/** Records without a key have no per-key order to keep, and land on any partition. */
export const nullKeysCheck: AuditCheck = {
  id: 'null-keys',
  run({input, weights}) {
    const perPartition = input.partitions.map((p) => {
      const sampled = input.records.filter((r) => r.partition === p.partition)
      const nullKeys = sampled.filter((r) => r.key === null).length
      return {partition: p.partition, sampled: sampled.length, nullKeys, share: ratio(nullKeys, sampled.length)}
    })
    let total = 0
    let nulls = 0
    for (const r of input.records) {
      const w = weights.get(r.partition) ?? 0
      total += w
      if (r.key === null) nulls += w
    }
    const share = ratio(nulls, total)
    const nullRecords = perPartition.reduce((s, p) => s + p.nullKeys, 0)
    const details = {share, records: nullRecords, perPartition}
    const base = {id: 'null-keys' as const, title: 'Records without a key', details}
    if (input.records.length === 0) return {...base, verdict: 'warn', why: 'no records sampled'}
    if (nullRecords === 0) return {...base, verdict: 'pass', why: 'every sampled record has a key'}
    if (nullRecords === input.records.length) {
      return {
        ...base,
        verdict: 'warn',
        why: 'no record has a key: records are spread without per-key order, so a grow reorders nothing that was ordered',
      }
    }
    const where = perPartition.filter((p) => p.nullKeys > 0)
    const worstShown = [...where].sort((a, b) => b.share - a.share).slice(0, 4)
    const why =
      `${percent(share)} of records have no key (${nullRecords} sampled; ` +
      `${worstShown.map((p) => `p${p.partition} ${percent(p.share)}`).join(', ')}${where.length > worstShown.length ? ', …' : ''}): ` +
      'they have no per-key order and land on any partition'
    return {...base, verdict: share >= THRESHOLDS.nullKeyFailShare ? 'fail' : 'warn', why}
  },
}

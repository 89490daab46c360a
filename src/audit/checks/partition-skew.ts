import type {AuditCheck} from '../types.js'

import {listPartitions, maxOverMean, ratio, THRESHOLDS} from '../figures.js'

/** Today's load per partition (retained records, bytes estimated from the sample). */
export const partitionSkewCheck: AuditCheck = {
  id: 'partition-skew',
  run({input}) {
    const avgBytes = new Map<number, number>()
    for (const p of input.partitions) {
      const sampled = input.records.filter((r) => r.partition === p.partition)
      avgBytes.set(
        p.partition,
        ratio(
          sampled.reduce((s, r) => s + r.valueBytes + (r.key?.length ?? 0), 0),
          sampled.length,
        ),
      )
    }
    const perPartition = input.partitions.map((p) => {
      const records = p.high - p.low
      return {partition: p.partition, records, bytes: Math.round(records * (avgBytes.get(p.partition) ?? 0))}
    })
    const recordSkew = maxOverMean(perPartition.map((p) => p.records))
    const byteSkew = maxOverMean(perPartition.map((p) => p.bytes))
    const meanRecords = ratio(
      perPartition.reduce((s, p) => s + p.records, 0),
      perPartition.length,
    )
    const meanBytes = ratio(
      perPartition.reduce((s, p) => s + p.bytes, 0),
      perPartition.length,
    )
    const hot = perPartition
      .filter((p) => p.records > meanRecords * THRESHOLDS.skew || p.bytes > meanBytes * THRESHOLDS.skew)
      .map((p) => p.partition)
    const details = {records: recordSkew, bytes: byteSkew, hotPartitions: hot, perPartition}
    const base = {id: 'partition-skew' as const, title: 'Partition skew', details}
    const figures = `max/mean ${recordSkew.toFixed(2)} by records, ${byteSkew.toFixed(2)} by bytes`
    if (meanRecords === 0) return {...base, verdict: 'pass', why: 'no records retained'}
    if (Math.max(recordSkew, byteSkew) > THRESHOLDS.skew) {
      return {...base, verdict: 'warn', why: `${figures}: hot partitions ${listPartitions(hot)}`}
    }
    return {...base, verdict: 'pass', why: `${figures} (retained records; bytes estimated from the sample)`}
  },
}

import type {AuditCheck} from '../types.js'

import {listPartitions, percent, ratio} from '../figures.js'

/** Non-idempotent producers can reorder a partition on their own, grow or not. */
export const idempotenceCheck: AuditCheck = {
  id: 'idempotence',
  run({input, weights}) {
    const plain = input.records.filter((r) => r.producerId < 0)
    const producerIds = [...new Set(input.records.filter((r) => r.producerId >= 0).map((r) => r.producerId))].sort((a, b) => a - b)
    const transactional = input.records.filter((r) => r.inTransaction).length
    let total = 0
    let plainWeight = 0
    for (const r of input.records) {
      const w = weights.get(r.partition) ?? 0
      total += w
      if (r.producerId < 0) plainWeight += w
    }
    const partitions = [...new Set(plain.map((r) => r.partition))].sort((a, b) => a - b)
    const details = {
      nonIdempotentRecords: plain.length,
      nonIdempotentShare: ratio(plainWeight, total),
      nonIdempotentPartitions: partitions,
      producerIds,
      transactionalRecords: transactional,
    }
    const base = {id: 'idempotence' as const, title: 'Idempotent producers', details}
    if (input.records.length === 0) return {...base, verdict: 'warn', why: 'no records sampled'}
    const risk = 'a retried batch can land behind a later one and reorder a partition (enable.idempotence=true, kafkajs idempotent: true)'
    if (plain.length === 0) {
      return {
        ...base,
        verdict: 'pass',
        why: `every record batch carries a producer id (${producerIds.length} idempotent producer${producerIds.length === 1 ? '' : 's'}${transactional > 0 ? `, ${transactional} transactional records` : ''})`,
      }
    }
    if (plain.length === input.records.length)
      return {...base, verdict: 'fail', why: `no record batch carries a producer id: producers are not idempotent; ${risk}`}
    return {
      ...base,
      verdict: 'fail',
      why: `${percent(details.nonIdempotentShare)} of records come from non-idempotent producers (partitions ${listPartitions(partitions)}); ${risk}`,
    }
  },
}

import type {AuditCheck} from '../types.js'

import {listPartitions} from '../figures.js'

/** Whether the sample is there and whole: every other figure is only as good as it. */
export const sampleCheck: AuditCheck = {
  id: 'sample',
  run({input}) {
    const {records, partitions} = input
    const incomplete = partitions.filter((p) => !p.complete).map((p) => p.partition)
    const empty = partitions.filter((p) => p.high - p.low === 0).length
    const details = {
      records: records.length,
      perPartition: input.perPartition,
      partitions: partitions.length,
      emptyPartitions: empty,
      incompletePartitions: incomplete,
    }
    if (records.length === 0) {
      return {
        id: 'sample',
        title: 'Sample',
        verdict: 'warn',
        why: 'the topic holds no records: nothing to judge keys, partitioner or producers by',
        details,
      }
    }
    if (!input.sampleComplete) {
      return {
        id: 'sample',
        title: 'Sample',
        verdict: 'warn',
        why: `${records.length} records read, but partitions ${listPartitions(incomplete)} were not finished in time: figures cover what was read`,
        details,
      }
    }
    return {
      id: 'sample',
      title: 'Sample',
      verdict: 'pass',
      why: `${records.length} records, the last ≤${input.perPartition} of each of ${partitions.length} partitions${empty > 0 ? ` (${empty} empty)` : ''}`,
      details,
    }
  },
}

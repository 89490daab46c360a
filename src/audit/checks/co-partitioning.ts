import type {CoPartitionCandidate} from '../../kafka/co-partition.js'
import type {AuditCheck} from '../types.js'

import {coPartitionWarning} from '../../kafka/co-partition.js'

/** Other topics with the same partition count read by the same groups: join inputs that must grow together. */
export const coPartitioningCheck: AuditCheck = {
  id: 'co-partitioning',
  run({input}) {
    const read = input.coPartitioned ?? []
    if (!Array.isArray(read)) {
      const {error} = read as {error: string}
      return {
        id: 'co-partitioning',
        title: 'Co-partitioned topics',
        details: {candidates: [], error},
        verdict: 'warn',
        why: `could not check which topics share ${input.topic}'s groups and partition count: ${error}`,
      }
    }
    const candidates = read as readonly CoPartitionCandidate[]
    const base = {id: 'co-partitioning' as const, title: 'Co-partitioned topics', details: {candidates}}
    if (candidates.length === 0) {
      return {
        ...base,
        verdict: 'pass',
        why: `no other topic with ${input.partitionCount} partitions is read by a group that reads ${input.topic}`,
      }
    }
    return {...base, verdict: 'warn', why: candidates.map((c) => coPartitionWarning(input.topic, c)).join('; ')}
  },
}

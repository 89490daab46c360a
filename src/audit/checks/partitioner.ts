import type {AuditCheck, Check} from '../types.js'

import {PARTITIONER_LABELS, type PartitionerName} from '../../kafka/partitioners.js'
import {percent, THRESHOLDS} from '../figures.js'

/** Which partitioner wrote the keys: a grow moves keys only predictably under a known, single one. */
export const partitionerCheck: AuditCheck = {
  id: 'partitioner',
  run({match}): Check {
    const details = {...match}
    const base = {id: 'partitioner' as const, title: 'Partitioner', details}
    const shares = `murmur2 ${percent(match.murmur2.share)}, CRC32 ${percent(match.crc32.share)}, neither ${percent(match.neither.share)}`
    switch (match.detected) {
      case 'none': {
        return {...base, verdict: 'warn', why: 'no keyed records to tell the partitioner by'}
      }
      case 'inconclusive': {
        return {
          ...base,
          verdict: 'warn',
          why: 'one partition: every partitioner agrees, so which one producers use shows only after a grow',
        }
      }
      case 'mixed': {
        const [first, second] = match.partitioners as [PartitionerName, PartitionerName]
        return {
          ...base,
          verdict: 'fail',
          why: `two partitioners write this topic (${match.partitioners.map((p) => `${p} ${percent(match[p].share)}`).join(', ')}): a key written by both lands in two partitions and is reordered even without a grow (${PARTITIONER_LABELS[first]} vs ${PARTITIONER_LABELS[second]})`,
        }
      }
      case 'unknown': {
        return {
          ...base,
          verdict: 'warn',
          why: `no known partitioner explains where keyed records sit (${shares}): a custom partitioner or explicit partitions; key movement cannot be predicted`,
        }
      }
      default: {
        const name = match.detected
        const unexplained =
          match.unexplained.share > THRESHOLDS.unexplainedShare
            ? `; ${percent(match.unexplained.share)} of keyed records sit where it would not put them (explicit partitions or written before an earlier partition change)`
            : ''
        if (name === 'murmur2') {
          return {
            ...base,
            verdict: unexplained ? 'warn' : 'pass',
            why: `${percent(match.murmur2.share)} of keyed records match murmur2 (Java client, kafkajs default)${unexplained}`,
          }
        }
        return {
          ...base,
          verdict: 'warn',
          why: `keyed records follow ${PARTITIONER_LABELS[name]} (${percent(match[name].share)}), not the Java client's murmur2: a Java or kafkajs producer added later would put the same keys elsewhere${unexplained}`,
        }
      }
    }
  },
}

/**
 * Where an agent's partitioner puts a keyed record, by the names agents report (protocol 1.1 B). The
 * suite predicts partitions independently of the agent, so a wrong canary or a record on the wrong
 * partition is caught, not echoed back.
 */
import {keyBytes} from '../../src/kafka/murmur2.js'
import {partitionWith} from '../../src/kafka/partitioners.js'

export const KNOWN_PARTITIONERS = [
  'murmur2',
  'murmur2_random',
  'consistent',
  'consistent_random',
  'fnv1a',
  'fnv1a_random',
  'legacy',
  'custom',
] as const

/** librdkafka's rd_fnv1a: FNV-1a 32 bit on a signed int32, made non-negative (Sarama's), INT32_MIN kept as 2^31. */
export function fnv1a(data: Uint8Array): number {
  // The FNV offset basis 0x811c9dc5 as the signed 32-bit int librdkafka hashes in.
  let h = -0x7e_e3_62_3b
  for (const byte of data) h = Math.imul(h ^ byte, 0x01_00_01_93)
  return h < 0 ? (h === -0x80_00_00_00 ? 0x80_00_00_00 : -h) : h
}

/** The partition `partitioner` picks for `key` among `count` partitions; undefined for a partitioner nobody can predict. */
export function expectedPartition(partitioner: string, key: string, count: number): number | undefined {
  const bytes = keyBytes(key)
  switch (partitioner) {
    case 'murmur2':
    case 'murmur2_random': {
      return partitionWith('murmur2', bytes, count) ?? undefined
    }
    case 'consistent':
    case 'consistent_random': {
      return partitionWith('crc32', bytes, count) ?? undefined
    }
    case 'legacy': {
      return partitionWith('legacy', bytes, count) ?? undefined
    }
    case 'fnv1a':
    case 'fnv1a_random': {
      return fnv1a(bytes) % count
    }
    default: {
      return undefined
    }
  }
}

/**
 * Keys whose partition differs between `from` and `to` partitions, with at least half of them landing
 * on a partition >= `from` after the growth (the records a missing pin would misplace), plus keys that stay.
 */
export function keysAcrossGrowth(partitioner: string, from: number, to: number, moved: number, stay: number, prefix = 'key'): string[] {
  const movedKeys: string[] = []
  const stayKeys: string[] = []
  for (let i = 0; (movedKeys.length < moved || stayKeys.length < stay) && i < 100_000; i++) {
    const key = `${prefix}-${i}`
    const before = expectedPartition(partitioner, key, from)
    const after = expectedPartition(partitioner, key, to)
    if (before === undefined || after === undefined) throw new Error(`partitioner ${partitioner} cannot be predicted`)
    if (after >= from && movedKeys.length < moved) movedKeys.push(key)
    else if (after === before && stayKeys.length < stay) stayKeys.push(key)
  }
  return [...movedKeys, ...stayKeys]
}

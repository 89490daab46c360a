import {type KeyedRecord, keyId} from '../../src/kafka/key-analysis.js'
/**
 * keyMovement as it was before KeyHasher (git 2fec9dd, src/kafka/key-analysis.ts), kept only so
 * bench/key-analysis.ts can report before/after on the same machine in the same run. Not used by kreorg.
 */
import {gcd} from '../../src/kafka/murmur2.js'
import {positiveHashWith} from '../../src/kafka/partitioners.js'

export function keyMovementBefore(
  records: readonly KeyedRecord[],
  from: number,
  to: number,
): {sampledKeys: number; moved: number; movedRecords: number; uniformEstimate: number} {
  const perKey = new Map<string, {hash: number; records: number}>()
  for (const record of records) {
    if (record.key === null) continue
    const hash = positiveHashWith('murmur2', record.key)
    if (hash === null) continue
    const id = keyId(record.key)
    const entry = perKey.get(id)
    if (entry) entry.records++
    else perKey.set(id, {hash, records: 1})
  }
  const sources = Array.from({length: from}, (_, partition) => ({partition, keys: 0, moved: 0}))
  let moved = 0
  let movedRecords = 0
  for (const {hash, records: count} of perKey.values()) {
    const source = sources[hash % from]!
    source.keys++
    if (hash % from !== hash % to) {
      moved++
      movedRecords += count
      source.moved++
    }
  }
  return {sampledKeys: perKey.size, moved, movedRecords, uniformEstimate: gcd(from, to) / to}
}

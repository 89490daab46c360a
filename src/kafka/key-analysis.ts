/**
 * Pure figures over sampled records: which keys move when a topic grows, and which partitioner wrote
 * the records. No Kafka access here, so grow's plan, the audit and unit tests share one definition.
 */
import {checkCounts, KeyHasher, type KeyMovement, ratio} from './key-analysis-hasher.js'
import {PARTITIONER_NAMES, type PartitionerName, positiveHashWith} from './partitioners.js'

export {
  DEFAULT_MAX_TRACKED_KEYS,
  KeyHasher,
  type KeyHasherOptions,
  type KeyMovement,
  type SourcePartitionMovement,
} from './key-analysis-hasher.js'

/** The fields of a sampled record these figures need (a `SampledRecord` fits). */
export interface KeyedRecord {
  partition: number
  key: Uint8Array | null
}

/** A stable map key for key bytes (latin1 keeps every byte distinct and is cheap). */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
}

/**
 * Which sampled keys change partition going from `from` to `to` partitions with `partitioner`
 * (murmur2 unless the audit found another). Keys are compared by the partition their hash gives
 * with `from`, not the partition they were read from, so records written before an earlier grow
 * do not distort the figure.
 *
 * The records are hashed once per array and partitioner: asking again for another `to` over the same
 * records (the audit's candidate counts) reuses that pass.
 */
export function keyMovement(
  records: readonly KeyedRecord[],
  from: number,
  to: number,
  options: {partitioner?: PartitionerName} = {},
): KeyMovement {
  checkCounts(from, to)
  return hashedOnce(records, options.partitioner ?? 'murmur2').movement(from, to)
}

/** `keyMovement` for several target counts at once: one hash pass, one pass over the distinct keys. */
export function keyMovements(
  records: readonly KeyedRecord[],
  from: number,
  tos: readonly number[],
  options: {partitioner?: PartitionerName} = {},
): KeyMovement[] {
  for (const to of tos) checkCounts(from, to)
  return hashedOnce(records, options.partitioner ?? 'murmur2').movements(from, tos)
}

interface HashedRecords {
  hasher: KeyHasher
  /** What the array looked like when hashed: a changed array is hashed again. */
  length: number
  first: KeyedRecord | undefined
  last: KeyedRecord | undefined
}

const hashed = new WeakMap<readonly KeyedRecord[], Map<PartitionerName, HashedRecords>>()

function hashedOnce(records: readonly KeyedRecord[], partitioner: PartitionerName): KeyHasher {
  const byPartitioner = hashed.get(records) ?? new Map<PartitionerName, HashedRecords>()
  hashed.set(records, byPartitioner)
  const cached = byPartitioner.get(partitioner)
  if (cached && cached.length === records.length && cached.first === records[0] && cached.last === records.at(-1)) return cached.hasher
  const hasher = new KeyHasher({partitioner})
  for (const record of records) hasher.add(record.key)
  byPartitioner.set(partitioner, {hasher, length: records.length, first: records[0], last: records.at(-1)})
  return hasher
}

export type DetectedPartitioner = PartitionerName | 'mixed' | 'unknown' | 'inconclusive' | 'none'

export interface PartitionerShare {
  /** Keyed records whose partition equals this partitioner's choice. */
  records: number
  share: number
}

export interface PartitionerMatch {
  partitionCount: number
  keyedRecords: number
  nullKeyRecords: number
  murmur2: PartitionerShare
  crc32: PartitionerShare
  legacy: PartitionerShare
  /** Keyed records no known partitioner explains (custom partitioner, explicit partition numbers). */
  neither: PartitionerShare
  /**
   * `none`: no keyed records; `inconclusive`: one partition (every partitioner agrees); `mixed`: two
   * partitioners each explain records the other cannot; `unknown`: no partitioner explains the records
   * better than chance.
   */
  detected: DetectedPartitioner
  /** For `mixed`: the partitioners found, most records first. */
  partitioners: PartitionerName[]
  /** Keyed records the detected partitioner(s) do not explain. */
  unexplained: PartitionerShare
}

/**
 * Which partitioner wrote the keyed records, from where they sit. Every record matches each
 * partitioner by chance with probability 1/n, so a partitioner counts as present only when it
 * explains records the dominant one does not, clearly more often than chance.
 */
export function partitionerMatch(records: readonly KeyedRecord[], partitionCount: number): PartitionerMatch {
  if (!Number.isInteger(partitionCount) || partitionCount < 1) throw new RangeError(`bad partition count ${partitionCount}`)
  const keyed = records.filter((r): r is KeyedRecord & {key: Uint8Array} => r.key !== null)
  const matches = keyed.map((record) => {
    const set = new Set<PartitionerName>()
    for (const name of PARTITIONER_NAMES) {
      const hash = positiveHashWith(name, record.key)
      if (hash !== null && hash % partitionCount === record.partition) set.add(name)
    }
    return set
  })
  const count = (name: PartitionerName) => matches.filter((m) => m.has(name)).length
  const share = (n: number): PartitionerShare => ({records: n, share: ratio(n, keyed.length)})
  const neither = matches.filter((m) => m.size === 0).length
  const base = {
    partitionCount,
    keyedRecords: keyed.length,
    nullKeyRecords: records.length - keyed.length,
    murmur2: share(count('murmur2')),
    crc32: share(count('crc32')),
    legacy: share(count('legacy')),
    neither: share(neither),
  }
  if (keyed.length === 0) return {...base, detected: 'none', partitioners: [], unexplained: share(0)}
  if (partitionCount === 1) return {...base, detected: 'inconclusive', partitioners: [], unexplained: share(0)}

  const chance = 1 / partitionCount
  // Greedy: take the partitioner explaining most of what is left, while it explains the rest
  // clearly better than chance (halfway between chance and always) and at least 3 records.
  const found: PartitionerName[] = []
  let remaining = matches
  while (remaining.length > 0) {
    const candidates = PARTITIONER_NAMES.filter((n) => !found.includes(n))
    if (candidates.length === 0) break
    const scored = candidates.map((name) => ({name, hits: remaining.filter((m) => m.has(name)).length}))
    scored.sort((a, b) => b.hits - a.hits || PARTITIONER_NAMES.indexOf(a.name) - PARTITIONER_NAMES.indexOf(b.name))
    const best = scored[0]!
    const threshold = chance + (1 - chance) / 2
    if (best.hits < 3 || best.hits / remaining.length < threshold) {
      // A first partitioner that explains most records but not all still wins when no other fits.
      if (found.length === 0 && best.hits / remaining.length > chance * 1.5 && best.hits >= 3) found.push(best.name)
      break
    }
    found.push(best.name)
    remaining = remaining.filter((m) => !m.has(best.name))
  }
  const unexplained = matches.filter((m) => !found.some((name) => m.has(name))).length
  const detected: DetectedPartitioner = found.length === 0 ? 'unknown' : found.length === 1 ? found[0]! : 'mixed'
  return {...base, detected, partitioners: found, unexplained: share(unexplained)}
}

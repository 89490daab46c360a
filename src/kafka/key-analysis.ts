/**
 * Pure figures over sampled records: which keys move when a topic grows, and which partitioner wrote
 * the records. No Kafka access here, so grow's plan, the audit and unit tests share one definition.
 */
import {gcd} from './murmur2.js'
import {PARTITIONER_NAMES, positiveHashWith, type PartitionerName} from './partitioners.js'

/** The fields of a sampled record these figures need (a `SampledRecord` fits). */
export interface KeyedRecord {
  partition: number
  key: Uint8Array | null
}

export interface SourcePartitionMovement {
  /** Partition the key maps to with `from` partitions. */
  partition: number
  /** Distinct sampled keys mapping to it. */
  keys: number
  /** Of those, keys that map elsewhere with `to` partitions. */
  moved: number
  /** moved / keys (0 when the partition has no sampled keys). */
  share: number
}

export interface KeyMovement {
  from: number
  to: number
  partitioner: PartitionerName
  /** Distinct non-null keys in the sample. */
  sampledKeys: number
  /** Distinct keys whose partition differs between `from` and `to`. */
  moved: number
  /** moved / sampledKeys (0 with no keys). */
  movedShare: number
  /** Share of keys that STAY under a uniform hash: gcd(from, to) / to (12→16 keeps 0.25). */
  uniformEstimate: number
  /** 1 − uniformEstimate: the moved share a uniform hash predicts, comparable with `movedShare`. */
  uniformMovedShare: number
  /** Keyed records (not keys) whose key moves: weights busy keys by their traffic in the sample. */
  keyedRecords: number
  movedRecords: number
  movedRecordShare: number
  perSourcePartition: SourcePartitionMovement[]
  nullKeyRecords: number
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
 */
export function keyMovement(
  records: readonly KeyedRecord[],
  from: number,
  to: number,
  options: {partitioner?: PartitionerName} = {},
): KeyMovement {
  checkCounts(from, to)
  const hasher = new KeyHasher(options)
  for (const record of records) hasher.add(record.key)
  return hasher.movement(from, to)
}

function checkCounts(from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < 1) {
    throw new RangeError(`partition counts must be positive integers (from=${from}, to=${to})`)
  }
}

/**
 * Hash-once, streaming form of `keyMovement`: add keys as they are read, then ask for any number of
 * `from → to` figures without hashing again (the audit compares several candidate counts). Distinct
 * keys are found by their bytes in an open-addressing table indexed by the partitioner hash that is
 * computed anyway, so a key costs its bytes plus ~24 bytes in typed arrays, not a string and an
 * object on the JS heap: 10M distinct keys fit in a few hundred MB instead of several GB.
 */
export class KeyHasher {
  readonly partitioner: PartitionerName
  /** Distinct non-null keys added so far. */
  size = 0
  keyedRecords = 0
  nullKeyRecords = 0
  private hashes = new Uint32Array(1024)
  private counts = new Float64Array(1024)
  /** Key i's bytes are arena[starts[i] .. starts[i + 1]). */
  private starts = new Float64Array(1025)
  private arena = new Uint8Array(16 * 1024)
  /** Slot → key index + 1 (0 = empty); at most half full. */
  private table = new Int32Array(2048)

  constructor(options: {partitioner?: PartitionerName} = {}) {
    this.partitioner = options.partitioner ?? 'murmur2'
  }

  /** Adds `records` records with this key (null: a record without a key). */
  add(key: Uint8Array | null, records = 1): void {
    if (key === null) {
      this.nullKeyRecords += records
      return
    }
    const hash = positiveHashWith(this.partitioner, key)
    // CRC32 with an empty key is random, so such a record has no key-bound partition to move.
    if (hash === null) {
      this.nullKeyRecords += records
      return
    }
    this.keyedRecords += records
    const mask = this.table.length - 1
    for (let slot = Math.imul(hash, 0x9e3779b1) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot]!
      if (entry === 0) {
        this.table[slot] = this.insert(key, hash, records) + 1
        if (this.size * 2 > this.table.length) this.rehash()
        return
      }
      if (this.hashes[entry - 1] === hash >>> 0 && this.sameKey(entry - 1, key)) {
        this.counts[entry - 1]! += records
        return
      }
    }
  }

  /** Same figures as `keyMovement` over the records added so far. */
  movement(from: number, to: number): KeyMovement {
    checkCounts(from, to)
    const sources = Array.from({length: from}, (_, partition) => ({partition, keys: 0, moved: 0}))
    let moved = 0
    let movedRecords = 0
    for (let i = 0; i < this.size; i++) {
      const hash = this.hashes[i]!
      const source = sources[hash % from]!
      source.keys++
      if (hash % from !== hash % to) {
        moved++
        movedRecords += this.counts[i]!
        source.moved++
      }
    }
    const stay = gcd(from, to) / to
    return {
      from,
      to,
      partitioner: this.partitioner,
      sampledKeys: this.size,
      moved,
      movedShare: ratio(moved, this.size),
      uniformEstimate: stay,
      uniformMovedShare: 1 - stay,
      keyedRecords: this.keyedRecords,
      movedRecords,
      movedRecordShare: ratio(movedRecords, this.keyedRecords),
      perSourcePartition: sources.map((s) => ({...s, share: ratio(s.moved, s.keys)})),
      nullKeyRecords: this.nullKeyRecords,
    }
  }

  private insert(key: Uint8Array, hash: number, records: number): number {
    const index = this.size++
    if (index >= this.hashes.length) {
      this.hashes = grow(this.hashes, this.hashes.length * 2)
      this.counts = grow(this.counts, this.counts.length * 2)
      this.starts = grow(this.starts, this.starts.length * 2 - 1)
    }
    const start = this.starts[index]!
    const end = start + key.length
    if (end > this.arena.length) this.arena = grow(this.arena, Math.max(end, this.arena.length * 2))
    this.arena.set(key, start)
    this.starts[index + 1] = end
    this.hashes[index] = hash
    this.counts[index] = records
    return index
  }

  private sameKey(index: number, key: Uint8Array): boolean {
    const start = this.starts[index]!
    if (this.starts[index + 1]! - start !== key.length) return false
    for (let i = 0; i < key.length; i++) if (this.arena[start + i] !== key[i]) return false
    return true
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2)
    const mask = table.length - 1
    for (let i = 0; i < this.size; i++) {
      let slot = Math.imul(this.hashes[i]!, 0x9e3779b1) & mask
      while (table[slot] !== 0) slot = (slot + 1) & mask
      table[slot] = i + 1
    }
    this.table = table
  }
}

function grow<T extends Uint8Array | Uint32Array | Float64Array>(array: T, length: number): T {
  const next = new (array.constructor as new (n: number) => T)(length)
  next.set(array)
  return next
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

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b
}

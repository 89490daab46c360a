/**
 * KeyHasher: the one hash pass behind every key-movement figure. Each key is hashed once as it is
 * read; any number of `from → to` questions are then answered from the table without hashing again.
 *
 * Distinct keys are told apart by a 63/64-bit fingerprint, not by their bytes: the partitioner hash
 * (needed anyway) plus an independent 32-bit second hash. Two different keys count as one with
 * probability about n²/2⁶⁴ (≈ 5·10⁻⁶ for 10M keys). A slot is 16 bytes whatever the key's size, and
 * the table holds at most `maxTrackedKeys` (262,144 by default: 8 MiB, small enough to stay in
 * cache). Past that it keeps a uniform sample of the distinct keys — those whose second hash falls
 * below a threshold that halves whenever the table fills (distinct sampling) — and scales the counts
 * by the inverse of the kept fraction; a key outside the sample costs only its second hash. Because
 * the second hash is independent of the partitioner's, the sample is unbiased for every partition
 * question; `estimated` in the figures says when it applies.
 */
import {gcd, murmur2} from './murmur2.js'
import {type PartitionerName, positiveHashWith} from './partitioners.js'

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
  /**
   * Present only when there were more distinct keys than the table tracks: key counts and
   * movedRecords are then scaled up from a uniform sample of `trackedKeys` keys (`fraction` of them).
   */
  estimated?: {trackedKeys: number; fraction: number}
}

export interface KeyHasherOptions {
  partitioner?: PartitionerName
  /**
   * Distinct keys counted exactly before sampling starts (rounded up to a power of two). Past it, the
   * sample holds between half and all of this many keys: a moved share is then off by about
   * √(p(1−p)/keys), ±0.1% at the default.
   */
  maxTrackedKeys?: number
}

export const DEFAULT_MAX_TRACKED_KEYS = 1 << 18

/** Slot layout in one Int32Array (one cache line per probe): partitioner hash, second hash, records + 1 (0 = empty), spare. */
const STRIDE = 4

export function checkCounts(from: number, to: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < 1) {
    throw new RangeError(`partition counts must be positive integers (from=${from}, to=${to})`)
  }
}

export class KeyHasher {
  readonly partitioner: PartitionerName
  keyedRecords = 0
  nullKeyRecords = 0
  private tracked = 0
  private slots: Int32Array
  private mask: number
  private readonly maxSlots: number
  /** Keys are kept when their second hash (unsigned) is below this: 2³² keeps all, halved per level. */
  private threshold = 2 ** 32
  private level = 0
  /** Once the table is full: the other table of the same size, reused for every level change. */
  private spare: Int32Array | undefined

  constructor(options: KeyHasherOptions = {}) {
    this.partitioner = options.partitioner ?? 'murmur2'
    const maxKeys = Math.max(16, options.maxTrackedKeys ?? DEFAULT_MAX_TRACKED_KEYS)
    // Load factor ≤ 1/2: twice the keys in slots.
    this.maxSlots = 2 ** Math.ceil(Math.log2(maxKeys * 2))
    const initial = Math.min(1024, this.maxSlots)
    this.slots = new Int32Array(initial * STRIDE)
    this.mask = initial - 1
  }

  /** Distinct non-null keys added so far (an estimate once sampling started). */
  get size(): number {
    return this.tracked * 2 ** this.level
  }

  /** Whether figures are scaled up from a sample of the distinct keys. */
  get sampling(): boolean {
    return this.level > 0
  }

  /** Adds `records` records with this key (null: a record without a key). */
  add(key: Uint8Array | null, records = 1): void {
    if (key === null) {
      this.nullKeyRecords += records
      return
    }
    // CRC32 with an empty key is random, so such a record has no key-bound partition to move.
    if (key.length === 0 && this.partitioner === 'crc32') {
      this.nullKeyRecords += records
      return
    }
    this.keyedRecords += records
    // The sample is decided by the second hash alone: a key left out is never hashed for its partition.
    const second = secondHash(key)
    if (second >>> 0 >= this.threshold) return
    const hash = this.partitioner === 'murmur2' ? murmur2(key) & 0x7f_ff_ff_ff : positiveHashWith(this.partitioner, key)!
    this.insert(hash | 0, second, records)
  }

  private insert(hash: number, second: number, records: number): void {
    const slots = this.slots
    const mask = this.mask
    for (let slot = Math.imul(hash ^ second, 0x9e_37_79_b1) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * STRIDE
      const stored = slots[at + 2]!
      if (stored === 0) {
        slots[at] = hash
        slots[at + 1] = second
        slots[at + 2] = records + 1
        if (++this.tracked * 2 > mask + 1) this.makeRoom()
        return
      }
      if (slots[at] === hash && slots[at + 1] === second) {
        slots[at + 2] = stored + records
        return
      }
    }
  }

  /** Doubles the table while it may grow; at the cap, keeps the half of the keys with the lower second hash. */
  private makeRoom(): void {
    const slots = (this.mask + 1) * 2 <= this.maxSlots ? (this.mask + 1) * 2 : this.mask + 1
    if (slots === this.mask + 1) {
      do {
        this.level++
        this.threshold /= 2
        this.tracked = this.rebuild(slots, this.threshold, true)
      } while (this.tracked * 4 > slots)
      return
    }
    this.rebuild(slots, this.threshold, false)
  }

  /** Re-inserts the keys below `threshold` into a table of `slotCount` slots; returns how many stayed. */
  private rebuild(slotCount: number, threshold: number, count: boolean): number {
    const old = this.slots
    // At the cap the table keeps its size: swap with the spare instead of allocating 2 × 8 MiB each time.
    const reuse = slotCount * STRIDE === old.length
    const slots = reuse ? (this.spare ?? new Int32Array(old.length)) : new Int32Array(slotCount * STRIDE)
    if (reuse) slots.fill(0)
    const mask = slotCount - 1
    let kept = 0
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at + 2] === 0 || old[at + 1]! >>> 0 >= threshold) continue
      let slot = Math.imul(old[at]! ^ old[at + 1]!, 0x9e_37_79_b1) & mask
      while (slots[slot * STRIDE + 2] !== 0) slot = (slot + 1) & mask
      const to = slot * STRIDE
      slots[to] = old[at]!
      slots[to + 1] = old[at + 1]!
      slots[to + 2] = old[at + 2]!
      kept++
    }
    if (reuse) this.spare = old
    this.slots = slots
    this.mask = mask
    return count ? kept : this.tracked
  }

  /** Same figures as `keyMovement` over the records added so far. */
  movement(from: number, to: number): KeyMovement {
    return this.movements(from, [to])[0]!
  }

  /** The figures for every `to` in one pass over the table (the keys were hashed once, when added). */
  movements(from: number, tos: readonly number[]): KeyMovement[] {
    for (const to of tos) checkCounts(from, to)
    checkCounts(from, from)
    const n = tos.length
    const keys = new Float64Array(from)
    const moved = new Float64Array(from * n)
    const movedRecords = new Float64Array(n)
    const slots = this.slots
    for (let at = 0; at < slots.length; at += STRIDE) {
      const stored = slots[at + 2]!
      if (stored === 0) continue
      const hash = slots[at]! >>> 0
      const source = hash % from
      keys[source]!++
      for (let c = 0; c < n; c++) {
        if (source !== hash % tos[c]!) {
          moved[c * from + source]!++
          movedRecords[c]! += stored - 1
        }
      }
    }
    const scale = 2 ** this.level
    const sampledKeys = this.tracked * scale
    return tos.map((to, c) => {
      let movedKeys = 0
      const perSourcePartition = Array.from({length: from}, (_, partition): SourcePartitionMovement => {
        const k = keys[partition]! * scale
        const m = moved[c * from + partition]! * scale
        movedKeys += m
        return {partition, keys: k, moved: m, share: ratio(m, k)}
      })
      const stay = gcd(from, to) / to
      const records = Math.min(this.keyedRecords, movedRecords[c]! * scale)
      return {
        from,
        to,
        partitioner: this.partitioner,
        sampledKeys,
        moved: movedKeys,
        movedShare: ratio(movedKeys, sampledKeys),
        uniformEstimate: stay,
        uniformMovedShare: 1 - stay,
        keyedRecords: this.keyedRecords,
        movedRecords: records,
        movedRecordShare: ratio(records, this.keyedRecords),
        perSourcePartition,
        nullKeyRecords: this.nullKeyRecords,
        ...(this.level > 0 ? {estimated: {trackedKeys: this.tracked, fraction: 1 / scale}} : {}),
      }
    })
  }
}

export function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b
}

/**
 * The second hash: murmur3-style (its own constants, rotations and finalizer) over the 4-byte words,
 * so murmur2's seed-independent collisions do not carry over to it, and independent of the partition.
 */
export function secondHash(data: Uint8Array): number {
  const length = data.length
  let g = 0x2f_0b_3c_5d ^ length
  const words = length >>> 2
  for (let i = 0; i < words; i++) {
    const i4 = i << 2
    let k = Math.imul(data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24), 0xcc_9e_2d_51)
    k = (k << 15) | (k >>> 17)
    g ^= Math.imul(k, 0x1b_87_35_93)
    g = (g << 13) | (g >>> 19)
    g = (Math.imul(g, 5) + 0xe6_54_6b_64) | 0
  }
  const tail = words << 2
  let t = 0
  switch (length & 3) {
    case 3: {
      t ^= data[tail + 2]! << 16
    }
    // falls through
    case 2: {
      t ^= data[tail + 1]! << 8
    }
    // falls through
    case 1: {
      t ^= data[tail]!
      t = Math.imul(t, 0xcc_9e_2d_51)
      t = (t << 15) | (t >>> 17)
      g ^= Math.imul(t, 0x1b_87_35_93)
    }
  }
  g ^= g >>> 16
  g = Math.imul(g, 0x85_eb_ca_6b)
  g ^= g >>> 13
  g = Math.imul(g, 0xc2_b2_ae_35)
  g ^= g >>> 16
  return g
}

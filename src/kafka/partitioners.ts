/**
 * The partitioners whose fingerprints the audit looks for in sampled records. Pure functions: they
 * take key bytes and a partition count and return the partition a keyed record would land in.
 *
 * - `murmur2`: the Java client's default (and kafkajs's DefaultPartitioner, librdkafka's
 *   `murmur2_random`): toPositive(murmur2(key)) % n.
 * - `crc32`: librdkafka's default `consistent_random` (and kcat's): crc32(key) % n; an empty or null
 *   key goes to a random partition, so it says nothing about the partitioner.
 * - `legacy`: kafkajs's LegacyPartitioner (1.x default), a murmur2 port that uses float
 *   multiplication, so its hashes differ from Java's for most keys.
 */
import {crc32 as zlibCrc32} from 'node:zlib'

import {murmur2, toPositive} from './murmur2.js'

export type PartitionerName = 'murmur2' | 'crc32' | 'legacy'

export const PARTITIONER_NAMES: readonly PartitionerName[] = ['murmur2', 'crc32', 'legacy']

export const PARTITIONER_LABELS: Record<PartitionerName, string> = {
  murmur2: 'murmur2 (Java client, kafkajs DefaultPartitioner)',
  crc32: 'CRC32 (librdkafka consistent_random, kcat)',
  legacy: 'kafkajs LegacyPartitioner',
}

/** Unsigned CRC-32 (IEEE, the one librdkafka uses). node:zlib has it since Node 20.15; a table otherwise. */
export const crc32: (data: Uint8Array) => number = typeof zlibCrc32 === 'function' ? (data) => zlibCrc32(data) >>> 0 : tableCrc32

let table: Uint32Array | undefined

export function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xed_b8_83_20 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  let crc = 0xff_ff_ff_ff
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xff_ff_ff_ff) >>> 0
}

const SEED = 0x97_47_b2_8c
const M = 0x5b_d1_e9_95
const R = 24

/**
 * kafkajs's legacy murmur2, reproduced operation for operation: it multiplies with `*` (float
 * arithmetic, losing low bits above 2^53) where Java uses 32-bit multiplication, and its loop runs
 * `length / 4` times as a float bound. The result is what `toPositive(x) = x & 0x7fffffff` sees.
 */
export function legacyMurmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const length4 = length / 4
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    // Out-of-range reads are `undefined & 0xff === 0`, exactly as in kafkajs (it reads past the end too).
    let k =
      (byte(data, i4) & 0xff) +
      ((byte(data, i4 + 1) & 0xff) << 8) +
      ((byte(data, i4 + 2) & 0xff) << 16) +
      ((byte(data, i4 + 3) & 0xff) << 24)
    k *= M
    k ^= k >>> R
    k *= M
    h *= M
    h ^= k
  }
  const tail = length & ~3
  switch (length % 4) {
    case 3: {
      h ^= (byte(data, tail + 2) & 0xff) << 16
    }
    // falls through
    case 2: {
      h ^= (byte(data, tail + 1) & 0xff) << 8
    }
    // falls through
    case 1: {
      h ^= byte(data, tail) & 0xff
      h *= M
    }
  }
  h ^= h >>> 13
  h *= M
  h ^= h >>> 15
  return h
}

function byte(data: Uint8Array, index: number): number {
  return index < data.length ? data[index]! : 0
}

/**
 * The partition `name` assigns to `key` with `numPartitions`, or null when that partitioner does not
 * decide by key (CRC32 with an empty key picks a random partition).
 */
export function partitionWith(name: PartitionerName, key: Uint8Array, numPartitions: number): number | null {
  switch (name) {
    case 'murmur2': {
      return toPositive(murmur2(key)) % numPartitions
    }
    case 'crc32': {
      return key.length === 0 ? null : crc32(key) % numPartitions
    }
    case 'legacy': {
      return toPositive(legacyMurmur2(key)) % numPartitions
    }
  }
}

/** The hash a partitioner reduces modulo the partition count (non-negative), or null when it ignores the key. */
export function positiveHashWith(name: PartitionerName, key: Uint8Array): number | null {
  switch (name) {
    case 'murmur2': {
      return toPositive(murmur2(key))
    }
    case 'crc32': {
      return key.length === 0 ? null : crc32(key)
    }
    case 'legacy': {
      return toPositive(legacyMurmur2(key))
    }
  }
}

/**
 * librdkafka's `fnv1a` partitioner hash (rdfnv1a.c): 32-bit FNV-1a, then the absolute value as a
 * signed int, to match Sarama's NewHashPartitioner.
 */
export function fnv1a32(data: Uint8Array): number {
  let h = 0x81_1c_9d_c5 | 0
  for (const byte of data) {
    h ^= byte
    h = Math.imul(h, 0x01_00_01_93)
  }
  if (h < 0) h = -h | 0
  return h >>> 0
}

/**
 * The partition a producer's partitioner, named as agents report it in heartbeats and acks, picks
 * for a keyed record. Null when kreorg cannot predict it (`custom`, an unknown name, or a
 * partitioner that ignores an empty key).
 */
export function predictPartition(partitioner: string, key: Uint8Array, numPartitions: number): number | null {
  switch (partitioner) {
    case 'murmur2':
    case 'murmur2_random': {
      return partitionWith('murmur2', key, numPartitions)
    }
    case 'consistent':
    case 'consistent_random':
    case 'crc32': {
      return partitionWith('crc32', key, numPartitions)
    }
    case 'fnv1a':
    case 'fnv1a_random': {
      return key.length === 0 && partitioner === 'fnv1a_random' ? null : fnv1a32(key) % numPartitions
    }
    case 'legacy': {
      return partitionWith('legacy', key, numPartitions)
    }
    default: {
      return null
    }
  }
}

/** Partitioner names `predictPartition` understands. */
export const PREDICTABLE_PARTITIONERS: readonly string[] = [
  'murmur2',
  'murmur2_random',
  'consistent',
  'consistent_random',
  'crc32',
  'fnv1a',
  'fnv1a_random',
  'legacy',
]

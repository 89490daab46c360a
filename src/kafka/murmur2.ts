/**
 * The Java client's default partitioner for keyed records, bit for bit:
 * `Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions`. kafkajs's DefaultPartitioner uses the
 * same function; test/integration/murmur2-java.test.ts checks it against `Utils.murmur2` from the jars.
 */
const SEED = 0x97_47_b2_8c
const M = 0x5b_d1_e9_95
const R = 24

export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = SEED ^ length
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2
    let k = (data[i4]! & 0xff) | ((data[i4 + 1]! & 0xff) << 8) | ((data[i4 + 2]! & 0xff) << 16) | ((data[i4 + 3]! & 0xff) << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M)
    h ^= k
  }
  const tail = length4 << 2
  switch (length % 4) {
    case 3: {
      h ^= (data[tail + 2]! & 0xff) << 16
    }
    // falls through
    case 2: {
      h ^= (data[tail + 1]! & 0xff) << 8
    }
    // falls through
    case 1: {
      h ^= data[tail]! & 0xff
      h = Math.imul(h, M)
    }
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

export function toPositive(n: number): number {
  return n & 0x7f_ff_ff_ff
}

const encoder = new TextEncoder()

export function keyBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === 'string' ? encoder.encode(key) : key
}

/** The partition a keyed record lands in with the Java/kafkajs default partitioner. */
export function partitionForKey(key: string | Uint8Array, numPartitions: number): number {
  return toPositive(murmur2(keyBytes(key))) % numPartitions
}

/** Partition from an already computed positive hash: lets callers hash a key once and test many counts. */
export function partitionForHash(positiveHash: number, numPartitions: number): number {
  return positiveHash % numPartitions
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/** Share of uniformly hashed keys that keep their partition when going from `from` to `to` partitions. */
export function uniformStayShare(from: number, to: number): number {
  return gcd(from, to) / to
}

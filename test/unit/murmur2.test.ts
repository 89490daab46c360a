import {describe, expect, test} from 'vitest'

import {gcd, keyBytes, murmur2, partitionForHash, partitionForKey, toPositive, uniformStayShare} from '../../src/kafka/murmur2.js'

/** The vectors of Kafka's own UtilsTest.testMurmur2 (checked against Utils.murmur2 from the 4.3.1 jars). */
const JAVA_VECTORS: Array<[string, number]> = [
  ['21', -973_932_308],
  ['foobar', -790_332_482],
  ['a-little-bit-long-string', -985_981_536],
  ['a-little-bit-longer-string', -1_486_304_829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58_897_971],
  ['abc', 479_470_107],
]

describe('murmur2', () => {
  test.each(JAVA_VECTORS)('murmur2(%j) = %i, as Utils.murmur2', (key, expected) => {
    expect(murmur2(keyBytes(key))).toBe(expected)
  })

  test('the empty key hashes like Java (275646681) and lands where the Java producer puts it', () => {
    expect(murmur2(new Uint8Array(0))).toBe(275_646_681)
    expect(partitionForKey('', 12)).toBe(9)
  })

  test('partitions are toPositive(hash) % n, never negative, for negative hashes too', () => {
    // "foobar" hashes negative: a port that used Math.abs or a signed % would disagree here.
    const hash = murmur2(keyBytes('foobar'))
    expect(hash).toBeLessThan(0)
    expect(toPositive(hash)).toBe(hash & 0x7f_ff_ff_ff)
    for (const n of [1, 3, 7, 12, 16, 100]) {
      expect(partitionForKey('foobar', n)).toBe((hash & 0x7f_ff_ff_ff) % n)
      expect(partitionForHash(toPositive(hash), n)).toBe(partitionForKey('foobar', n))
    }
  })

  test('strings hash as their UTF-8 bytes', () => {
    for (const key of ['ключ', '顧客-7', '🚀', 'naïve']) {
      expect(partitionForKey(key, 1000)).toBe(partitionForKey(new TextEncoder().encode(key), 1000))
    }
  })

  test('share of keys that stay put is gcd(N, M) / M', () => {
    expect(gcd(12, 16)).toBe(4)
    expect(uniformStayShare(12, 16)).toBe(0.25)
    expect(uniformStayShare(12, 24)).toBe(0.5)
    // And murmur2 is uniform enough for that to hold on real keys.
    const keys = Array.from({length: 20_000}, (_, i) => `user-${i}`)
    const stay = keys.filter((k) => partitionForKey(k, 12) === partitionForKey(k, 16)).length / keys.length
    expect(stay).toBeGreaterThan(0.23)
    expect(stay).toBeLessThan(0.27)
  })
})

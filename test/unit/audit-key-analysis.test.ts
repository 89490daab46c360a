import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {Partitioners} from '../../src/kafka/client.js'
import {type KeyedRecord, keyMovement, partitionerMatch} from '../../src/kafka/key-analysis.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'
import {crc32, legacyMurmur2, partitionWith, tableCrc32} from '../../src/kafka/partitioners.js'

const bytes = (s: string) => Buffer.from(s)

/** kafkajs's own partitioner, called the way its producer calls it. */
function kafkajsPartition(kind: 'DefaultPartitioner' | 'LegacyPartitioner', key: Buffer, n: number): number {
  const partitioner = Partitioners[kind]()
  return partitioner({
    topic: 't',
    partitionMetadata: Array.from({length: n}, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    })),
    message: {key, value: null},
  })
}

describe('CRC32', () => {
  it('matches the standard check value and the table implementation', () => {
    expect(crc32(bytes('123456789'))).toBe(0xcb_f4_39_26)
    expect(tableCrc32(bytes('123456789'))).toBe(0xcb_f4_39_26)
    expect(crc32(new Uint8Array())).toBe(0)
    for (let i = 0; i < 200; i++) {
      const data = randomBytes(i)
      expect(tableCrc32(data)).toBe(crc32(data))
    }
  })

  it('CRC32 partitioning ignores empty keys (librdkafka picks a random partition)', () => {
    expect(partitionWith('crc32', new Uint8Array(), 8)).toBeNull()
    expect(partitionWith('crc32', bytes('123456789'), 10)).toBe(0xcb_f4_39_26 % 10)
  })
})

describe('murmur2 and legacy partitioners agree with kafkajs', () => {
  it('murmur2 is kafkajs DefaultPartitioner; legacy is kafkajs LegacyPartitioner, and they differ', () => {
    let differ = 0
    for (let i = 0; i < 500; i++) {
      const key = i % 2 ? randomBytes(1 + (i % 37)) : bytes(`order-${i}`)
      for (const n of [3, 12, 16, 24]) {
        expect(partitionWith('murmur2', key, n)).toBe(kafkajsPartition('DefaultPartitioner', key, n))
        expect(partitionWith('legacy', key, n)).toBe(kafkajsPartition('LegacyPartitioner', key, n))
        if (partitionWith('legacy', key, n) !== partitionWith('murmur2', key, n)) differ++
      }
    }
    expect(differ).toBeGreaterThan(1000)
    expect(Number.isFinite(legacyMurmur2(bytes('abcde')))).toBe(true)
  })
})

function recordsWith(keys: string[], n: number, partitioner: 'murmur2' | 'crc32' | 'legacy'): KeyedRecord[] {
  return keys.map((k) => ({key: bytes(k), partition: partitionWith(partitioner, bytes(k), n)!}))
}
const keys = (count: number, prefix = 'key') => Array.from({length: count}, (_, i) => `${prefix}-${i}`)

describe('keyMovement', () => {
  it('counts distinct keys that change partition, per source partition', () => {
    const records = [...recordsWith(keys(2000), 12, 'murmur2'), ...recordsWith(keys(50), 12, 'murmur2'), {key: null, partition: 3}]
    const movement = keyMovement(records, 12, 24)
    expect(movement.sampledKeys).toBe(2000)
    expect(movement.nullKeyRecords).toBe(1)
    expect(movement.keyedRecords).toBe(2050)
    const expectedMoved = keys(2000).filter((k) => partitionForKey(k, 12) !== partitionForKey(k, 24)).length
    expect(movement.moved).toBe(expectedMoved)
    expect(movement.movedShare).toBeCloseTo(expectedMoved / 2000, 10)
    // 12 → 24 keeps gcd/to = 50% under a uniform hash; a real sample is close to it.
    expect(movement.uniformEstimate).toBe(0.5)
    expect(movement.uniformMovedShare).toBe(0.5)
    expect(Math.abs(movement.movedShare - 0.5)).toBeLessThan(0.05)
    expect(movement.perSourcePartition).toHaveLength(12)
    expect(movement.perSourcePartition.reduce((s, p) => s + p.keys, 0)).toBe(2000)
    expect(movement.perSourcePartition.reduce((s, p) => s + p.moved, 0)).toBe(expectedMoved)
    const p0 = movement.perSourcePartition[0]!
    expect(p0.share).toBeCloseTo(p0.moved / p0.keys, 10)
  })

  it('12 → 16 keeps about a quarter; growing to a multiple keeps more than a non-multiple', () => {
    const records = recordsWith(keys(4000), 12, 'murmur2')
    const to16 = keyMovement(records, 12, 16)
    expect(to16.uniformEstimate).toBe(0.25)
    expect(Math.abs(to16.movedShare - 0.75)).toBeLessThan(0.04)
    expect(keyMovement(records, 12, 24).moved).toBeLessThan(to16.moved)
    expect(keyMovement(records, 12, 12).moved).toBe(0)
  })

  it('uses the partitioner it is given', () => {
    const records = recordsWith(keys(500), 8, 'crc32')
    const crc = keyMovement(records, 8, 16, {partitioner: 'crc32'})
    const expected = keys(500).filter((k) => crc32(bytes(k)) % 8 !== crc32(bytes(k)) % 16).length
    expect(crc.moved).toBe(expected)
    expect(crc.partitioner).toBe('crc32')
  })

  it('rejects nonsense counts', () => {
    expect(() => keyMovement([], 0, 4)).toThrow(RangeError)
    expect(() => keyMovement([], 4, 2.5)).toThrow(RangeError)
  })
})

describe('partitionerMatch', () => {
  it('recognises murmur2, CRC32 and legacy writers', () => {
    for (const partitioner of ['murmur2', 'crc32', 'legacy'] as const) {
      const result = partitionerMatch(recordsWith(keys(300), 12, partitioner), 12)
      expect(result.detected).toBe(partitioner)
      expect(result[partitioner].share).toBe(1)
      expect(result.unexplained.records).toBe(0)
    }
  })

  it('murmur2 shares and neither add up over records matching by chance', () => {
    const result = partitionerMatch(recordsWith(keys(1000), 16, 'murmur2'), 16)
    expect(result.murmur2.records).toBe(1000)
    // CRC32 agrees with murmur2 by chance for about 1 in 16 keys.
    expect(result.crc32.share).toBeGreaterThan(0.03)
    expect(result.crc32.share).toBeLessThan(0.1)
    expect(result.neither.records).toBe(0)
  })

  it('mixed: murmur2 and CRC32 writers on one topic', () => {
    const records = [...recordsWith(keys(700, 'a'), 12, 'murmur2'), ...recordsWith(keys(300, 'b'), 12, 'crc32')]
    const result = partitionerMatch(records, 12)
    expect(result.detected).toBe('mixed')
    expect(result.partitioners).toEqual(['murmur2', 'crc32'])
    expect(result.unexplained.records).toBe(0)
  })

  it('records at explicit random partitions are unexplained, not a second partitioner', () => {
    let seed = 7
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 12
    const records = [...recordsWith(keys(800), 12, 'murmur2'), ...keys(200, 'r').map((k) => ({key: bytes(k), partition: random()}))]
    const result = partitionerMatch(records, 12)
    expect(result.detected).toBe('murmur2')
    // About 11/12 of the 200 random records match nothing known (1/12 agree with murmur2 by chance).
    expect(result.unexplained.share).toBeGreaterThan(0.12)
    expect(result.unexplained.share).toBeLessThan(0.22)
  })

  it('only random partitions: unknown; no keys: none; one partition: inconclusive', () => {
    let seed = 11
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % 12
    expect(
      partitionerMatch(
        keys(500).map((k) => ({key: bytes(k), partition: random()})),
        12,
      ).detected,
    ).toBe('unknown')
    expect(partitionerMatch([{key: null, partition: 0}], 12).detected).toBe('none')
    expect(partitionerMatch(recordsWith(keys(10), 1, 'crc32'), 1).detected).toBe('inconclusive')
  })
})

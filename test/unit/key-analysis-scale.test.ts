import {describe, expect, it} from 'vitest'

import {type KeyedRecord, KeyHasher, keyMovement, keyMovements} from '../../src/kafka/key-analysis.js'
import {murmur2, toPositive} from '../../src/kafka/murmur2.js'

function exactShare(keys: number, from: number, to: number): number {
  let moved = 0
  for (let i = 0; i < keys; i++) {
    const h = toPositive(murmur2(Buffer.from(`key-${i}`)))
    if (h % from !== h % to) moved++
  }
  return moved / keys
}

describe('key analysis at scale', () => {
  it('hashes each record once for all candidate counts (keyMovement over the same array, and keyMovements)', () => {
    let reads = 0
    const records: KeyedRecord[] = Array.from({length: 3000}, (_, i) => {
      const key = Buffer.from(`user-${i % 1000}`)
      return Object.defineProperty({partition: 0} as KeyedRecord, 'key', {
        get() {
          reads++
          return key
        },
      })
    })
    const one = [16, 24, 48].map((to) => keyMovement(records, 12, to))
    expect(reads).toBe(records.length)
    const all = keyMovements(records, 12, [16, 24, 48])
    expect(reads).toBe(records.length)
    expect(all).toEqual(one)
    expect(all.map((m) => m.sampledKeys)).toEqual([1000, 1000, 1000])
    // 12 → 24 keeps every key whose hash mod 24 is below 12: about half move, fewer than 12 → 16.
    expect(all[1]!.moved).toBeLessThan(all[0]!.moved)
    expect(all[0]!.estimated).toBeUndefined()
  })

  it('a changed array is hashed again', () => {
    const records: KeyedRecord[] = [{partition: 0, key: Buffer.from('a')}]
    expect(keyMovement(records, 1, 2).sampledKeys).toBe(1)
    records.push({partition: 0, key: Buffer.from('b')})
    expect(keyMovement(records, 1, 2).sampledKeys).toBe(2)
  })

  it('past maxTrackedKeys the table stays bounded and the figures are unbiased estimates', () => {
    const keys = 200_000
    const hasher = new KeyHasher({maxTrackedKeys: 4096})
    let records = 0
    for (let i = 0; i < keys; i++) {
      hasher.add(Buffer.from(`key-${i}`), 1 + (i % 3))
      records += 1 + (i % 3)
    }
    expect(hasher.sampling).toBe(true)
    const [m16, m24] = hasher.movements(12, [16, 24])
    expect(m16!.estimated!.trackedKeys).toBeLessThanOrEqual(4096)
    expect(m16!.estimated!.trackedKeys).toBeGreaterThan(1024)
    expect(m16!.keyedRecords).toBe(records)
    // Estimates: distinct keys within 10%, moved shares within 3 points of the exact figures.
    expect(Math.abs(m16!.sampledKeys - keys) / keys).toBeLessThan(0.1)
    expect(Math.abs(m16!.movedShare - exactShare(keys, 12, 16))).toBeLessThan(0.03)
    expect(Math.abs(m24!.movedShare - exactShare(keys, 12, 24))).toBeLessThan(0.03)
    expect(Math.abs(m16!.movedRecordShare - m16!.movedShare)).toBeLessThan(0.05)
    const perSource = m16!.perSourcePartition.reduce((s, p) => s + p.keys, 0)
    expect(perSource).toBe(m16!.sampledKeys)
  })

  it('counts repeated keys once when sampling, whatever their order', () => {
    const hasher = new KeyHasher({maxTrackedKeys: 1024})
    for (let round = 0; round < 3; round++) for (let i = 0; i < 20_000; i++) hasher.add(Buffer.from(`k${(i * 7919) % 20_000}`))
    expect(hasher.keyedRecords).toBe(60_000)
    expect(Math.abs(hasher.size - 20_000) / 20_000).toBeLessThan(0.15)
  })

  it('stays exact below the cap, with crc32 too (empty keys have no partition)', () => {
    const records: KeyedRecord[] = [Buffer.from('x'), Buffer.from('y'), new Uint8Array(), Buffer.from('x')].map((key) => ({
      partition: 0,
      key,
    }))
    const m = keyMovement(records, 3, 4, {partitioner: 'crc32'})
    expect(m.sampledKeys).toBe(2)
    expect(m.keyedRecords).toBe(3)
    expect(m.nullKeyRecords).toBe(1)
    expect(m.estimated).toBeUndefined()
  })
})

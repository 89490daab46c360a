import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'

import {type KeyedRecord, KeyHasher, keyMovement} from '../../src/kafka/key-analysis.js'
import {murmur2, toPositive} from '../../src/kafka/murmur2.js'

/** The definition keyMovement had before KeyHasher: a Map from key string to (hash, records). */
function reference(records: KeyedRecord[], from: number, to: number) {
  const perKey = new Map<string, {hash: number; records: number}>()
  for (const r of records) {
    if (r.key === null) continue
    const id = Buffer.from(r.key).toString('latin1')
    const hash = toPositive(murmur2(r.key))
    const e = perKey.get(id)
    if (e) e.records++
    else perKey.set(id, {hash, records: 1})
  }
  let moved = 0
  let movedRecords = 0
  const perSource = new Array<number>(from).fill(0)
  for (const {hash, records: n} of perKey.values()) {
    perSource[hash % from]!++
    if (hash % from !== hash % to) {
      moved++
      movedRecords += n
    }
  }
  return {sampledKeys: perKey.size, moved, movedRecords, perSource}
}

describe('KeyHasher', () => {
  it('gives the same figures as the per-key map, with duplicates, empty and binary keys, past several rehashes', () => {
    const distinct = [
      new Uint8Array(),
      ...Array.from({length: 5000}, (_, i) => (i % 3 ? Buffer.from(`order-${i}`) : randomBytes(1 + (i % 40)))),
    ]
    const records: KeyedRecord[] = []
    for (let i = 0; i < 20_000; i++) records.push({partition: 0, key: i % 97 === 0 ? null : distinct[(i * 7919) % distinct.length]!})
    for (const [from, to] of [
      [12, 16],
      [6, 12],
      [5, 7],
    ] as const) {
      const expected = reference(records, from, to)
      const got = keyMovement(records, from, to)
      expect(got.sampledKeys).toBe(expected.sampledKeys)
      expect(got.moved).toBe(expected.moved)
      expect(got.movedRecords).toBe(expected.movedRecords)
      expect(got.perSourcePartition.map((p) => p.keys)).toEqual(expected.perSource)
      expect(got.nullKeyRecords).toBe(records.filter((r) => r.key === null).length)
    }
  })

  it('hashes once and answers many target counts; record weights add up', () => {
    const hasher = new KeyHasher()
    hasher.add(Buffer.from('a'), 3)
    hasher.add(Buffer.from('a'))
    hasher.add(Buffer.from('b'))
    hasher.add(null, 2)
    expect(hasher.size).toBe(2)
    expect(hasher.keyedRecords).toBe(5)
    expect(hasher.nullKeyRecords).toBe(2)
    for (const to of [2, 3, 16, 24]) {
      const m = hasher.movement(1, to)
      const movedA = toPositive(murmur2(Buffer.from('a'))) % to !== 0
      const movedB = toPositive(murmur2(Buffer.from('b'))) % to !== 0
      expect(m.moved).toBe(Number(movedA) + Number(movedB))
      expect(m.movedRecords).toBe((movedA ? 4 : 0) + (movedB ? 1 : 0))
    }
    expect(() => hasher.movement(0, 4)).toThrow(RangeError)
  })
})

import {describe, expect, it} from 'vitest'

import type {GrowSummary} from '../../src/steps/grow/results.js'

import {keyBytes} from '../../src/kafka/murmur2.js'
import {predictPartition} from '../../src/kafka/partitioners.js'
import {checkPlacement, partitionersByProducer} from '../../src/steps/grow/mapping.js'
import {renderGrowSummary} from '../../src/ui/step-views.js'

/**
 * post-check with producers of different partitioners on one topic (issue 15): each record is judged
 * by its own writer's partitioner, found through its batch's producer id, so a CRC32 producer's keys
 * are predicted with CRC32 and a murmur2 producer's with murmur2. Judging every record by "any of the
 * agents' partitioners" let a producer that put keys where another agent's partitioner would pass.
 */

const TO = 16
const murmur = (key: string) => predictPartition('murmur2', keyBytes(key), TO)!
const crc = (key: string) => predictPartition('consistent_random', keyBytes(key), TO)!
/** Keys murmur2 and CRC32 put in different partitions among 16. */
const telling = Array.from({length: 50}, (_, i) => `key-${i}`).filter((key) => murmur(key) !== crc(key))

const MURMUR_PID = 7
const CRC_PID = 8
const reported = {'java-1': 'murmur2', 'python-1': 'consistent_random'}
const byProducer = partitionersByProducer(reported, [
  {agentId: 'java-1', producerId: MURMUR_PID},
  {agentId: 'python-1', producerId: CRC_PID},
])
const record = (key: string, partition: number, producerId: number, offset = 0) => ({key: keyBytes(key), partition, offset, producerId})

describe('partitionersByProducer', () => {
  it('maps each agent producer id to the partitioner the agent reported', () => {
    expect([...byProducer]).toEqual([
      [MURMUR_PID, 'murmur2'],
      [CRC_PID, 'consistent_random'],
    ])
  })

  it('skips unknown ids (undefined, -1) and agents that reported nothing; drops an id two partitioners claim', () => {
    const map = partitionersByProducer({a: 'murmur2', b: 'consistent_random', c: 'murmur2'}, [
      {agentId: 'a', producerId: undefined},
      {agentId: 'b', producerId: -1},
      {agentId: 'z', producerId: 3},
      {agentId: 'a', producerId: 5},
      {agentId: 'c', producerId: 5},
      {agentId: 'a', producerId: 9},
      {agentId: 'b', producerId: 9},
    ])
    expect([...map]).toEqual([[5, 'murmur2']])
  })
})

describe('checkPlacement', () => {
  it('needs at least one key murmur2 and CRC32 place apart', () => {
    expect(telling.length).toBeGreaterThan(10)
  })

  it("accepts each producer's keys where its own partitioner puts them, and counts what it judged by which", () => {
    const records = telling.flatMap((key) => [record(key, crc(key), CRC_PID), record(key, murmur(key), MURMUR_PID)])
    expect(checkPlacement(records, TO, byProducer, ['murmur2', 'consistent_random'])).toEqual({
      misplaced: [],
      checkedBy: {consistent_random: telling.length, murmur2: telling.length},
    })
  })

  it("rejects a CRC32 producer's key at its murmur2 partition, though a murmur2 agent writes the topic too", () => {
    const key = telling[0]!
    const {misplaced} = checkPlacement([record(key, murmur(key), CRC_PID, 41)], TO, byProducer, ['murmur2', 'consistent_random'])
    expect(misplaced).toEqual([{partition: murmur(key), offset: 41, expected: 'consistent_random'}])
  })

  it("rejects a murmur2 producer's key at its CRC32 partition", () => {
    const key = telling[0]!
    const {misplaced} = checkPlacement([record(key, crc(key), MURMUR_PID, 42)], TO, byProducer, ['murmur2', 'consistent_random'])
    expect(misplaced).toEqual([{partition: crc(key), offset: 42, expected: 'murmur2'}])
  })

  it('judges a producer id no agent named by any agent partitioner (and murmur2 when none reported)', () => {
    const key = telling[0]!
    const stranger = [record(key, crc(key), 99), record(key, murmur(key), 99)]
    expect(checkPlacement(stranger, TO, byProducer, ['murmur2', 'consistent_random'])).toEqual({misplaced: [], checkedBy: {any: 2}})
    expect(checkPlacement(stranger, TO, new Map(), []).misplaced).toEqual([{partition: crc(key), offset: 0, expected: 'murmur2'}])
  })
})

describe('the summary line', () => {
  const summary = (checkedByPartitioner?: Record<string, number>): GrowSummary => ({
    topic: 'orders',
    from: 12,
    to: TO,
    pausedMs: 1000,
    primeMs: null,
    drainMs: null,
    addMs: null,
    checkedRecords: 30,
    misplacedRecords: 0,
    watchNext: [],
    declaredCounts: [],
    ...(checkedByPartitioner ? {checkedByPartitioner} : {}),
  })

  it('names the partitioners records were judged by', () => {
    expect(renderGrowSummary(summary({murmur2: 20, consistent_random: 10}))).toContain(
      "30 keyed records written after resume checked: all where their producers' partitioners put them among 16 partitions (murmur2: 20, consistent_random: 10).",
    )
    expect(renderGrowSummary(summary({consistent_random: 30}))).toContain(
      '30 keyed records written after resume checked: all where consistent_random % 16 puts them.',
    )
    // A checkpoint from before the counts were recorded.
    expect(renderGrowSummary(summary())).toContain('30 keyed records written after resume checked: all where murmur2 % 16 puts them.')
  })
})

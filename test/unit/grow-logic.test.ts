import {describe, expect, test} from 'vitest'

import {KreorgError} from '../../src/core/errors.js'
import {ReceivedLedger, SentLedger} from '../../src/demo/ledger.js'
import {keyBytes, partitionForKey} from '../../src/kafka/murmur2.js'
import {predictPartition} from '../../src/kafka/partitioners.js'
import {movedPartitions} from '../../src/steps/grow/drain.js'
import {canaryKeys, compareMapping} from '../../src/steps/grow/mapping.js'
import {newPartitionIds} from '../../src/steps/grow/partitions.js'
import {betterTargets, uniformMoveShare} from '../../src/steps/grow/plan.js'
import {parseReplicaAssignment} from '../../src/steps/grow/replica-assignment.js'

describe('key movement arithmetic', () => {
  test('share of keys that move is 1 - gcd(N, M) / M', () => {
    expect(uniformMoveShare(12, 16)).toBeCloseTo(0.75)
    expect(uniformMoveShare(12, 24)).toBeCloseTo(0.5)
    expect(uniformMoveShare(12, 13)).toBeCloseTo(12 / 13)
  })

  test('suggests nearby counts that move fewer keys, best first', () => {
    const better = betterTargets(12, 16)
    expect(better[0]).toEqual({to: 24, uniformMoveShare: 0.5})
    expect(better.every((b) => b.uniformMoveShare < uniformMoveShare(12, 16))).toBe(true)
    // A multiple of the current count is already as good as it gets below 2x.
    expect(betterTargets(12, 24)).toEqual([])
  })
})

test('movedPartitions names exactly the partitions whose end offset changed', () => {
  const before = [
    {partition: 0, low: 0, high: 10},
    {partition: 1, low: 0, high: 5},
    {partition: 2, low: 0, high: 7},
  ]
  const after = [
    {partition: 0, low: 0, high: 10},
    {partition: 1, low: 0, high: 8},
    {partition: 2, low: 0, high: 7},
  ]
  expect(movedPartitions(before, after)).toEqual([{partition: 1, appended: 3}])
  expect(movedPartitions(before, before)).toEqual([])
})

describe('verify-mapping comparison', () => {
  const keys = canaryKeys('run-1', 8)
  const right = Object.fromEntries(keys.map((k) => [k, partitionForKey(k, 16)]))

  test('canary keys are deterministic per run', () => {
    expect(canaryKeys('run-1', 8)).toEqual(keys)
    expect(canaryKeys('run-2', 8)).not.toEqual(keys)
  })

  test('an agent that maps with murmur2 % target passes', () => {
    expect(compareMapping([{agentId: 'a', state: 'refreshed', partitionCount: 16, canary: right}], keys, 16)).toEqual([])
  })

  test('a stale partition count or another partitioner is reported per agent', () => {
    const stale = Object.fromEntries(keys.map((k) => [k, partitionForKey(k, 12)]))
    const mismatches = compareMapping(
      [
        {agentId: 'old', state: 'refreshed', partitionCount: 12, canary: stale},
        {
          agentId: 'other',
          state: 'refreshed',
          partitionCount: 16,
          canary: {...right, [keys[0]!]: (right[keys[0]!]! + 1) % 16},
          partitioner: 'murmur2',
        },
        {agentId: 'custom', state: 'refreshed', partitionCount: 16, canary: right, partitioner: 'custom'},
      ],
      keys,
      16,
    )
    expect(mismatches.map((m) => m.agentId)).toEqual(['old', 'other', 'custom'])
    expect(mismatches[0]!.problem).toContain('sees 12 partitions')
    expect(mismatches[1]!.problem).toBe('1/8 canary keys map elsewhere than murmur2 % 16')
    expect(mismatches[2]!.problem).toContain('cannot predict')
  })

  test('each agent is judged by its own partitioner: a crc32 agent passes with crc32 canaries and fails with murmur2 ones', () => {
    const crc = Object.fromEntries(keys.map((k) => [k, predictPartition('consistent_random', keyBytes(k), 16)!]))
    expect(
      compareMapping([{agentId: 'rd', state: 'refreshed', partitionCount: 16, canary: crc, partitioner: 'consistent_random'}], keys, 16),
    ).toEqual([])
    const [mismatch] = compareMapping(
      [{agentId: 'rd', state: 'refreshed', partitionCount: 16, canary: right, partitioner: 'consistent_random'}],
      keys,
      16,
    )
    expect(mismatch?.problem).toMatch(/canary keys map elsewhere than consistent_random % 16/)
  })
})

describe('--replica-assignment file', () => {
  test('one line of broker ids per new partition, comments and blanks ignored', () => {
    expect(parseReplicaAssignment('# new partitions\n1,2,3\n\n2 3 1\n')).toEqual([
      [1, 2, 3],
      [2, 3, 1],
    ])
  })

  test('rejects junk and duplicates with the line number', () => {
    expect(() => parseReplicaAssignment('1,2\nfoo,1\n')).toThrow(/line 2/)
    expect(() => parseReplicaAssignment('1,1\n')).toThrow(/twice/)
    expect(() => parseReplicaAssignment('\n# only a comment\n')).toThrow(KreorgError)
  })
})

test('new partition ids run from the old count to target - 1', () => {
  expect(newPartitionIds(12, 16)).toEqual([12, 13, 14, 15])
})

describe('ordering ledger', () => {
  test('counts violations, duplicates and losses against what was sent', () => {
    const sent = new SentLedger()
    for (let i = 0; i < 3; i++) sent.next('a')
    sent.next('b')
    const received = new ReceivedLedger()
    received.record('a', 2)
    received.record('a', 1) // after a later one: a violation
    received.record('a', 2) // again: a duplicate
    const report = received.report(sent)
    expect(report).toMatchObject({consumed: 3, violations: 1, duplicated: 1, lost: 2, violatingKeys: ['a']})
  })

  test('unsend keeps sequences gapless after a failed send', () => {
    const sent = new SentLedger()
    sent.next('k')
    const seq = sent.next('k')
    sent.unsend('k', seq)
    expect(sent.next('k')).toBe(2)
    expect(sent.total).toBe(2)
  })
})

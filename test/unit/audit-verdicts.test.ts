import {describe, expect, it} from 'vitest'

import type {GroupLag} from '../../src/kafka/lag.js'
import type {PartitionSample, SampledRecord} from '../../src/kafka/sampler.js'

import {parseCandidates} from '../../src/audit/run.js'
import {type AuditInput, auditVerdicts, defaultCandidates, displayKey, percent, worst} from '../../src/audit/verdicts.js'
import {partitionWith} from '../../src/kafka/partitioners.js'

function record(partition: number, key: string | null, extra: Partial<SampledRecord> = {}): SampledRecord {
  return {
    partition,
    offset: 0,
    key: key === null ? null : Buffer.from(key),
    valueBytes: 10,
    timestamp: 0,
    producerId: 7,
    inTransaction: false,
    ...extra,
  }
}

/** Records placed by murmur2, as a Java producer would. */
function murmurRecords(keys: string[], n: number, extra: Partial<SampledRecord> = {}): SampledRecord[] {
  return keys.map((k) => record(partitionWith('murmur2', Buffer.from(k), n)!, k, extra))
}

/** Every partition fully sampled: retained = sampled, so weights are 1. */
function input(records: SampledRecord[], n: number, overrides: Partial<AuditInput> = {}): AuditInput {
  const partitions: PartitionSample[] = Array.from({length: n}, (_, partition) => {
    const count = records.filter((r) => r.partition === partition).length
    return {partition, low: 0, high: count, start: 0, stop: count, reached: count, records: count, complete: true}
  })
  return {
    topic: 't',
    partitionCount: n,
    partitions,
    records,
    perPartition: 1000,
    sampleComplete: true,
    groups: [],
    candidates: [2 * n],
    ...overrides,
  }
}

const keys = (count: number, prefix = 'k') => Array.from({length: count}, (_, i) => `${prefix}-${i}`)
const verdictOf = (report: ReturnType<typeof auditVerdicts>, id: string) => report.checks.find((c) => c.id === id)!

describe('null keys', () => {
  it('pass without null keys, warn below 1%, fail at 1% or more, warn when nothing is keyed', () => {
    const keyed = murmurRecords(keys(1000), 4)
    expect(verdictOf(auditVerdicts(input(keyed, 4)), 'null-keys').verdict).toBe('pass')
    expect(verdictOf(auditVerdicts(input([...keyed, record(0, null)], 4)), 'null-keys').verdict).toBe('warn')
    const tenPercent = auditVerdicts(input([...keyed.slice(0, 900), ...Array.from({length: 100}, (_, i) => record(i % 4, null))], 4))
    expect(verdictOf(tenPercent, 'null-keys')).toMatchObject({verdict: 'fail', details: {share: 0.1, records: 100}})
    expect(verdictOf(tenPercent, 'null-keys').why).toMatch(/^10% of records have no key/)
    expect(verdictOf(auditVerdicts(input([record(0, null), record(1, null)], 2)), 'null-keys').verdict).toBe('warn')
  })

  it('weights each partition by its retained records, not by how many were sampled', () => {
    // p0: 10 sampled of 10 000 retained, all without key; p1: 10 sampled of 10 retained, keyed.
    const records = [...Array.from({length: 10}, () => record(0, null)), ...Array.from({length: 10}, (_, i) => record(1, `k${i}`))]
    const partitions: PartitionSample[] = [
      {partition: 0, low: 0, high: 10_000, start: 9990, stop: 10_000, reached: 10_000, records: 10, complete: true},
      {partition: 1, low: 0, high: 10, start: 0, stop: 10, reached: 10, records: 10, complete: true},
    ]
    const report = auditVerdicts({...input(records, 2), partitions})
    expect(verdictOf(report, 'null-keys').details.share).toBeCloseTo(10_000 / 10_010, 10)
  })
})

describe('keys and skew', () => {
  it('a key carrying a partition fair share or more warns and is named', () => {
    const records = [...murmurRecords(keys(300), 4), ...murmurRecords(new Array(100).fill('hot'), 4)]
    const check = verdictOf(auditVerdicts(input(records, 4)), 'key-cardinality')
    expect(check.verdict).toBe('warn')
    expect(check.why).toContain('"hot"')
    expect((check.details.heaviest as Array<{share: number}>)[0]!.share).toBeCloseTo(0.25, 10)
  })

  it('many distinct keys pass', () => {
    const check = verdictOf(auditVerdicts(input(murmurRecords(keys(500), 4), 4)), 'key-cardinality')
    expect(check).toMatchObject({verdict: 'pass', details: {distinctKeys: 500, allDistinct: true}})
  })

  it('partition skew from retained records: warn above 1.5 and name the hot partitions', () => {
    const records = [record(0, 'a'), record(1, 'b'), record(2, 'c')]
    const partitions: PartitionSample[] = [0, 1, 2].map((partition) => ({
      partition,
      low: 0,
      high: partition === 2 ? 400 : 100,
      start: 0,
      stop: 0,
      reached: 0,
      records: 1,
      complete: true,
    }))
    const check = verdictOf(auditVerdicts({...input(records, 3), partitions}), 'partition-skew')
    // max 400 / mean 200 = 2
    expect(check).toMatchObject({verdict: 'warn', details: {records: 2, hotPartitions: [2]}})
  })
})

describe('partitioner', () => {
  it('murmur2 passes, CRC32 warns, mixed fails, explicit random partitions warn as unexplained', () => {
    expect(verdictOf(auditVerdicts(input(murmurRecords(keys(200), 6), 6)), 'partitioner').verdict).toBe('pass')
    const crc = keys(200).map((k) => record(partitionWith('crc32', Buffer.from(k), 6)!, k))
    expect(verdictOf(auditVerdicts(input(crc, 6)), 'partitioner').verdict).toBe('warn')
    const mixed = verdictOf(
      auditVerdicts(
        input(
          [...murmurRecords(keys(200, 'a'), 6), ...keys(100, 'b').map((k) => record(partitionWith('crc32', Buffer.from(k), 6)!, k))],
          6,
        ),
      ),
      'partitioner',
    )
    expect(mixed.verdict).toBe('fail')
    expect(mixed.why).toMatch(/two partitioners/)
    const explicit = [...murmurRecords(keys(200), 6), ...keys(40, 'x').map((k, i) => record(i % 6, k))]
    const check = verdictOf(auditVerdicts(input(explicit, 6)), 'partitioner')
    expect(check.verdict).toBe('warn')
    expect(check.why).toMatch(/sit where it would not put them/)
  })
})

describe('idempotence', () => {
  it('pass when every batch has a producer id; fail on any non-idempotent record', () => {
    const idempotent = murmurRecords(keys(50), 2, {producerId: 3})
    expect(verdictOf(auditVerdicts(input(idempotent, 2)), 'idempotence')).toMatchObject({verdict: 'pass', details: {producerIds: [3]}})
    const one = [...idempotent, record(1, 'p', {producerId: -1})]
    expect(verdictOf(auditVerdicts(input(one, 2)), 'idempotence')).toMatchObject({
      verdict: 'fail',
      details: {nonIdempotentRecords: 1, nonIdempotentPartitions: [1]},
    })
    const none = murmurRecords(keys(50), 2, {producerId: -1})
    expect(verdictOf(auditVerdicts(input(none, 2)), 'idempotence').why).toMatch(/^no record batch carries a producer id/)
  })
})

describe('consumer groups', () => {
  const group = (over: Partial<GroupLag>): GroupLag => ({
    groupId: 'g',
    state: 'Stable',
    protocol: 'classic',
    members: 1,
    assigned: [0, 1],
    partitions: [],
    total: 0,
    ...over,
  })
  const records = murmurRecords(keys(20), 2)

  it('an inactive group with lag fails; an active group missing partitions warns; idle members pass with a note', () => {
    const fail = verdictOf(
      auditVerdicts(input(records, 2, {groups: [group({groupId: 'old', state: 'Empty', members: 0, assigned: [], total: 42})]})),
      'consumer-groups',
    )
    expect(fail.verdict).toBe('fail')
    expect(fail.why).toContain('old has no members and 42 records of lag')
    const warn = verdictOf(auditVerdicts(input(records, 2, {groups: [group({assigned: [0]})]})), 'consumer-groups')
    expect(warn.verdict).toBe('warn')
    expect(warn.why).toContain('leaves partitions 1 unassigned')
    const idle = verdictOf(auditVerdicts(input(records, 2, {groups: [group({members: 5})]})), 'consumer-groups')
    expect(idle.verdict).toBe('pass')
    expect(idle.why).toContain('g has 5 members for 2 partitions')
    expect(
      verdictOf(auditVerdicts(input(records, 2, {groups: [group({members: 0, state: 'Empty', assigned: []})]})), 'consumer-groups').verdict,
    ).toBe('pass')
  })
})

describe('candidates', () => {
  it('recommends the fewest moved keys among acceptable skews', () => {
    const report = auditVerdicts(input(murmurRecords(keys(3000), 6), 6, {candidates: [8, 9, 12]}))
    expect(report.candidates.map((c) => c.to)).toEqual([8, 9, 12])
    expect(report.candidates.every((c) => c.acceptable)).toBe(true)
    expect(report.recommended).toBe(12)
    expect(verdictOf(report, 'key-movement').why).toMatch(/^recommend 12/)
  })

  it('a hot key raises skew at every count; what it forces anyway does not disqualify a count', () => {
    const records = [...murmurRecords(keys(2000), 4), ...murmurRecords(new Array(250).fill('hot'), 4)]
    const report = auditVerdicts(input(records, 4, {candidates: [6, 8, 12]}))
    const eight = report.candidates.find((c) => c.to === 8)!
    expect(eight.skew.records).toBeGreaterThan(1.5)
    expect(eight.unavoidableSkew.records).toBeGreaterThan(1.5)
    expect(eight.acceptable).toBe(true)
    expect(report.recommended).toBe(8)
  })

  it('a count whose hash lumps many light keys together is not acceptable', () => {
    // Keys chosen so that, with 8 partitions, all land in partition 0 while they spread evenly over 4.
    const lumped = keys(40_000)
      .filter((k) => partitionWith('murmur2', Buffer.from(k), 8) === 0)
      .slice(0, 400)
    const spread = keys(40_000, 'z')
      .filter((k) => partitionWith('murmur2', Buffer.from(k), 8) !== 0)
      .slice(0, 400)
    const report = auditVerdicts(input(murmurRecords([...lumped, ...spread], 4), 4, {candidates: [8]}))
    expect(report.candidates[0]!.acceptable).toBe(false)
    expect(report.recommended).toBeNull()
    expect(verdictOf(report, 'key-movement').verdict).toBe('warn')
  })

  it('with no keys sampled, ranks by the uniform estimate', () => {
    const report = auditVerdicts(input([], 4, {candidates: [6, 8]}))
    expect(report.candidates.map((c) => c.uniformMovedShare)).toEqual([1 - 2 / 6, 0.5])
    expect(report.recommended).toBe(8)
  })
})

describe('helpers', () => {
  it('parseCandidates splits, dedupes, sorts and rejects junk', () => {
    expect(parseCandidates(['16,24', '8', '24'])).toEqual([8, 16, 24])
    expect(parseCandidates(undefined)).toBeUndefined()
    expect(() => parseCandidates(['12,x'])).toThrow(/16,24,32/)
    expect(() => parseCandidates(['0'])).toThrow()
    expect(() => parseCandidates(['1.5'])).toThrow()
  })

  it('defaultCandidates, worst, percent, displayKey', () => {
    expect(defaultCandidates(12)).toEqual([24, 36, 48])
    expect(worst(['pass', 'warn', 'pass'])).toBe('warn')
    expect(worst([])).toBe('pass')
    expect(percent(0.25)).toBe('25%')
    expect(percent(0.0123)).toBe('1.2%')
    expect(displayKey(Buffer.from('order-1'))).toBe('order-1')
    expect(displayKey(Buffer.from([0, 1, 255]))).toBe('0x0001ff')
    expect(displayKey(Buffer.from('x'.repeat(60)))).toHaveLength(40)
  })

  it('the overall verdict is the worst check, counted', () => {
    const report = auditVerdicts(input(murmurRecords(keys(100), 2, {producerId: -1}), 2))
    expect(report.verdict).toBe('fail')
    expect(report.counts.fail).toBe(1)
  })
})

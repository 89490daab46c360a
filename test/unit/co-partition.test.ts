import {describe, expect, it} from 'vitest'

import type {SampledRecord} from '../../src/kafka/sampler.js'
import type {GrowPlan} from '../../src/steps/grow/plan.js'
import type {GrowSummary} from '../../src/steps/grow/results.js'

import {type AuditInput, auditVerdicts} from '../../src/audit/verdicts.js'
import {coPartitionCandidates, coPartitionWarning, readCoPartitionCandidates} from '../../src/kafka/co-partition.js'
import {partitionWith} from '../../src/kafka/partitioners.js'
import {nothingToDoSummary} from '../../src/steps/grow/at-target.js'
import {buildGrowPlan} from '../../src/steps/grow/plan.js'
import {renderGrowPlan} from '../../src/ui/plan-view.js'
import {renderGrowSummary} from '../../src/ui/step-views.js'
import {fakeGrow} from '../fakes/fake-grow.js'
import {FakeKafkaCluster} from '../fakes/fake-kafka-cluster.js'

// Issue 16, parts 2-4 without a broker: co-partition detection (a pure function and its reads on a
// fake cluster), the audit's co-partitioning and compaction checks, and how plan and summary show them.
// The same paths against a real broker: test/integration/co-partition.test.ts.

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries))

describe('coPartitionCandidates (pure)', () => {
  it('names other topics with the same count read by the same groups, with the groups that read both', () => {
    const found = coPartitionCandidates('orders', counts({orders: 12, payments: 12, refunds: 12, audit: 16, __consumer_offsets: 12}), [
      {groupId: 'join-app', topics: ['orders', 'payments', 'audit', '__consumer_offsets']},
      {groupId: 'billing', topics: ['payments', 'refunds']},
      {groupId: 'search', topics: ['orders']},
    ])
    expect(found).toEqual([
      {topic: 'payments', partitions: 12, groups: ['billing', 'join-app']},
      {topic: 'refunds', partitions: 12, groups: ['billing']},
    ])
  })

  it('nothing when no other topic has the count, when no group reads another topic, or when the topic is unknown', () => {
    expect(coPartitionCandidates('orders', counts({orders: 12, payments: 16}), [{groupId: 'g', topics: ['payments']}])).toEqual([])
    expect(coPartitionCandidates('orders', counts({orders: 12, payments: 12}), [{groupId: 'g', topics: ['orders']}])).toEqual([])
    expect(coPartitionCandidates('orders', counts({payments: 12}), [{groupId: 'g', topics: ['payments']}])).toEqual([])
    expect(coPartitionCandidates('orders', counts({orders: 12, payments: 12}), [])).toEqual([])
  })

  it('the warning names the topic, the groups, the target and what breaks', () => {
    const line = coPartitionWarning('orders', {topic: 'payments', partitions: 12, groups: ['join-app']}, 16)
    expect(line).toMatch(/payments also has 12 partitions and group join-app reads both it and orders/)
    expect(line).toMatch(/growing only orders to 16 breaks any join between them/)
    expect(line).toMatch(/grow payments to 16 in the same window/)
    expect(coPartitionWarning('orders', {topic: 'p', partitions: 4, groups: ['a', 'b']})).toMatch(/groups a, b read both/)
  })
})

describe('readCoPartitionCandidates (fake cluster)', () => {
  it('committed offsets or an assignment on the other topic count; other counts and unrelated groups do not', async () => {
    const cluster = new FakeKafkaCluster()
    cluster.addTopic('a', {partitions: 4, records: 5}).addTopic('b', {partitions: 4, records: 5})
    cluster.addTopic('c', {partitions: 4, records: 5}).addTopic('d', {partitions: 8, records: 5})
    cluster.setGroup('joiner').catchUp('joiner', 'a').catchUp('joiner', 'b').catchUp('joiner', 'd')
    cluster.setGroup('live', {members: [{assignment: {a: [0, 1, 2, 3], c: [0, 1, 2, 3]}}]}).catchUp('live', 'a')
    cluster.setGroup('other').catchUp('other', 'b')

    expect(await readCoPartitionCandidates(cluster, 'a', ['joiner', 'live'])).toEqual([
      {topic: 'b', partitions: 4, groups: ['joiner']},
      {topic: 'c', partitions: 4, groups: ['live']},
    ])
    // One OffsetFetch per group, asking only for the topics with the same count.
    expect(cluster.callsOf('committedTopics')).toEqual([
      ['joiner', ['b', 'c']],
      ['live', ['b', 'c']],
    ])
    expect(await readCoPartitionCandidates(cluster, 'a', [])).toEqual([])
    expect(await readCoPartitionCandidates(cluster, 'd', ['joiner'])).toEqual([])
  })

  it('a failed read is a plan warning, not a failed plan', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.addTopic('payments', {partitions: 4, records: 1}).catchUp(world.group, 'payments')
    const plan = await buildGrowPlan({
      cluster: world.cluster,
      inputs: world.inputs,
      agents: [],
      control: world.services.control,
      rateWindowMs: 0,
    })
    expect(plan.coPartitioned).toEqual([{topic: 'payments', partitions: 4, groups: [world.group]}])
    expect(plan.warnings).toContainEqual(
      expect.stringMatching(/^co-partitioning: payments also has 4 partitions and group billing reads both/),
    )

    world.cluster.faults.failNext('partitionCounts', new Error('metadata unavailable'))
    const degraded = await buildGrowPlan({
      cluster: world.cluster,
      inputs: world.inputs,
      agents: [],
      control: world.services.control,
      rateWindowMs: 0,
    })
    expect(degraded.coPartitioned).toEqual([])
    expect(degraded.warnings).toContain('could not check which topics are co-partitioned with orders: metadata unavailable')
  })
})

function auditInput(overrides: Partial<AuditInput>): AuditInput {
  const keys = Array.from({length: 200}, (_, i) => `k-${i}`)
  const records: SampledRecord[] = keys.map((k) => ({
    partition: partitionWith('murmur2', Buffer.from(k), 4)!,
    offset: 0,
    key: Buffer.from(k),
    valueBytes: 10,
    timestamp: 0,
    producerId: 7,
    inTransaction: false,
  }))
  return {
    topic: 'a',
    partitionCount: 4,
    partitions: Array.from({length: 4}, (_, partition) => {
      const n = records.filter((r) => r.partition === partition).length
      return {partition, low: 0, high: n, start: 0, stop: n, reached: n, records: n, complete: true}
    }),
    records,
    perPartition: 1000,
    sampleComplete: true,
    groups: [],
    candidates: [8, 12],
    ...overrides,
  }
}

describe('audit checks', () => {
  it('co-partitioning: pass without candidates, warn naming topic and groups with them', () => {
    const none = auditVerdicts(auditInput({})).checks.find((c) => c.id === 'co-partitioning')!
    expect(none).toMatchObject({verdict: 'pass', why: 'no other topic with 4 partitions is read by a group that reads a'})
    const report = auditVerdicts(auditInput({coPartitioned: [{topic: 'b', partitions: 4, groups: ['joiner']}]}))
    const check = report.checks.find((c) => c.id === 'co-partitioning')!
    expect(check.verdict).toBe('warn')
    expect(check.why).toMatch(/b also has 4 partitions and group joiner reads both it and a/)
    expect(check.details).toEqual({candidates: [{topic: 'b', partitions: 4, groups: ['joiner']}]})
    const unread = auditVerdicts(auditInput({coPartitioned: {error: 'GROUP_AUTHORIZATION_FAILED'}})).checks.find(
      (c) => c.id === 'co-partitioning',
    )!
    expect(unread).toMatchObject({
      verdict: 'warn',
      why: "could not check which topics share a's groups and partition count: GROUP_AUTHORIZATION_FAILED",
    })
  })

  it('compaction: pass on delete, fail on compact (and compact,delete) with the sampled keys each candidate moves', () => {
    expect(auditVerdicts(auditInput({})).checks.find((c) => c.id === 'compaction')).toMatchObject({
      verdict: 'pass',
      why: 'cleanup.policy=delete: not compacted',
    })
    for (const policy of ['compact', 'compact,delete', 'delete, compact']) {
      const report = auditVerdicts(auditInput({cleanupPolicy: policy}))
      const check = report.checks.find((c) => c.id === 'compaction')!
      const at8 = report.candidates.find((c) => c.to === 8)!
      expect(check.verdict).toBe('fail')
      expect(at8.movedKeys).toBeGreaterThan(0)
      expect(check.why).toContain(`kreorg grow refuses compacted topics`)
      expect(check.why).toContain(`${at8.movedKeys} of 200 sampled keys`)
      expect(check.why).toMatch(/would move at 8; \d+ of 200 sampled keys \(\d+%\) would move at 12/)
      expect(check.why).toMatch(/stale values come back and deletions are lost/)
      expect(check.details).toMatchObject({
        cleanupPolicy: policy,
        compacted: true,
        moved: [{to: 8, movedKeys: at8.movedKeys, sampledKeys: 200}, {to: 12}],
      })
    }
  })
})

describe('views', () => {
  it('the plan lists co-partitioned topics with the groups that read both', () => {
    const plan = {
      topic: 'a',
      from: 4,
      to: 8,
      keys: {sampledKeys: 0, moved: 0, movedShare: 0, uniformMovedShare: 0.5, perSourcePartition: [], nullKeyRecords: 0},
      groups: [],
      agents: [],
      writers: null,
      estimatedDrainMs: 0,
      coPartitioned: [{topic: 'b', partitions: 4, groups: ['joiner', 'other']}],
      alternatives: [],
      warnings: [],
      blockers: [],
    } as unknown as GrowPlan
    expect(renderGrowPlan(plan)).toContain(
      'Co-partitioned topics (4 partitions, read by the same groups; joins need equal counts):\n  b: read with a by joiner, other',
    )
    expect(renderGrowPlan({...plan, coPartitioned: undefined})).not.toContain('Co-partitioned')
  })

  it('the run summary puts the declared counts under their own heading, each with why a lower one is dangerous', () => {
    const summary: GrowSummary = {...nothingToDoSummary('orders', 16), from: 12, nothingToDo: false}
    const text = renderGrowSummary(summary).join('\n')
    expect(text).toMatch(
      /Declared partition counts must now say 16[^\n]*:\n {2}- Terraform: set partitions = 16[^\n]*destroy and recreate the topic/,
    )
    expect(text).toMatch(/Strimzi: set spec\.partitions: 16[^\n]*NotReady/)
    expect(text).toMatch(/topicctl: set partitions: 16[^\n]*apply fail/)
    // Each declared line once, not also under "Watch next".
    expect(text.match(/Terraform/g)).toHaveLength(1)
  })
})

import {describe, expect, it, test} from 'vitest'

import type {CurrentCommand} from '../../src/control/port.js'
import type {GroupDescription} from '../../src/kafka/types.js'
import type {Checkpoint} from '../../src/runbook/checkpoint.js'

import {EXIT_CODE_TABLE, ExitCode, KreorgError} from '../../src/core/errors.js'
import {keyBytes} from '../../src/kafka/murmur2.js'
import {fnv1a32, predictPartition} from '../../src/kafka/partitioners.js'
import {growAbortRefusal} from '../../src/steps/grow/abort-guard.js'
import {refuseWhileUnfinished} from '../../src/steps/grow/at-target.js'
import {MarkerFence} from '../../src/steps/grow/fence.js'
import {afterAlter, incomplete} from '../../src/steps/grow/incomplete.js'
import {agentFindings, groupFindings} from '../../src/steps/grow/plan-checks.js'
import {compactionRefusal} from '../../src/steps/grow/preflight.js'
import {judgeGroup} from '../../src/steps/grow/prime.js'
import {unfinishedGrowRun} from '../../src/steps/grow/unfinished.js'
import {classifyWriters, type WriterFacts} from '../../src/steps/grow/writers.js'
import {fakeGrow} from '../fakes/fake-grow.js'
import {FakeKafkaCluster} from '../fakes/fake-kafka-cluster.js'

const NOW = 1_800_000_000_000
const producer = (producerId: number, lastTimestamp = NOW - 1000, currentTxnStartOffset = -1) => ({
  producerId,
  producerEpoch: 0,
  lastSequence: 3,
  lastTimestamp,
  coordinatorEpoch: -1,
  currentTxnStartOffset,
})
const options = {lookbackMs: 600_000, ignoreProducers: [] as number[], allowNonIdempotent: false}

function facts(partial: Partial<WriterFacts>): WriterFacts {
  return {producers: [], agents: [], transactions: [], batches: {partitions: []}, now: NOW, ...partial}
}

describe('writer inventory classification', () => {
  test('producer ids owned by agents, kreorg markers and ignored ids are accounted for; the rest are unknown writers', () => {
    const inventory = classifyWriters(
      facts({
        producers: [
          {partition: 0, producers: [producer(10), producer(20)]},
          {partition: 1, producers: [producer(20, NOW - 5000), producer(30), producer(40)]},
        ],
        agents: [{agentId: 'a', alive: true, producerId: 10}],
        transactions: [{transactionalId: 'kreorg-marker-run-1', producerId: 30}],
      }),
      {...options, ignoreProducers: [40]},
    )
    expect(inventory.agentProducers).toEqual([{producerId: 10, agentId: 'a'}])
    expect(inventory.markerProducers).toEqual([30])
    expect(inventory.ignoredProducers).toEqual([40])
    expect(inventory.unknown).toEqual([{producerId: 20, partitions: [0, 1], lastWriteAt: NOW - 1000}])
    expect(inventory.problems).toEqual([
      expect.stringContaining(`unknown writer: producer id 20 wrote to partition(s) 0, 1, last at ${new Date(NOW - 1000).toISOString()}`),
    ])
  })

  test('a producer id of a dead agent still counts as known (heartbeats within the lookback); one older than the lookback is not active', () => {
    const inventory = classifyWriters(
      facts({
        producers: [{partition: 0, producers: [producer(10), producer(50, NOW - 700_000)]}],
        agents: [{agentId: 'crashed', alive: false, producerId: 10}],
      }),
      options,
    )
    expect(inventory.problems).toEqual([])
    expect(inventory.unknown).toEqual([])
  })

  test('an unknown writer is named with its transactional id when it has one', () => {
    const inventory = classifyWriters(
      facts({producers: [{partition: 3, producers: [producer(60)]}], transactions: [{transactionalId: 'connect-sink-7', producerId: 60}]}),
      options,
    )
    expect(inventory.problems[0]).toContain('producer id 60 (transactional id connect-sink-7) wrote to partition(s) 3')
  })

  test('open transactions: refused when no agent owns them (named), noted when an agent does', () => {
    const inventory = classifyWriters(
      facts({
        producers: [{partition: 2, producers: [producer(70, NOW - 900_000, 44), producer(10, NOW, 12)]}],
        agents: [{agentId: 'a', alive: true, producerId: 10}],
        transactions: [{transactionalId: 'flink-0', producerId: 70}],
      }),
      options,
    )
    expect(inventory.openTransactions).toEqual([
      {producerId: 70, partitions: [{partition: 2, startOffset: 44}], transactionalId: 'flink-0'},
      {producerId: 10, partitions: [{partition: 2, startOffset: 12}], agentId: 'a'},
    ])
    // An open transaction counts as active even when its last write is older than the lookback.
    expect(inventory.unknown.map((u) => u.producerId)).toEqual([70])
    expect(inventory.problems.some((p) => p.includes('open transaction flink-0 (producer id 70) on partition(s) 2@44'))).toBe(true)
  })

  test('non-idempotent batches: a foreign writer when every agent is idempotent; ambiguous otherwise unless --allow-non-idempotent', () => {
    const batches = {
      partitions: [
        {
          partition: 5,
          fromOffset: 0,
          endOffset: 9,
          scannedToOffset: 9,
          truncated: false,
          bytes: 0,
          producers: [
            {
              producerId: -1,
              batches: 3,
              records: 3,
              controlBatches: 0,
              transactional: false,
              firstOffset: 2,
              lastOffset: 8,
              lastTimestamp: NOW,
            },
          ],
        },
      ],
    }
    const idempotent = classifyWriters(facts({batches, agents: [{agentId: 'a', alive: true, producerId: 10}]}), options)
    expect(idempotent.nonIdempotent).toEqual([{partition: 5, batches: 3, lastOffset: 8}])
    expect(idempotent.problems).toEqual([expect.stringContaining('while every agent is idempotent')])

    const ambiguous = classifyWriters(facts({batches, agents: [{agentId: 'legacy', alive: true, producerId: -1}]}), options)
    expect(ambiguous.problems).toEqual([expect.stringContaining('agent(s) legacy may write them')])
    expect(ambiguous.problems[0]).toContain('--allow-non-idempotent')

    const allowed = classifyWriters(facts({batches, agents: [{agentId: 'legacy', alive: true, producerId: -1}]}), {
      ...options,
      allowNonIdempotent: true,
    })
    expect(allowed.problems).toEqual([])
    expect(allowed.notes).toEqual([expect.stringContaining('--allow-non-idempotent')])
  })
})

describe('the marker fence on new partitions', () => {
  test("kreorg's markers (any of its producer ids) pass; the first foreign batch stops the run, naming partition, offset and producer id", async () => {
    const cluster = new FakeKafkaCluster().addTopic('t', {partitions: 4})
    await cluster.createPartitions('t', 6)
    const fence = new MarkerFence(cluster, 't', [4, 5], 'kreorg-marker-run')
    fence.wrote(await cluster.writeAbortMarkers('t', [4, 5], 'kreorg-marker-run'))
    fence.wrote(await cluster.writeAbortMarkers('t', [5], 'kreorg-marker-run'))
    const hwms = await cluster.highWatermarks('t')
    await fence.check(hwms)
    expect(fence.settled(hwms)).toBe(true)
    expect(fence.counts()).toEqual({4: 1, 5: 2})

    cluster.produce('t', 4, 2, 777)
    const error = await fence.check(await cluster.highWatermarks('t')).catch((error_: unknown) => error_)
    expect(error).toMatchObject({code: 'unknown-writers'})
    expect((error as Error).message).toContain('partition 4 offset 1 (producer id 777)')
  })

  test('a non-idempotent foreign record (producer id -1) is caught too', async () => {
    const cluster = new FakeKafkaCluster().addTopic('t', {partitions: 2})
    await cluster.createPartitions('t', 3)
    cluster.produce('t', 2, 1, -1)
    const fence = new MarkerFence(cluster, 't', [2], 'kreorg-marker-run')
    await expect(fence.check(await cluster.highWatermarks('t'))).rejects.toThrow('producer id -1')
  })

  test('after a resume, markers of the earlier attempt are recognised through the transactional id', async () => {
    const cluster = new FakeKafkaCluster().addTopic('t', {partitions: 2})
    await cluster.createPartitions('t', 3)
    const earlier = await cluster.writeAbortMarkers('t', [2], 'kreorg-marker-run')
    cluster.setTransaction({
      transactionalId: 'kreorg-marker-run',
      producerId: earlier.producerId,
      producerEpoch: 1,
      state: 'CompleteAbort',
      timeoutMs: 60_000,
      startTimeMs: -1,
      topics: {},
    })
    const fence = new MarkerFence(cluster, 't', [2], 'kreorg-marker-run')
    const hwms = await cluster.highWatermarks('t')
    await fence.check(hwms)
    expect(fence.settled(hwms)).toBe(true)
  })
})

describe('judging a group on the new partitions', () => {
  const member = (assignment: number[], groupInstanceId: string | null = null) => ({
    memberId: 'm',
    groupInstanceId,
    clientId: 'c',
    clientHost: '/10.0.0.1',
    assignment: {t: assignment},
  })
  const group = (members: GroupDescription['members'], committed: Record<number, number>) => ({
    view: {groupId: 'g', type: 'consumer' as const, state: 'Stable' as const, protocolType: 'consumer', assignor: 'uniform', members},
    committed: new Map(Object.entries(committed).map(([p, o]) => [Number(p), o])),
  })

  test('committed offsets ≥ 0 on every new partition prove the position, whatever the assignment says', () => {
    expect(judgeGroup(group([member([0, 1])], {2: 0, 3: 1}), [2, 3], 't', false)).toEqual({kind: 'proven', proof: 'committed'})
  })

  test('no members: it can be primed from outside with offset 0 (never a group with members)', () => {
    expect(judgeGroup(group([], {2: 0}), [2, 3], 't', false)).toEqual({kind: 'empty', missing: [3]})
    expect(judgeGroup(group([member([2, 3])], {}), [2, 3], 't', false).kind).toBe('waiting')
  })

  test('assignment coverage is proof only for a trusted group, and only when it covers every new partition', () => {
    expect(judgeGroup(group([member([0, 1, 2, 3])], {}), [2, 3], 't', true)).toEqual({kind: 'proven', proof: 'trusted'})
    expect(judgeGroup(group([member([0, 1, 2])], {}), [2, 3], 't', true).kind).toBe('waiting')
  })

  test('a waiting group names its members, static ones by instance id, with the partitions they own', () => {
    const verdict = judgeGroup(group([member([2], 'pod-0'), member([0, 1])], {3: 0}), [2, 3], 't', false)
    expect(verdict).toEqual({kind: 'waiting', missing: [2], members: ['c (static pod-0) owns 2', 'c@/10.0.0.1']})
  })
})

describe('exit code 7 after add-partitions', () => {
  test('the one table documents 7', () => {
    expect(ExitCode.INCOMPLETE).toBe(7)
    expect(EXIT_CODE_TABLE.find(([code]) => code === 7)?.[1]).toMatch(/partitions were added.*kreorg resume/)
  })

  test('any failure of a step after the alter becomes exit 7 with the resume command; interrupts stay 130', async () => {
    const ctx = fakeGrow().context()
    const timeout = incomplete(
      ctx,
      new KreorgError('timeout', 'groups did not commit', {suggestions: ['raise --prime-timeout']}),
    ) as KreorgError
    expect(timeout).toMatchObject({code: 'incomplete', exitCode: 7})
    expect(timeout.message).toBe('partitions were added but the run did not finish: groups did not commit')
    expect(timeout.suggestions).toEqual(['raise --prime-timeout', expect.stringContaining(`kreorg resume ${ctx.runId}`)])
    expect(incomplete(ctx, new Error('boom'))).toMatchObject({code: 'incomplete', exitCode: 7})
    const interrupted = new KreorgError('interrupted', 'received SIGINT')
    expect(incomplete(ctx, interrupted)).toBe(interrupted)
    await expect(
      afterAlter(async () => {
        throw new KreorgError('precondition', 'x')
      })(ctx),
    ).rejects.toMatchObject({exitCode: 7})
  })
})

describe('plan checks', () => {
  test('agents: none at all needs --no-producers; capabilities and partitioners are judged per agent', () => {
    expect(agentFindings('t', [], {noProducers: false}).blockers).toEqual([expect.stringContaining('pass --no-producers')])
    expect(agentFindings('t', [], {noProducers: true})).toEqual({blockers: [], warnings: [expect.stringContaining('--no-producers')]})
    const findings = agentFindings(
      't',
      [
        {agentId: 'ok', host: 'h', capabilities: ['pause', 'pin', 'refresh', 'canary', 'fence'], partitioner: 'murmur2_random'},
        {agentId: 'nofence', host: 'h', capabilities: ['pause', 'pin', 'refresh'], partitioner: 'legacy'},
        {agentId: 'java-custom', host: 'h', capabilities: ['pause', 'pin', 'refresh', 'fence'], partitioner: 'custom'},
      ],
      {noProducers: false},
    )
    expect(findings.blockers).toEqual([
      expect.stringContaining('agent nofence (h) lacks capabilities fence'),
      expect.stringContaining('agent java-custom (h) uses partitioner "custom"'),
    ])
  })

  test('groups: Streams applications refused unless allowed, static members named, groupless consumers always warned', () => {
    const streams: GroupDescription = {
      groupId: 'app',
      type: 'classic',
      state: 'Stable',
      protocolType: 'consumer',
      assignor: 'stream',
      members: [],
    }
    const statics: GroupDescription = {
      groupId: 'billing',
      type: 'consumer',
      state: 'Stable',
      protocolType: 'consumer',
      assignor: 'uniform',
      members: [{memberId: 'm', groupInstanceId: 'billing-0', clientId: 'c', clientHost: 'h', assignment: {t: [0, 1]}}],
    }
    const refused = groupFindings('t', [streams, statics], [], {allowStreams: false, trustGroups: [], ignoreGroups: []})
    expect(refused.blockers).toEqual([expect.stringContaining('group app is a Kafka Streams application (assignor "stream")')])
    expect(refused.warnings).toEqual([
      expect.stringContaining('static members billing-0 (0,1)'),
      expect.stringContaining('consumers without a group'),
    ])
    expect(groupFindings('t', [streams], [], {allowStreams: true, trustGroups: [], ignoreGroups: []}).blockers).toEqual([])
    expect(groupFindings('orders-app-store-changelog', [], [], {allowStreams: false, trustGroups: [], ignoreGroups: []}).blockers).toEqual([
      expect.stringContaining('Kafka Streams internal topic'),
    ])
  })

  test('compacted topics are refused with the reason; delete-only topics are not', () => {
    expect(compactionRefusal('t', 'compact,delete')).toContain('cleanup.policy=compact,delete')
    expect(compactionRefusal('t', 'delete')).toBeUndefined()
    expect(compactionRefusal('t', undefined)).toBeUndefined()
  })
})

describe('librdkafka partitioners', () => {
  test('fnv1a matches librdkafka/Sarama test vectors (absolute value of the signed FNV-1a hash)', () => {
    const vectors: Array<[string, number]> = [
      ['kafka', 0xd_33_c4_e1],
      ['giberish123456789', 0x77_a5_82_95],
      ['1234', 0x2_3b_dd_03],
      ['234', 0x2d_ea_3c_d2],
      ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x65_cb_d6_9c],
      ['', 0x7e_e3_62_3b],
    ]
    for (const [key, hash] of vectors) expect(fnv1a32(keyBytes(key)), key).toBe(hash)
    expect(predictPartition('fnv1a', keyBytes('kafka'), 7)).toBe(0xd_33_c4_e1 % 7)
  })

  test('names map to predictors: murmur2_random = murmur2, consistent(_random) = crc32, custom is unpredictable', () => {
    const key = keyBytes('order-42')
    expect(predictPartition('murmur2_random', key, 16)).toBe(predictPartition('murmur2', key, 16))
    expect(predictPartition('consistent', key, 16)).toBe(predictPartition('crc32', key, 16))
    expect(predictPartition('custom', key, 16)).toBeNull()
  })
})

describe('the pin is lifted only by the safe path', () => {
  const command = (partial: Partial<CurrentCommand>): CurrentCommand => ({
    v: 1,
    type: 'cmd',
    action: 'pause',
    topic: 't',
    runId: '20260101-grow-t-1',
    epoch: 1,
    at: 0,
    offset: 0,
    timestamp: 0,
    ...partial,
  })

  test('a grow run whose latest command is not a resume with a target is unfinished; manual pauses are not grow runs', () => {
    expect(unfinishedGrowRun({currentCommand: () => command({action: 'pause', pinPartitions: 4})}, 't')).toEqual({
      runId: '20260101-grow-t-1',
      state: 'paused',
    })
    expect(unfinishedGrowRun({currentCommand: () => command({action: 'resume'})}, 't')).toEqual({
      runId: '20260101-grow-t-1',
      state: 'pinned',
    })
    expect(unfinishedGrowRun({currentCommand: () => command({action: 'resume', targetPartitions: 8})}, 't')).toBeUndefined()
    expect(unfinishedGrowRun({currentCommand: () => command({runId: 'manual-ab12'})}, 't')).toBeUndefined()
    expect(unfinishedGrowRun({currentCommand: () => undefined}, 't')).toBeUndefined()
  })

  test('--to at the current count is "nothing to do" only when no grow run is unfinished there (else exit 7 naming it)', () => {
    expect(() => refuseWhileUnfinished({currentCommand: () => command({action: 'resume', targetPartitions: 8})}, 't')).not.toThrow()
    expect(() => refuseWhileUnfinished({currentCommand: () => command({action: 'resume'})}, 't')).toThrow(
      expect.objectContaining({exitCode: 7}),
    )
  })

  it('abort re-reads the live count: grown but add-partitions not recorded → exit 7, resume named; otherwise no refusal', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const checkpoint = {
      runId: world.runId,
      runbook: {name: 'grow', version: 2, hash: 'x'},
      status: 'interrupted',
      inputs: world.inputs,
      steps: [
        {id: 'preflight', state: 'done', result: {partitions: 4}},
        {id: 'plan', state: 'done', result: {}},
        {id: 'pin-producers', state: 'done', result: {}},
      ],
    } as unknown as Checkpoint
    await expect(growAbortRefusal(checkpoint, world.cluster)).resolves.toBeUndefined()
    await world.cluster.createPartitions(world.topic, 8)
    const refusal = await growAbortRefusal(checkpoint, world.cluster)
    expect(refusal).toMatchObject({code: 'incomplete', exitCode: 7})
    expect(refusal?.suggestions.join(' ')).toContain(`kreorg resume ${world.runId}`)
    const recorded = {
      ...checkpoint,
      steps: [...checkpoint.steps, {id: 'add-partitions', state: 'done', result: {}}],
    } as unknown as Checkpoint
    await expect(growAbortRefusal(recorded, world.cluster)).resolves.toBeUndefined()
  })
})

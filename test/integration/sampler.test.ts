import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster, KafkajsCluster} from '../../src/kafka/index.js'

import {createKafkaClient, type KafkaClient, type Producer} from '../../src/kafka/client.js'
import {INTERNAL_GROUP_PREFIX} from '../../src/kafka/lag.js'
import {sampleTopic, sampleTopicDetailed} from '../../src/kafka/sampler.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

let cluster: KafkaCluster & KafkajsCluster
let client: KafkaClient
const producers: Producer[] = []

async function producer(options: {idempotent?: boolean; transactionalId?: string} = {}): Promise<Producer> {
  const p = client.producer({
    allowAutoTopicCreation: false,
    idempotent: options.idempotent ?? false,
    ...(options.transactionalId ? {transactionalId: options.transactionalId, maxInFlightRequests: 1} : {}),
  })
  await p.connect()
  producers.push(p)
  return p
}

const key = (partition: number, i: number) => `k-${partition}-${i}`

beforeAll(async () => {
  cluster = await connectTestCluster()
  client = createKafkaClient({brokers: testBrokers().split(','), clientId: 'kreorg-test-sampler', connectTimeoutMs: 10_000})
})

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => {})
  await cluster?.close()
})

describe('sampleTopic (real broker)', () => {
  const topic = randomName('sampler')
  let idempotentId = -2

  beforeAll(async () => {
    await cluster.createTopic({topic, partitions: 3, replicationFactor: 1})
    // p0: 20 records from a plain producer (acks=all, no idempotence) with a header and one null key.
    const plain = await producer()
    await plain.send({
      topic,
      messages: Array.from({length: 20}, (_, i) => ({
        partition: 0,
        key: i === 19 ? null : key(0, i),
        value: 'x'.repeat(i),
        headers: {source: 'plain'},
      })),
    })
    // p1: 12 records from an idempotent producer, in three sends (three batches).
    const idem = await producer({idempotent: true})
    for (let b = 0; b < 3; b++) {
      await idem.send({topic, messages: Array.from({length: 4}, (_, i) => ({partition: 1, key: key(1, b * 4 + i), value: 'v'}))})
    }
    // p2: a committed transaction, so the partition ends with a control record (commit marker).
    const tx = await producer({idempotent: true, transactionalId: randomName('tx')})
    const transaction = await tx.transaction()
    await transaction.send({topic, messages: Array.from({length: 5}, (_, i) => ({partition: 2, key: key(2, i), value: 'v'}))})
    await transaction.commit()
    // The coordinator writes the commit marker after EndTxn returns; until then the LSO stays at 0.
    const deadline = Date.now() + 15_000
    while ((await cluster.endOffsets(topic))[2]!.high !== 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  })

  it("'latest' returns exactly the last N records of each partition with batch producer ids", async () => {
    const offsets = await cluster.endOffsets(topic)
    expect(offsets.map((o) => o.high)).toEqual([20, 12, 6]) // p2: 5 records + the commit marker

    const progress: Array<[number, number]> = []
    const records = await sampleTopic(cluster, topic, {perPartition: 4, timeoutMs: 30_000, onProgress: (d, t) => progress.push([d, t])})
    const byPartition = (p: number) => records.filter((r) => r.partition === p)

    expect(byPartition(0).map((r) => r.offset)).toEqual([16, 17, 18, 19])
    expect(byPartition(0).map((r) => r.key?.toString() ?? null)).toEqual([key(0, 16), key(0, 17), key(0, 18), null])
    expect(byPartition(0).map((r) => r.valueBytes)).toEqual([16, 17, 18, 19])
    expect(byPartition(0).every((r) => r.producerId === -1 && !r.inTransaction)).toBe(true)
    expect(byPartition(0)[0]!.headers).toEqual({source: 'plain'})

    expect(byPartition(1).map((r) => r.offset)).toEqual([8, 9, 10, 11])
    idempotentId = byPartition(1)[0]!.producerId
    expect(idempotentId).toBeGreaterThanOrEqual(0)
    expect(byPartition(1).every((r) => r.producerId === idempotentId && !r.inTransaction)).toBe(true)

    // The window is offsets 2..5; offset 5 is the commit marker, which is not a record.
    expect(byPartition(2).map((r) => r.offset)).toEqual([2, 3, 4])
    expect(byPartition(2).every((r) => r.producerId >= 0 && r.producerId !== idempotentId && r.inTransaction)).toBe(true)
    expect(records.every((r) => r.timestamp > Date.now() - 600_000 && r.timestamp <= Date.now())).toBe(true)

    expect(progress.at(-1)).toEqual([12, 12])
  })

  it('a Map reads forward from its offsets, bounded by perPartition and the end offsets at call time', async () => {
    const result = await sampleTopicDetailed(cluster, topic, {
      perPartition: 5,
      from: new Map([
        [0, 3],
        [1, 10],
        [2, 6],
      ]),
      timeoutMs: 30_000,
    })
    expect(result.complete).toBe(true)
    expect(result.records.filter((r) => r.partition === 0).map((r) => r.offset)).toEqual([3, 4, 5, 6, 7])
    expect(result.records.filter((r) => r.partition === 1).map((r) => r.offset)).toEqual([10, 11])
    expect(result.records.filter((r) => r.partition === 2)).toEqual([])
    expect(result.groupId.startsWith(INTERNAL_GROUP_PREFIX)).toBe(true)

    // Never commits: the group has no offsets and Kafka dropped it once the sampler left.
    expect((await cluster.committedOffsets(result.groupId, topic)).every((o) => o.offset === -1)).toBe(true)
    const [group] = await cluster.describeGroups([result.groupId])
    expect(group?.state === 'Dead' || group?.members.length === 0).toBe(true)
  })

  it('partitions restricts the read; partitions missing from the Map start at the log start', async () => {
    const records = await sampleTopic(cluster, topic, {perPartition: 2, from: new Map([[0, 18]]), partitions: [0, 1], timeoutMs: 30_000})
    expect(records.map((r) => [r.partition, r.offset])).toEqual([
      [0, 18],
      [0, 19],
      [1, 0],
      [1, 1],
    ])
  })

  it('does not wait for records written after it started', async () => {
    const p = await producer()
    const writing = (async () => {
      for (let i = 0; i < 20; i++) await p.send({topic, messages: [{partition: 0, key: 'late', value: 'v'}]})
    })()
    const result = await sampleTopicDetailed(cluster, topic, {perPartition: 1000, partitions: [0], timeoutMs: 30_000})
    await writing
    const stop = result.partitions[0]!.stop
    expect(result.complete).toBe(true)
    expect(result.records.every((r) => r.offset < stop)).toBe(true)
    expect(result.records.at(-1)!.offset).toBe(stop - 1)
  })

  it('an empty topic or nothing after the Map offsets returns at once without joining a group', async () => {
    const empty = randomName('sampler-empty')
    await cluster.createTopic({topic: empty, partitions: 2, replicationFactor: 1})
    const before = Date.now()
    expect(await sampleTopic(cluster, empty, {perPartition: 10})).toEqual([])
    expect(Date.now() - before).toBeLessThan(2000)
  })

  it('an abort signal stops it with an interrupted error', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(sampleTopic(cluster, topic, {perPartition: 10, signal: controller.signal})).rejects.toMatchObject({code: 'interrupted'})
  })
})

/**
 * `kreorg audit` against a real broker: every topic is written with known properties (null keys, a
 * hot key, CRC32 or legacy partitioning, idempotent or not, lagging groups) and the real CLI must
 * report each verdict and figure. Run `npx tsc -p tsconfig.json` first (runCli spawns dist/).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster, KafkajsCluster} from '../../src/kafka/index.js'

import {createKafkaClient, type KafkaClient, type Message, Partitioners, type Producer} from '../../src/kafka/client.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'
import {crc32} from '../../src/kafka/partitioners.js'
import {runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

interface CheckJson {
  id: string
  verdict: 'pass' | 'warn' | 'fail'
  why: string
  details: Record<string, unknown>
}
interface CandidateJson {
  to: number
  sampledKeys: number
  movedKeys: number
  movedShare: number
  movedRecordShare: number
  uniformMovedShare: number
  skew: {records: number; bytes: number}
  acceptable: boolean
}
interface AuditJson {
  topic: string
  partitionCount: number
  verdict: string
  counts: Record<string, number>
  sample: {records: number; keyedRecords: number; complete: boolean}
  checks: CheckJson[]
  candidates: CandidateJson[]
  recommended: number | null
  partitioner: {detected: string; partitioners: string[]; murmur2: {share: number}; crc32: {share: number}; legacy: {share: number}}
}

let cluster: KafkaCluster & KafkajsCluster
let client: KafkaClient
const producers: Producer[] = []

async function producer(options: {idempotent?: boolean; legacy?: boolean} = {}): Promise<Producer> {
  const p = client.producer({
    allowAutoTopicCreation: false,
    idempotent: options.idempotent ?? false,
    createPartitioner: options.legacy ? Partitioners.LegacyPartitioner : Partitioners.DefaultPartitioner,
  })
  await p.connect()
  producers.push(p)
  return p
}

async function topicWith(partitions: number): Promise<string> {
  const topic = randomName('audit')
  await cluster.createTopic({topic, partitions, replicationFactor: 1})
  return topic
}

async function audit(args: string[]): Promise<{code: number | null; report: AuditJson; stderr: string}> {
  const result = await runCli(['audit', ...args, '--json'], {env: {KAFKA_BROKERS: testBrokers()}})
  const line = result.stdout.trim().split('\n').at(-1) ?? ''
  let report: AuditJson
  try {
    report = JSON.parse(line) as AuditJson
  } catch {
    throw new Error(`no JSON from audit (exit ${result.code}): ${result.stdout}\n${result.stderr}`)
  }
  return {code: result.code, report, stderr: result.stderr}
}

const check = (report: AuditJson, id: string): CheckJson => {
  const found = report.checks.find((c) => c.id === id)
  if (!found) throw new Error(`no check ${id}`)
  return found
}

const keys = (count: number, prefix: string) => Array.from({length: count}, (_, i) => `${prefix}-${i}`)

beforeAll(async () => {
  cluster = await connectTestCluster()
  client = createKafkaClient({brokers: testBrokers().split(','), clientId: 'kreorg-test-audit', connectTimeoutMs: 10_000})
})

afterAll(async () => {
  for (const p of producers) await p.disconnect().catch(() => {})
  await cluster?.close()
})

describe('kreorg audit (real broker)', () => {
  it('a healthy topic passes every check; key movement is exact for the keys written', async () => {
    const topic = await topicWith(6)
    const written = keys(900, 'order')
    const idem = await producer({idempotent: true})
    await idem.send({topic, messages: written.map((key) => ({key, value: 'payload-payload'}))})

    const {code, report} = await audit([topic, '--to', '12,8,9', '--strict'])
    expect(code).toBe(0)
    expect(report.partitionCount).toBe(6)
    expect(report.sample).toMatchObject({records: 900, keyedRecords: 900, complete: true})
    for (const id of ['sample', 'null-keys', 'key-cardinality', 'partitioner', 'idempotence', 'consumer-groups', 'key-movement']) {
      expect(check(report, id).verdict, `${id}: ${check(report, id).why}`).toBe('pass')
    }
    expect(report.partitioner.detected).toBe('murmur2')
    expect(report.partitioner.murmur2.share).toBe(1)
    expect(check(report, 'key-cardinality').details).toMatchObject({distinctKeys: 900, allDistinct: true})
    expect(check(report, 'idempotence').details).toMatchObject({nonIdempotentRecords: 0})
    expect((check(report, 'idempotence').details.producerIds as number[]).length).toBe(1)

    // Candidates come back sorted; moved keys are exactly those whose murmur2 partition changes.
    expect(report.candidates.map((c) => c.to)).toEqual([8, 9, 12])
    for (const candidate of report.candidates) {
      const moved = written.filter((k) => partitionForKey(k, 6) !== partitionForKey(k, candidate.to)).length
      expect(candidate.sampledKeys).toBe(900)
      expect(candidate.movedKeys).toBe(moved)
      expect(candidate.movedShare).toBeCloseTo(moved / 900, 10)
    }
    // 6 → 12 keeps half the keys (gcd 6 / 12), 6 → 8 keeps a quarter, 6 → 9 a third: 12 moves fewest.
    expect(report.candidates.find((c) => c.to === 12)!.uniformMovedShare).toBeCloseTo(0.5, 10)
    expect(report.recommended).toBe(12)
  })

  it('null keys and a hot key: null-keys fails with the exact share, the hot key warns, --strict exits 3', async () => {
    const topic = await topicWith(4)
    const plain = await producer({idempotent: false})
    const messages: Message[] = [
      ...keys(300, 'user').map((key) => ({key, value: 'v'})),
      ...Array.from({length: 300}, () => ({key: 'tenant-big', value: 'v'})),
      ...Array.from({length: 200}, () => ({key: null, value: 'v'})),
    ]
    await plain.send({topic, messages})
    // Non-idempotent on purpose: a resent request would duplicate records, and every figure below
    // assumes exactly these 800 (createTopic returns only once every partition's leader serves).
    expect((await cluster.endOffsets(topic)).reduce((sum, p) => sum + p.high, 0)).toBe(800)

    const relaxed = await audit([topic, '--to', '8'])
    expect(relaxed.code).toBe(0)
    const {code, report} = await audit([topic, '--to', '8', '--strict'])
    expect(code).toBe(3)
    expect(report.verdict).toBe('fail')

    const nullKeys = check(report, 'null-keys')
    expect(nullKeys.verdict).toBe('fail')
    expect(nullKeys.details.share).toBeCloseTo(200 / 800, 10)
    expect(nullKeys.details.records).toBe(200)
    const perPartition = nullKeys.details.perPartition as Array<{nullKeys: number}>
    expect(perPartition.reduce((s, p) => s + p.nullKeys, 0)).toBe(200)

    const cardinality = check(report, 'key-cardinality')
    expect(cardinality.verdict).toBe('warn')
    expect(cardinality.why).toContain('tenant-big')
    const heaviest = cardinality.details.heaviest as Array<{key: string; records: number; share: number}>
    expect(heaviest[0]).toMatchObject({key: 'tenant-big', records: 300})
    expect(heaviest[0]!.share).toBeCloseTo(300 / 600, 10)
    expect(cardinality.details.distinctKeys).toBe(301)

    // The hot key's partition holds 300 + its share of the rest: the skew check names it.
    const skew = check(report, 'partition-skew')
    expect(skew.verdict).toBe('warn')
    expect(skew.details.hotPartitions).toContain(partitionForKey('tenant-big', 4))

    const idempotence = check(report, 'idempotence')
    expect(idempotence.verdict).toBe('fail')
    expect(idempotence.details).toMatchObject({nonIdempotentRecords: 800, producerIds: []})
  })

  it('CRC32-partitioned records are recognised, and key movement is computed with CRC32', async () => {
    const topic = await topicWith(6)
    const written = keys(600, 'crc')
    const idem = await producer({idempotent: true})
    // As librdkafka's consistent_random would place them: explicit partition = crc32(key) % 6.
    await idem.send({topic, messages: written.map((key) => ({key, value: 'v', partition: crc32(Buffer.from(key)) % 6}))})

    const {code, report} = await audit([topic, '--to', '12', '--strict'])
    const partitioner = check(report, 'partitioner')
    expect(partitioner.verdict).toBe('warn')
    expect(report.partitioner.detected).toBe('crc32')
    expect(report.partitioner.crc32.share).toBe(1)
    expect(report.partitioner.murmur2.share).toBeLessThan(0.3)
    expect(partitioner.why).toMatch(/CRC32/)
    // A warning is not a failure: --strict passes.
    expect(code).toBe(0)
    const moved = written.filter((k) => crc32(Buffer.from(k)) % 6 !== crc32(Buffer.from(k)) % 12).length
    expect(report.candidates[0]).toMatchObject({to: 12, movedKeys: moved})
  })

  it('murmur2 and CRC32 writers on one topic: mixed partitioners fail', async () => {
    const topic = await topicWith(6)
    const java = await producer({idempotent: true})
    await java.send({topic, messages: keys(400, 'java').map((key) => ({key, value: 'v'}))})
    await java.send({topic, messages: keys(200, 'rdkafka').map((key) => ({key, value: 'v', partition: crc32(Buffer.from(key)) % 6}))})

    const {code, report} = await audit([topic, '--to', '12', '--strict'])
    expect(code).toBe(3)
    const partitioner = check(report, 'partitioner')
    expect(partitioner.verdict).toBe('fail')
    expect(report.partitioner.detected).toBe('mixed')
    expect(report.partitioner.partitioners).toEqual(['murmur2', 'crc32'])
    // Every other check is fine: the failure is the partitioner alone.
    expect(report.checks.filter((c) => c.verdict === 'fail').map((c) => c.id)).toEqual(['partitioner'])
  })

  it("kafkajs's LegacyPartitioner is told apart from murmur2", async () => {
    const topic = await topicWith(5)
    const legacy = await producer({idempotent: true, legacy: true})
    await legacy.send({topic, messages: keys(300, 'legacy').map((key) => ({key, value: 'v'}))})
    const {report} = await audit([topic, '--to', '10'])
    expect(report.partitioner.detected).toBe('legacy')
    expect(check(report, 'partitioner').verdict).toBe('warn')
  })

  it('idempotent and non-idempotent producers on one topic: the non-idempotent share and partitions', async () => {
    const topic = await topicWith(2)
    const idem = await producer({idempotent: true})
    const plain = await producer({idempotent: false})
    await idem.send({topic, messages: keys(30, 'a').map((key) => ({key, value: 'v', partition: partitionForKey(key, 2)}))})
    await plain.send({topic, messages: [{key: 'b-1', value: 'v', partition: 1}]})
    const {report} = await audit([topic, '--to', '4'])
    const idempotence = check(report, 'idempotence')
    expect(idempotence.verdict).toBe('fail')
    expect(idempotence.details).toMatchObject({nonIdempotentRecords: 1, nonIdempotentPartitions: [1]})
    expect((idempotence.details.producerIds as number[]).length).toBe(1)
    expect(idempotence.why).toMatch(/non-idempotent/)
  })

  it('consumer groups: an inactive group with lag fails, a caught-up one and an active one pass', async () => {
    const topic = await topicWith(3)
    const idem = await producer({idempotent: true})
    await idem.send({topic, messages: keys(60, 'g').map((key) => ({key, value: 'v'}))})
    const ends = await cluster.endOffsets(topic)
    const lagging = randomName('audit-lagging')
    const caughtUp = randomName('audit-caught-up')
    await cluster.commitOffsets(
      lagging,
      topic,
      ends.map((o) => ({partition: o.partition, offset: 0})),
    )
    await cluster.commitOffsets(
      caughtUp,
      topic,
      ends.map((o) => ({partition: o.partition, offset: o.high})),
    )

    const first = await audit([topic, '--to', '6', '--strict'])
    expect(first.code).toBe(3)
    const groups = check(first.report, 'consumer-groups')
    expect(groups.verdict).toBe('fail')
    expect(groups.why).toContain(lagging)
    expect(groups.why).toContain('60 records of lag')
    const byId = new Map((groups.details.groups as Array<{groupId: string; lag: number; members: number}>).map((g) => [g.groupId, g]))
    expect(byId.get(lagging)).toMatchObject({lag: 60, members: 0})
    expect(byId.get(caughtUp)).toMatchObject({lag: 0, members: 0})

    // Once the lagging group caught up, and with a live consumer owning every partition, it passes.
    await cluster.commitOffsets(
      lagging,
      topic,
      ends.map((o) => ({partition: o.partition, offset: o.high})),
    )
    const active = randomName('audit-active')
    const consumer = client.consumer({groupId: active})
    await consumer.connect()
    await consumer.subscribe({topics: [topic], fromBeginning: true})
    let consumed = 0
    await consumer.run({eachMessage: async () => void consumed++})
    try {
      const deadline = Date.now() + 30_000
      while (consumed < 60 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      await consumer.commitOffsets(ends.map((o) => ({topic, partition: o.partition, offset: String(o.high)})))
      const second = await audit([topic, '--to', '6', '--strict'])
      const after = check(second.report, 'consumer-groups')
      expect(after.verdict, after.why).toBe('pass')
      const activeGroup = (after.details.groups as Array<{groupId: string; members: number; assignedPartitions: number}>).find(
        (g) => g.groupId === active,
      )
      expect(activeGroup).toMatchObject({members: 1, assignedPartitions: 3})
      expect(second.code).toBe(0)
    } finally {
      await consumer.disconnect()
    }
  })

  it('usage errors: --to not above the current count, or not a number, exit 2; a missing topic exits 3', async () => {
    const topic = await topicWith(4)
    const notAbove = await runCli(['audit', topic, '--to', '8,4'], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(notAbove.code).toBe(2)
    expect(notAbove.stderr).toContain('already has 4 partitions')
    const garbage = await runCli(['audit', topic, '--to', 'lots'], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(garbage.code).toBe(2)
    const missing = await runCli(['audit', randomName('audit-missing')], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(missing.code).toBe(3)
  })

  it('an empty topic warns instead of inventing figures; the text output lists every check', async () => {
    const topic = await topicWith(3)
    const result = await runCli(['audit', topic], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/WARN\s+Sample\s+the topic holds no records/)
    for (const title of ['Records without a key', 'Partitioner', 'Idempotent producers', 'Consumer groups', 'Key movement']) {
      expect(result.stdout).toContain(title)
    }
    // Default candidates are 2×, 3×, 4× the current count, ranked by the uniform estimate.
    expect(result.stdout).toMatch(/^\s*6\s/m)
    expect(result.stdout).toMatch(/^\s*12\s/m)
    // Not a terminal: no progress meter on stderr.
    expect(result.stderr).toBe('')
  })
})

import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {REPO_ROOT} from '../helpers/cli.js'
import {eventually, type JavaProcess, javaToolsClasspath, startJava} from '../helpers/java-tools.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/**
 * The writer inventory and the fence, against Apache Kafka's own Java clients: who writes to a topic
 * (DescribeProducers, batch producer ids), which transaction is open and under which transactional id,
 * the high watermark an open transaction cannot hide, and kreorg's marker-only aborted transaction.
 */
const java = await javaToolsClasspath()
const skip = 'skip' in java ? java.skip : undefined
/** JVM start-up on a busy 2-core test machine can take a minute: these tests wait for Java clients several times. */
const JAVA_TEST_TIMEOUT_MS = 300_000
if (skip) process.stdout.write(`[writer-inventory] skipped: ${skip}\n`)
const CONSOLE_PRODUCER = 'org.apache.kafka.tools.ConsoleProducer'
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer'
const OPEN_TXN = path.join(REPO_ROOT, 'test/fixtures/OpenTxn.java')

describe.skipIf(skip !== undefined)(`writer inventory against Java clients${skip ? `: skipped, ${skip}` : ''}`, () => {
  const classpath = 'classpath' in java ? java.classpath : ''
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  const running: JavaProcess[] = []

  function run(main: string, args: string[], label: string): JavaProcess {
    const process = startJava(classpath, main, args, label)
    running.push(process)
    return process
  }

  const highs = async (topic: string) => (await cluster.highWatermarks(topic)).map((o) => o.high)
  const stables = async (topic: string) => (await cluster.endOffsets(topic)).map((o) => o.high)

  beforeAll(async () => {
    cluster = await connectTestCluster()
    // The first transactional request creates __transaction_state (50 partitions): on a fresh, busy
    // broker that takes long enough to time out a Java producer's first transaction. Wait for it here.
    await eventually(
      'the transaction coordinator to be ready',
      () => cluster.describeTransactions([randomName('warm-up')]),
      () => true,
      {timeoutMs: 110_000, intervalMs: 1000},
    )
  })

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop(5000)))
    await cluster?.close()
  })

  test(
    'an idempotent ConsoleProducer is listed by DescribeProducers and a non-idempotent one is not; batches name both; the scan window and byte cap hold',
    async () => {
      const topic = randomName('writers')
      await cluster.createTopic({topic, partitions: 1, replicationFactor: 1})
      const idempotent = run(CONSOLE_PRODUCER, ['--bootstrap-server', testBrokers(), '--topic', topic], 'ConsoleProducer(default)')
      idempotent.writeLine('from-the-idempotent-producer')
      await eventually(
        'the idempotent record',
        () => highs(topic),
        (h) => h[0] === 1,
      )
      const plain = run(
        CONSOLE_PRODUCER,
        ['--bootstrap-server', testBrokers(), '--topic', topic, '--command-property', 'enable.idempotence=false'],
        'ConsoleProducer(plain)',
      )
      plain.writeLine('from-the-plain-producer')
      await eventually(
        'the plain record',
        () => highs(topic),
        (h) => h[0] === 2,
      )
      idempotent.endInput()
      plain.endInput()

      const [p0] = await cluster.describeProducers(topic)
      expect(p0!.partition).toBe(0)
      expect(p0!.producers).toHaveLength(1) // the non-idempotent producer has no id to list
      const javaId = p0!.producers[0]!
      expect(javaId).toMatchObject({lastSequence: 0, currentTxnStartOffset: -1, coordinatorEpoch: -1})
      expect(javaId.producerId).toBeGreaterThanOrEqual(0)
      expect(Date.now() - javaId.lastTimestamp).toBeLessThan(5 * 60_000)

      // The log itself names both writers: that is how kreorg learns an agent's id and sees non-idempotent writes.
      expect(await cluster.producerIdOfBatchAt(topic, 0, 0)).toBe(javaId.producerId)
      expect(await cluster.producerIdOfBatchAt(topic, 0, 1)).toBe(-1)
      expect(await cluster.producerIdOfBatchAt(topic, 0, 2)).toBeNull()
      const scan = await cluster.scanRecentBatchProducers(topic, 10 * 60_000, 1024 * 1024)
      expect(scan.truncated).toBe(false)
      expect(scan.partitions[0]).toMatchObject({partition: 0, fromOffset: 0, endOffset: 2, scannedToOffset: 2, truncated: false})
      expect(scan.partitions[0]!.producers.map((p) => [p.producerId, p.records, p.firstOffset])).toEqual([
        [-1, 1, 1],
        [javaId.producerId, 1, 0],
      ])

      // A kafkajs idempotent producer writing later: a window that starts after the Java writes sees only it.
      await sleep(1500)
      const windowStart = Date.now()
      const producer = cluster.kafkaClient.producer({idempotent: true, maxInFlightRequests: 1})
      await producer.connect()
      for (let i = 0; i < 20; i++) await producer.send({topic, acks: -1, messages: [{value: `later-${i}-${'x'.repeat(500)}`}]})
      await producer.disconnect()
      const recent = await cluster.scanRecentBatchProducers(topic, Date.now() - windowStart + 200, 1024 * 1024)
      const later = recent.partitions[0]!
      expect(later).toMatchObject({fromOffset: 2, endOffset: 22, scannedToOffset: 22, truncated: false})
      expect(later.producers).toHaveLength(1)
      expect(later.producers[0]).toMatchObject({batches: 20, records: 20, transactional: false, firstOffset: 2, lastOffset: 21})
      expect((await cluster.describeProducers(topic))[0]!.producers.map((p) => p.producerId)).toContain(later.producers[0]!.producerId)

      // A byte cap below the window's size: the scan stops early and says so.
      const capped = await cluster.scanRecentBatchProducers(topic, 10 * 60_000, 3000)
      expect(capped.truncated).toBe(true)
      expect(capped.partitions[0]!.truncated).toBe(true)
      expect(capped.partitions[0]!.scannedToOffset).toBeLessThan(22)
      expect(capped.bytes).toBeLessThan(3000 + 1000)
    },
    JAVA_TEST_TIMEOUT_MS,
  )

  test(
    'an open transaction of a Java transactional producer is listed with its transactional id; the high watermark sees its record, endOffsets does not',
    async () => {
      const topic = randomName('open-txn')
      const transactionalId = randomName('java-txn')
      await cluster.createTopic({topic, partitions: 2, replicationFactor: 1})
      const txn = run(OPEN_TXN, [testBrokers(), topic, transactionalId, '0'], 'OpenTxn')
      await txn.waitForStdout('OPEN')

      const ongoing = await cluster.listTransactions({states: ['Ongoing']})
      const listed = ongoing.find((t) => t.transactionalId === transactionalId)
      expect(listed).toMatchObject({state: 'Ongoing'})
      const {producerId} = listed!
      expect((await cluster.listTransactions({producerIds: [producerId]})).map((t) => t.transactionalId)).toEqual([transactionalId])

      const [description, ...unknown] = await cluster.describeTransactions([transactionalId, randomName('no-such-txn')])
      expect(unknown).toEqual([])
      expect(description).toMatchObject({transactionalId, producerId, state: 'Ongoing', topics: {[topic]: [0]}})
      expect(description!.startTimeMs).toBeGreaterThan(0)

      const producers = await cluster.describeProducers(topic)
      expect(producers[0]!.producers).toEqual([expect.objectContaining({producerId, currentTxnStartOffset: 0})])
      expect(producers[1]!.producers).toEqual([])

      // The fence: the open transaction's record is there (high watermark 1) though read_committed sees nothing yet.
      expect(await stables(topic)).toEqual([0, 0])
      expect(await highs(topic)).toEqual([1, 0])

      txn.writeLine('abort')
      await txn.waitForStdout('DONE')
      await eventually(
        'the abort marker',
        () => stables(topic),
        (s) => s[0] === 2,
      )
      expect(await highs(topic)).toEqual([2, 0])
      // The coordinator says PrepareAbort until every marker is acknowledged, then CompleteAbort.
      const ended = await eventually(
        'the transaction to complete its abort',
        async () => (await cluster.describeTransactions([transactionalId]))[0],
        (t) => t?.state === 'CompleteAbort',
      )
      expect(ended).toMatchObject({transactionalId, producerId, topics: {}})
      expect((await cluster.describeProducers(topic, [0]))[0]!.producers).toEqual([
        expect.objectContaining({producerId, currentTxnStartOffset: -1}),
      ])
    },
    JAVA_TEST_TIMEOUT_MS,
  )

  test(
    'abort markers move each end offset by exactly 1, a Java consumer prints nothing and commits past them, and the marker producer id is reported',
    async () => {
      const topic = randomName('markers')
      const group = randomName('g-markers')
      const transactionalId = randomName('kreorg-marker')
      await cluster.createTopic({topic, partitions: 3, replicationFactor: 1})
      const consumer = run(
        CONSOLE_CONSUMER,
        ['--bootstrap-server', testBrokers(), '--topic', topic, '--group', group, '--command-property', 'auto.commit.interval.ms=1000'],
        'ConsoleConsumer',
      )
      // The consumer has its position on every partition once it committed them (offset 0: empty partitions).
      await eventually(
        'the consumer to commit 0 everywhere',
        () => cluster.committedOffsets(group, topic),
        (o) => o.every((c) => c.offset === 0) && o.length === 3,
      )

      const first = await cluster.writeAbortMarkers(topic, [1, 2], transactionalId)
      expect(first.transactionalId).toBe(transactionalId)
      expect(first.markers).toEqual([
        {partition: 1, offset: 0, endOffsetBefore: 0, endOffsetAfter: 1},
        {partition: 2, offset: 0, endOffsetBefore: 0, endOffsetAfter: 1},
      ])
      expect(await highs(topic)).toEqual([0, 1, 1])
      expect(await stables(topic)).toEqual([0, 1, 1])

      const second = await cluster.writeAbortMarkers(topic, [1, 2], transactionalId)
      expect(second.producerId).toBe(first.producerId)
      expect(second.producerEpoch).toBe(first.producerEpoch + 1)
      expect(second.markers.map((m) => m.offset)).toEqual([1, 1])
      expect(await highs(topic)).toEqual([0, 2, 2])

      // Consumers pass the markers (the Java consumer commits 2) and see no record.
      await eventually(
        'the consumer to commit past the markers',
        () => cluster.committedOffsets(group, topic),
        (o) => o.map((c) => c.offset).join(',') === '0,2,2',
      )
      expect(consumer.stdout()).toBe('')

      // kreorg's own writes show up in the inventory under the producer id writeAbortMarkers returned.
      const producers = await cluster.describeProducers(topic)
      expect(producers.map((p) => p.producers.map((s) => [s.producerId, s.lastSequence]))).toEqual([
        [],
        [[first.producerId, -1]],
        [[first.producerId, -1]],
      ])
      expect(await cluster.listTransactions({producerIds: [first.producerId]})).toEqual([
        expect.objectContaining({transactionalId, producerId: first.producerId, state: 'CompleteAbort'}),
      ])
      const scan = await cluster.scanRecentBatchProducers(topic, 10 * 60_000, 1024 * 1024)
      expect(scan.partitions[1]!.producers).toEqual([
        expect.objectContaining({producerId: first.producerId, controlBatches: 2, batches: 0, records: 0}),
      ])
      expect(await cluster.producerIdOfBatchAt(topic, 2, 1)).toBe(first.producerId)
    },
    JAVA_TEST_TIMEOUT_MS,
  )
})

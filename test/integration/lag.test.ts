import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import type {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {INTERNAL_GROUP_PREFIX, readTopicLag, type TopicLag} from '../../src/kafka/lag.js'
import {cachedKafkaJars, javaCommand} from '../../src/local-kafka/index.js'
import {runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/** Records produced per partition, and what each group has committed. */
const PRODUCED = [5, 3, 7, 0]
const COMMITS: Record<string, number[]> = {
  // Caught up on p0 and p3, behind on p1 and p2.
  billing: [5, 1, 0, 0],
  // Commits on p0 only: partitions without a commit count from the log start.
  audit: [2],
}
const EXPECTED: Record<string, {lags: number[]; committed: Array<number | null>; total: number}> = {
  billing: {lags: [0, 2, 7, 0], committed: [5, 1, 0, 0], total: 9},
  audit: {lags: [3, 3, 7, 0], committed: [2, null, null, null], total: 13},
}

/** Kafka's own tool classes, when the jars are cached (always when the run started its broker from them). */
const kafkaTools = await cachedKafkaJars()

describe('kreorg lag against a real broker', () => {
  let cluster: KafkaCluster & KafkajsCluster
  const topic = randomName('lag')
  const groups = {billing: randomName('billing'), audit: randomName('audit')}
  const internalGroup = `${INTERNAL_GROUP_PREFIX}${randomName('sampler')}`

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: PRODUCED.length, replicationFactor: 1})
    const producer = cluster.kafkaClient.producer()
    await producer.connect()
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: PRODUCED.flatMap((count, partition) =>
          Array.from({length: count}, (_, i) => ({partition, key: `k-${partition}-${i}`, value: `v${i}`})),
        ),
      })
    } finally {
      await producer.disconnect()
    }
    // In parallel: each admin commit spins up a short-lived kafkajs consumer that takes a few seconds.
    await Promise.all([
      ...Object.entries(COMMITS).map(([name, offsets]) =>
        cluster.commitOffsets(
          groups[name as keyof typeof groups],
          topic,
          offsets.map((offset, partition) => ({partition, offset})),
        ),
      ),
      // kreorg's own groups never count as consumers of a user topic.
      cluster.commitOffsets(internalGroup, topic, [{partition: 2, offset: 1}]),
    ])
  })

  afterAll(async () => {
    await cluster?.deleteTopics([topic]).catch(() => {})
    await cluster?.close()
  })

  function assertExact(lag: TopicLag) {
    expect(lag.topic).toBe(topic)
    expect(lag.partitionCount).toBe(PRODUCED.length)
    expect(lag.endOffsets.map((o) => o.high)).toEqual(PRODUCED)
    expect(lag.groups.map((g) => g.groupId).sort()).toEqual([groups.audit, groups.billing].sort())
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const group = lag.groups.find((g) => g.groupId === groups[name as keyof typeof groups])!
      expect(group.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3])
      expect(group.partitions.map((p) => p.lag)).toEqual(expected.lags)
      expect(group.partitions.map((p) => p.committed)).toEqual(expected.committed)
      expect(group.partitions.map((p) => p.end)).toEqual(PRODUCED)
      expect(group.total).toBe(expected.total)
      // Offsets committed through the admin API, nobody consuming: an empty group.
      expect(group.state).toBe('Empty')
      expect(group.members).toBe(0)
    }
  }

  test('readTopicLag reports exact lag per partition and in total for both groups', async () => {
    assertExact(await readTopicLag(cluster, topic))
  })

  test('`kreorg lag <topic> --json` reports the same exact numbers', async () => {
    const result = await runCli(['lag', topic, '--json'], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    assertExact(JSON.parse(result.stdout) as TopicLag)
  })

  test('the table names each group with its state, members and total lag', async () => {
    const result = await runCli(['lag', topic], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.code).toBe(0)
    const row = (group: string) =>
      result.stdout
        .split('\n')
        .find((line) => line.startsWith(`${group} `))
        ?.trim()
        .split(/\s+/)
    // GROUP, PROTOCOL (groups that only committed offsets are classic), STATE, MEMBERS, TOTAL LAG, PARTITIONS WITH LAG
    expect(row(groups.billing)).toEqual([groups.billing, 'classic', 'Empty', '0', '9', '2'])
    expect(row(groups.audit)).toEqual([groups.audit, 'classic', 'Empty', '0', '13', '3'])
    expect(result.stdout).not.toContain(internalGroup)
  })

  test.skipIf(!kafkaTools)("Kafka's own ConsumerGroupCommand reports the same lag for every committed partition", () => {
    const result = spawnSync(
      javaCommand(),
      [
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
        '-cp',
        kafkaTools!.classpath,
        'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
        '--bootstrap-server',
        testBrokers(),
        '--describe',
        '--group',
        groups.billing,
        '--group',
        groups.audit,
      ],
      {encoding: 'utf8', timeout: 60_000},
    )
    expect(result.status, result.stderr).toBe(0)
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...; it lists only partitions with a commit.
    const rows = result.stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[1] === topic)
      .map(([group, , partition, current, end, lag]) => [group, Number(partition), Number(current), Number(end), Number(lag)])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1]))
    const expected = [
      ...EXPECTED.billing!.lags.map((lag, p) => [groups.billing, p, COMMITS.billing![p], PRODUCED[p], lag]),
      [groups.audit, 0, 2, PRODUCED[0], EXPECTED.audit!.lags[0]],
    ].sort((a, b) => String(a[0]).localeCompare(String(b[0])) || Number(a[1]) - Number(b[1]))
    expect(rows).toEqual(expected)
  })

  test('--group limits the report to the named group', async () => {
    const result = await runCli(['lag', topic, '--json', '--group', groups.audit], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.code).toBe(0)
    const lag = JSON.parse(result.stdout) as TopicLag
    expect(lag.groups.map((g) => [g.groupId, g.total])).toEqual([[groups.audit, 13]])
  })
})

import {PartitionAssigners} from 'kafkajs'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import type {GroupDescription} from '../../src/kafka/types.js'

import {isKafkaStreamsGroup} from '../../src/kafka/groups.js'
import {readTopicLag} from '../../src/kafka/lag.js'
import {runCliJson} from '../helpers/cli.js'
import {eventually, type JavaProcess, javaToolsClasspath, startJava} from '../helpers/java-tools.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/**
 * Groups as Apache Kafka's own Java consumer forms them: KIP-848 (`group.protocol=consumer`, which
 * kafkajs's DescribeGroups reports as Dead with no members) and classic with a static member. What
 * the grow runbook relies on: such a group is listed, described with its members and assignments,
 * its committed offsets are read, and kreorg never commits into it while it has members.
 */
const java = await javaToolsClasspath()
const skip = 'skip' in java ? java.skip : undefined
/** JVM start-up on a busy 2-core test machine can take a minute: these tests wait for Java clients several times. */
const JAVA_TEST_TIMEOUT_MS = 300_000
if (skip) process.stdout.write(`[kip848-groups] skipped: ${skip}\n`)
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer'

function allAssigned(group: GroupDescription, topic: string, field: 'assignment' | 'targetAssignment' = 'assignment'): number[] {
  return group.members.flatMap((m) => m[field]?.[topic] ?? []).sort((a, b) => a - b)
}

describe.skipIf(skip !== undefined)(`KIP-848 and classic Java consumer groups${skip ? `: skipped, ${skip}` : ''}`, () => {
  const classpath = 'classpath' in java ? java.classpath : ''
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  const running: JavaProcess[] = []

  function consoleConsumer(topic: string, group: string, properties: string[]): JavaProcess {
    const props = properties.flatMap((p) => ['--command-property', p])
    const consumer = startJava(
      classpath,
      CONSOLE_CONSUMER,
      ['--bootstrap-server', testBrokers(), '--topic', topic, '--group', group, ...props],
      `ConsoleConsumer(${group})`,
    )
    running.push(consumer)
    return consumer
  }

  beforeAll(async () => {
    cluster = await connectTestCluster()
  })

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop(5000)))
    await cluster?.close()
  })

  test(
    'a live KIP-848 group is listed and described with its members, static member, assignment and target; offsets read; never committed into',
    async () => {
      const topic = randomName('kip848')
      const group = randomName('g848')
      await cluster.createTopic({topic, partitions: 3, replicationFactor: 1})
      const common = ['group.protocol=consumer', 'auto.offset.reset=earliest', 'auto.commit.interval.ms=1000']
      consoleConsumer(topic, group, common)
      consoleConsumer(topic, group, [...common, 'group.instance.id=static-848'])

      const described = await eventually(
        'both members to own all 3 partitions with a settled assignment',
        async () => (await cluster.describeGroups([group]))[0]!,
        (g) =>
          g.members.length === 2 &&
          allAssigned(g, topic).join(',') === '0,1,2' &&
          g.state === 'Stable' &&
          g.assignmentEpoch === g.groupEpoch,
      )
      expect(described).toMatchObject({groupId: group, type: 'consumer', protocolType: 'consumer', state: 'Stable'})
      expect(described.assignor).not.toBe('')
      expect(described.members.map((m) => m.groupInstanceId).sort()).toEqual(['static-848', null].sort())
      for (const member of described.members) {
        expect(member.clientId).not.toBe('')
        expect(member.memberEpoch).toBeGreaterThan(0)
        // Reconciled: each member owns what the coordinator wants it to own.
        expect(member.targetAssignment).toEqual(member.assignment)
      }
      expect(allAssigned(described, topic, 'targetAssignment')).toEqual([0, 1, 2])

      expect(await cluster.listGroupIds()).toContain(group)
      expect((await cluster.listGroups()).find((g) => g.groupId === group)).toMatchObject({type: 'consumer', state: 'Stable'})

      // OffsetFetch serves KIP-848 groups: the Java consumer commits its position on every assigned partition.
      const producer = cluster.kafkaClient.producer()
      await producer.connect()
      await producer.send({topic, messages: [0, 1, 2, 3, 4].map((i) => ({partition: 0, value: `record-${i}`}))})
      await producer.disconnect()
      const committed = await eventually(
        'the group to commit 5 on p0 and 0 on p1, p2',
        () => cluster.committedOffsets(group, topic),
        (offsets) => offsets.map((o) => o.offset).join(',') === '5,0,0',
      )
      expect(committed).toEqual([
        {partition: 0, offset: 5},
        {partition: 1, offset: 0},
        {partition: 2, offset: 0},
      ])
      const lag = await readTopicLag(cluster, topic)
      expect(lag.groups.find((g) => g.groupId === group)).toMatchObject({
        state: 'Stable',
        protocol: 'consumer',
        members: 2,
        assigned: [0, 1, 2],
        total: 0,
      })

      // What an operator sees: `kreorg lag` and `kreorg grow --dry-run` (the real CLI) show the group live, with its members.
      const env = {KAFKA_BROKERS: testBrokers()}
      const cliLag = await runCliJson(['lag', topic], {env, timeoutMs: 60_000})
      expect(cliLag.code, cliLag.stderr).toBe(0)
      const shown = (cliLag.events[0] as unknown as {groups: Array<Record<string, unknown>>}).groups.find((g) => g.groupId === group)
      expect(shown).toMatchObject({protocol: 'consumer', state: 'Stable', members: 2, assigned: [0, 1, 2], total: 0})
      const dryRun = await runCliJson(['grow', topic, '--to', '6', '--dry-run', '--no-producers', '--control-topic', randomName('ctl')], {
        env,
        timeoutMs: 120_000,
      })
      const planEvent = dryRun.events.find((e) => (e as {plan?: unknown}).plan !== undefined) as unknown as
        {plan: {groups: Array<Record<string, unknown>>; blockers: string[]}} | undefined
      expect(planEvent, `${dryRun.stdout}\n${dryRun.stderr}`).toBeDefined()
      expect(planEvent!.plan.groups.find((g) => g.groupId === group)).toMatchObject({type: 'consumer', state: 'Stable', members: 2, lag: 0})
      // The only blocker is this test's own producer above (no agent): the live group is not one.
      expect(planEvent!.plan.blockers.join('\n')).not.toContain(group)
      expect(planEvent!.plan.blockers.join('\n')).toMatch(/writer without an agent/)
      expect(dryRun.code, dryRun.stderr).toBe(3)

      // kafkajs's setOffsets would join this live group as a classic member: kreorg refuses instead, and nobody joins.
      await expect(cluster.commitOffsets(group, topic, [{partition: 1, offset: 0}])).rejects.toThrow(/2 active member/)
      const after = (await cluster.describeGroups([group]))[0]!
      expect(after.type).toBe('consumer')
      expect(after.members.map((m) => m.memberId).sort()).toEqual(described.members.map((m) => m.memberId).sort())
    },
    JAVA_TEST_TIMEOUT_MS,
  )

  test(
    "an empty KIP-848 group takes kreorg's commit, and it reads back",
    async () => {
      const topic = randomName('kip848-empty')
      const group = randomName('g848-empty')
      await cluster.createTopic({topic, partitions: 2, replicationFactor: 1})
      const consumer = consoleConsumer(topic, group, ['group.protocol=consumer'])
      await eventually(
        'the member to be assigned',
        async () => (await cluster.describeGroups([group]))[0]!,
        (g) => allAssigned(g, topic).join(',') === '0,1',
      )
      await consumer.stop()
      const empty = await eventually(
        'the group to be empty',
        async () => (await cluster.describeGroups([group]))[0]!,
        (g) => g.members.length === 0,
      )
      expect(empty).toMatchObject({type: 'consumer', state: 'Empty'})

      await cluster.commitOffsets(group, topic, [
        {partition: 0, offset: 0},
        {partition: 1, offset: 0},
      ])
      expect(await cluster.committedOffsets(group, topic)).toEqual([
        {partition: 0, offset: 0},
        {partition: 1, offset: 0},
      ])
      // Still a KIP-848 group with no members: the commit did not join it as a classic member.
      expect((await cluster.describeGroups([group]))[0]).toMatchObject({type: 'consumer', members: []})
    },
    JAVA_TEST_TIMEOUT_MS,
  )

  test(
    'classic groups: a static Java member is named, a Streams-assignor group is recognised, a missing group is unknown',
    async () => {
      const topic = randomName('classic-static')
      const staticGroup = randomName('g-static')
      const streamsGroup = randomName('g-streams')
      await cluster.createTopic({topic, partitions: 2, replicationFactor: 1})
      consoleConsumer(topic, staticGroup, ['group.instance.id=static-classic'])

      // A classic group whose members chose Kafka Streams' assignor name, as a classic Streams app does.
      const streamsLike = cluster.kafkaClient.consumer({
        groupId: streamsGroup,
        partitionAssigners: [(config) => ({...PartitionAssigners.roundRobin(config), name: 'stream'})],
      })
      await streamsLike.connect()
      await streamsLike.subscribe({topic})
      await streamsLike.run({async eachMessage() {}})
      try {
        const [statik, streams, missing] = await eventually(
          'both classic groups to be stable',
          () => cluster.describeGroups([staticGroup, streamsGroup, randomName('g-missing')]),
          ([a, b]) =>
            a!.state === 'Stable' && allAssigned(a!, topic).length === 2 && b!.state === 'Stable' && allAssigned(b!, topic).length === 2,
        )
        expect(statik).toMatchObject({type: 'classic', protocolType: 'consumer'})
        expect(statik!.members).toHaveLength(1)
        expect(statik!.members[0]!.groupInstanceId).toBe('static-classic')
        expect(isKafkaStreamsGroup(statik!)).toBe(false)

        expect(streams).toMatchObject({type: 'classic', protocolType: 'consumer', assignor: 'stream'})
        expect(streams!.members[0]!.groupInstanceId).toBeNull()
        expect(isKafkaStreamsGroup(streams!)).toBe(true)

        expect(missing).toMatchObject({type: 'unknown', state: 'Dead', members: []})
        expect(
          (await cluster.listGroups()).filter((g) => g.groupId === staticGroup || g.groupId === streamsGroup).map((g) => g.type),
        ).toEqual(['classic', 'classic'])
      } finally {
        await streamsLike.disconnect()
      }
    },
    JAVA_TEST_TIMEOUT_MS,
  )
})

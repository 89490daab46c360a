import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, HeldSendsFullError, type ProducerAgent, SendDeadlineError} from '../../src/agent/index.js'
import {ControlChannel, localHolder} from '../../src/control/channel.js'
import {decode, encode} from '../../src/control/codec.js'
import {AGENT_CAPABILITIES, type Command, type Heartbeat, HEARTBEAT_TOPIC_CONFIG, heartbeatTopicOf, keys} from '../../src/control/schema.js'
import {checkControlTopicConfig} from '../../src/control/topic-config.js'
import {KreorgError} from '../../src/core/errors.js'
import {createKafkaClient, type KafkaClient} from '../../src/kafka/client.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

// Control protocol 1.1 on a real broker with the kafkajs agent: pin, resume with and without a target,
// epoch fencing (agents and leases), heartbeats on their own topic, the held-send cap and deadline.

const connection = () => ({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const keyList = Array.from({length: 64}, (_, i) => `customer-${i}`)

/** Every record of a topic from the beginning, read with a throwaway consumer until the end offsets seen at start. */
async function readTopic(
  kafka: KafkaClient,
  topic: string,
): Promise<Array<{partition: number; offset: number; key: string | null; value: Buffer | null; timestamp: number}>> {
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const wanted = new Map(ends.map((o) => [o.partition, Number(o.high)]))
  const records: Array<{partition: number; offset: number; key: string | null; value: Buffer | null; timestamp: number}> = []
  if ([...wanted.values()].every((high) => high === 0)) return records
  const consumer = kafka.consumer({groupId: randomName('kreorg-internal-test'), maxWaitTimeInMs: 200})
  const position = new Map<number, number>()
  const caughtUp = () => [...wanted].every(([p, high]) => (position.get(p) ?? 0) >= high)
  await consumer.connect()
  await consumer.subscribe({topic, fromBeginning: true})
  await consumer.run({
    async eachMessage({partition, message}) {
      records.push({
        partition,
        offset: Number(message.offset),
        key: message.key?.toString() ?? null,
        value: message.value,
        timestamp: Number(message.timestamp),
      })
      position.set(partition, Number(message.offset) + 1)
    },
  })
  const deadline = Date.now() + 30_000
  while (!caughtUp() && Date.now() < deadline) await sleep(100)
  await consumer.disconnect()
  return records
}

describe('control protocol 1.1 with the kafkajs agent (real broker)', () => {
  const controlTopic = randomName('ctl11')
  const topics: string[] = [controlTopic, heartbeatTopicOf(controlTopic)]
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  let kafka: KafkaClient
  const agents: ProducerAgent[] = []
  const channels: ControlChannel[] = []

  async function dataTopic(partitions: number): Promise<string> {
    const topic = randomName('data11')
    await cluster.createTopic({topic, partitions, replicationFactor: 1})
    topics.push(topic)
    return topic
  }
  async function agent(topic: string, extra: Partial<Parameters<typeof createProducerAgent>[0]> = {}): Promise<ProducerAgent> {
    const created = await createProducerAgent({kafka, topics: [topic], controlTopic, heartbeatMs: 300, logger: {warn() {}}, ...extra})
    agents.push(created)
    return created
  }
  async function channel(): Promise<ControlChannel> {
    const opened = await ControlChannel.open(connection(), {controlTopic, create: true})
    channels.push(opened)
    return opened
  }
  async function sendAll(a: ProducerAgent, topic: string, tag: string): Promise<Map<string, number>> {
    const placed = new Map<string, number>()
    await Promise.all(
      keyList.map(async (key) => {
        const [meta] = await a.send({topic, messages: [{key, value: tag}]})
        placed.set(key, meta!.partition)
      }),
    )
    return placed
  }

  beforeAll(async () => {
    cluster = await connectTestCluster()
    kafka = createKafkaClient(connection())
  })

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.close()))
    await Promise.allSettled(channels.map((c) => c.close()))
    await cluster.deleteTopics(topics).catch(() => {})
    await cluster.close()
  })

  it('pinned: the agent writes only below the pin after the topic grew; resume without target keeps the pin, with target lifts it', async () => {
    const topic = await dataTopic(4)
    const a = await agent(topic)
    const orchestrator = await channel()
    const runId = randomName('run')
    const epoch = orchestrator.nextEpoch(topic, runId)
    await orchestrator.acquireLease(topic, {...localHolder(runId), epoch}, 10_000)
    await orchestrator.pin(topic, {runId, epoch, pinPartitions: 4})
    const [pinned] = await orchestrator.waitForAcks(topic, {runId, epoch, agentIds: [a.agentId], state: 'pinned', timeoutMs: 10_000})
    expect(pinned).toMatchObject({state: 'pinned', partitionCount: 4})
    expect(a.topicState(topic)).toMatchObject({state: 'running', pinnedPartitions: 4})

    await cluster.createPartitions(topic, 8)
    // A pause and a resume without target: the producer refreshes its metadata (sees 8) and stays pinned.
    await orchestrator.pause(topic, {runId, epoch})
    await orchestrator.waitForAcks(topic, {runId, epoch, agentIds: [a.agentId], state: 'paused', timeoutMs: 10_000})
    await orchestrator.resume(topic, {runId, epoch})
    expect(orchestrator.currentCommand(topic)).toMatchObject({action: 'resume', pinPartitions: 4})
    const [kept] = await orchestrator.waitForAcks(topic, {runId, epoch, agentIds: [a.agentId], state: 'resumed', timeoutMs: 10_000})
    expect(kept!.partitionCount).toBe(4)
    expect(a.partitionCount(topic)).toBe(8)
    const whilePinned = await sendAll(a, topic, 'pinned')
    for (const [key, partition] of whilePinned) expect(partition, key).toBe(partitionForKey(key, 4))

    // An agent that starts now reads the resume that kept the pin: it starts pinned too.
    const late = await agent(topic)
    expect(late.topicState(topic).pinnedPartitions).toBe(4)
    for (const [key, partition] of await sendAll(late, topic, 'late')) expect(partition, key).toBe(partitionForKey(key, 4))

    await orchestrator.resume(topic, {runId, epoch, targetPartitions: 8})
    const lifted = await orchestrator.waitForAcks(topic, {
      runId,
      epoch,
      agentIds: [a.agentId, late.agentId],
      state: 'resumed',
      timeoutMs: 10_000,
    })
    expect(lifted.map((ack) => ack.partitionCount)).toEqual([8, 8])
    expect(a.topicState(topic).pinnedPartitions).toBeUndefined()
    const afterLift = await sendAll(a, topic, 'lifted')
    for (const [key, partition] of afterLift) expect(partition, key).toBe(partitionForKey(key, 8))
    expect([...afterLift.values()].some((p) => p >= 4)).toBe(true)
    // Nothing reached partitions 4..7 before the lift but what the lift sent.
    const records = await readTopic(kafka, topic)
    expect(records.filter((r) => r.partition >= 4).every((r) => r.value?.toString() === 'lifted')).toBe(true)
  })

  it('fencing: a stale-epoch resume is ignored by agents (and refused by the channel); a woken stale orchestrator loses its lease', async () => {
    const topic = await dataTopic(2)
    const a = await agent(topic)
    const first = await channel()
    const runId = randomName('run')
    const oldEpoch = first.nextEpoch(topic, runId)
    const oldLease = await first.acquireLease(topic, {...localHolder(runId), epoch: oldEpoch}, 2400)
    await first.pause(topic, {runId, epoch: oldEpoch, pinPartitions: 2})
    await first.waitForAcks(topic, {runId, epoch: oldEpoch, agentIds: [a.agentId], state: 'paused', timeoutMs: 10_000})

    // Another host resumes the run: a later attempt with a higher epoch claims the same run's lease.
    const second = await channel()
    const newEpoch = second.nextEpoch(topic, runId)
    expect(newEpoch).toBeGreaterThan(oldEpoch)
    const newLease = await second.acquireLease(topic, {...localHolder(runId), epoch: newEpoch}, 10_000)
    await second.pause(topic, {runId, epoch: newEpoch})
    await second.waitForAcks(topic, {runId, epoch: newEpoch, agentIds: [a.agentId], state: 'paused', timeoutMs: 10_000})

    // The first orchestrator's next renewal is refused: its lease is lost for good.
    await oldLease.renew()
    expect(oldLease.valid()).toBe(false)
    expect(oldLease.lostReason).toMatch(/later attempt of the same run .* epoch/)
    expect(newLease.valid()).toBe(true)
    const refused = await first.resume(topic, {runId, epoch: oldEpoch, targetPartitions: 2}).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(KreorgError)
    expect((refused as KreorgError).message).toMatch(/already used epoch/)
    const reclaimed = await first.acquireLease(topic, {...localHolder(runId), epoch: oldEpoch}, 2400).catch((error: unknown) => error)
    expect((reclaimed as KreorgError).code).toBe('lease-held')

    // A stale resume written anyway (by an older kreorg): the agent ignores it and does not ack.
    const held = a.send({topic, messages: [{key: 'k', value: 'held'}]})
    const stale: Command = {v: 1, type: 'cmd', action: 'resume', topic, runId, epoch: oldEpoch, targetPartitions: 2, at: Date.now()}
    const raw = kafka.producer()
    await raw.connect()
    await raw.send({topic: controlTopic, acks: -1, messages: [{key: keys.cmd(topic), value: encode(keys.cmd(topic), stale), partition: 0}]})
    await raw.disconnect()
    const ignored = await second
      .waitForAcks(topic, {runId, epoch: oldEpoch, agentIds: [a.agentId], state: 'resumed', timeoutMs: 1500})
      .catch((error: unknown) => error)
    expect((ignored as KreorgError).code).toBe('timeout')
    expect(a.topicState(topic)).toMatchObject({state: 'paused', epoch: newEpoch, pinnedPartitions: 2})
    expect(second.currentCommand(topic)).toMatchObject({action: 'pause', epoch: newEpoch})

    await second.resume(topic, {runId, epoch: newEpoch, targetPartitions: 2})
    await second.waitForAcks(topic, {runId, epoch: newEpoch, agentIds: [a.agentId], state: 'resumed', timeoutMs: 10_000})
    await held
    await newLease.release()
  })

  it('heartbeats go to <control>-heartbeats with capabilities, language, producer id and lastWrite; agents() returns them', async () => {
    const topic = await dataTopic(3)
    const a = await agent(topic, {producer: {idempotent: true, maxInFlightRequests: 1}})
    const [written] = await a.send({topic, messages: [{key: 'k', value: 'v'}]})
    const orchestrator = await channel()
    let info = (await orchestrator.agents(topic)).find((x) => x.agentId === a.agentId)
    const deadline = Date.now() + 10_000
    while (info?.lastWrite?.[topic] === undefined && Date.now() < deadline) {
      await sleep(200)
      info = (await orchestrator.agents(topic)).find((x) => x.agentId === a.agentId)
    }
    expect(info).toMatchObject({
      capabilities: [...AGENT_CAPABILITIES],
      language: 'kafkajs',
      partitioner: 'murmur2',
      idempotent: true,
      heartbeatSource: 'heartbeats',
      lastWrite: {[topic]: {partition: written!.partition, offset: Number(written!.baseOffset)}},
    })
    expect(info!.producerId).toBeGreaterThanOrEqual(0)
    expect(info!.producerId).toBe(a.producerId)
    // The producer id is the one the broker knows for the partition the agent wrote.
    const producers = await cluster.describeProducers(topic, [written!.partition])
    expect(producers.flatMap((p) => p.producers.map((x) => x.producerId))).toContain(a.producerId)

    const heartbeatTopic = heartbeatTopicOf(controlTopic)
    expect(await cluster.topicConfig(heartbeatTopic, Object.keys(HEARTBEAT_TOPIC_CONFIG))).toMatchObject(HEARTBEAT_TOPIC_CONFIG)
    const beats = (await readTopic(kafka, heartbeatTopic)).filter((r) => r.key === keys.agent(a.agentId) && r.value)
    expect(beats.length).toBeGreaterThan(0)
    const decoded = decode(beats.at(-1)!.key, beats.at(-1)!.value)
    expect(decoded).toMatchObject({ok: true})
    expect((decoded as {message: Heartbeat}).message).toMatchObject({capabilities: [...AGENT_CAPABILITIES], language: 'kafkajs'})
    // Nothing of this agent's heartbeats on the compacted control topic any more.
    expect((await readTopic(kafka, controlTopic)).filter((r) => r.key === keys.agent(a.agentId))).toEqual([])

    // A non-idempotent producer reports -1 (kreorg then reads the producer id from the batch at lastWrite).
    const plain = await agent(topic)
    expect(plain.producerId).toBe(-1)
    await plain.close()
    // Its clean shutdown: a tombstone where its heartbeats are, and the channel forgets it.
    await sleep(500)
    expect((await orchestrator.agents(topic, {includeStale: true})).map((x) => x.agentId)).not.toContain(plain.agentId)
  })

  it('held sends: a hard cap fails fast with HeldSendsFullError; a deadline fails one held send without reordering the others', async () => {
    const topic = await dataTopic(1)
    const a = await agent(topic, {maxHeldSends: 5})
    const orchestrator = await channel()
    const runId = randomName('run')
    const epoch = orchestrator.nextEpoch(topic, runId)
    await orchestrator.acquireLease(topic, {...localHolder(runId), epoch}, 10_000)
    await orchestrator.pause(topic, {runId, epoch})
    await orchestrator.waitForAcks(topic, {runId, epoch, agentIds: [a.agentId], state: 'paused', timeoutMs: 10_000})
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        () => 'sent',
        (error: unknown) => (error instanceof Error ? error.name : String(error)),
      )
    const first = [0, 1].map((i) => outcome(a.send({topic, messages: [{key: 'k', value: `v${i}`}]})))
    const expiring = outcome(a.send({topic, messages: [{key: 'k', value: 'late'}]}, {timeoutMs: 300}))
    const rest = [3, 4].map((i) => outcome(a.send({topic, messages: [{key: 'k', value: `v${i}`}]})))
    const full = await a
      .send({
        topic,
        messages: [
          {key: 'k', value: 'v5'},
          {key: 'k', value: 'v6'},
        ],
      })
      .catch((error: unknown) => error)
    expect(full).toBeInstanceOf(HeldSendsFullError)
    expect(full).toMatchObject({code: 'HELD_SENDS_FULL', held: 5, records: 2, maxHeldSends: 5})
    expect(await expiring).toBe('SendDeadlineError')
    expect(a.buffered).toBe(4)
    const expired = await a.send({topic, messages: [{key: 'k', value: 'x'}]}, {timeoutMs: 10}).catch((error: unknown) => error)
    expect(expired).toBeInstanceOf(SendDeadlineError)

    await orchestrator.resume(topic, {runId, epoch, targetPartitions: 1})
    expect(await Promise.all([...first, ...rest])).toEqual(['sent', 'sent', 'sent', 'sent'])
    const values = (await readTopic(kafka, topic)).map((r) => r.value?.toString())
    expect(values).toEqual(['v0', 'v1', 'v3', 'v4'])
  })

  it('checkControlTopicConfig: a topic as kreorg creates it passes; a hand-made one is explained', async () => {
    await channel()
    expect(await checkControlTopicConfig(cluster, controlTopic)).toEqual([])
    const bad = randomName('ctl-bad')
    topics.push(bad)
    await cluster.createTopic({topic: bad, partitions: 1, replicationFactor: 1, configs: {'cleanup.policy': 'delete'}})
    const problems = await checkControlTopicConfig(cluster, bad)
    expect(problems.map((p) => p.setting)).toEqual(['cleanup.policy', 'message.timestamp.type'])
    expect(problems.every((p) => p.severity === 'error' && p.explanation.length > 0)).toBe(true)
  })
})

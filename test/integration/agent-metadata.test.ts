import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {ControlChannel, localHolder} from '../../src/control/channel.js'
import {createKafkaClient, type KafkaClient} from '../../src/kafka/client.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

const connection = () => ({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})

/** A key whose partition differs between `from` and `to` partitions. */
function movingKey(from: number, to: number): string {
  for (let i = 0; ; i++) {
    const key = `key-${i}`
    if (partitionForKey(key, from) !== partitionForKey(key, to)) return key
  }
}

describe('agent metadata refresh (real broker)', () => {
  const controlTopic = randomName('ctl')
  const topic = randomName('meta')
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  let kafka: KafkaClient
  let agent: ProducerAgent | undefined
  let channel: ControlChannel | undefined

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 4, replicationFactor: 1})
    kafka = createKafkaClient(connection())
  })

  afterAll(async () => {
    await agent?.close()
    await channel?.close()
    await cluster.deleteTopics([topic, controlTopic]).catch(() => {})
    await cluster.close()
  })

  it('after createPartitions + refresh, the next send of a moved key lands in murmur2 % newCount', async () => {
    const key = movingKey(4, 8)
    agent = await createProducerAgent({kafka, topics: [topic], controlTopic, heartbeatMs: 500, logger: {warn() {}}})
    // A plain kafkajs producer with default settings: the stale-cache problem the agent must avoid.
    const plain = kafka.producer()
    await plain.connect()
    const [before] = await agent.send({topic, messages: [{key, value: 'before'}]})
    await plain.send({topic, messages: [{key, value: 'plain-before'}]})
    expect(before!.partition).toBe(partitionForKey(key, 4))

    await cluster.createPartitions(topic, 8)
    // Control: kafkajs still partitions with the cached count of 4.
    const [stale] = await plain.send({topic, messages: [{key, value: 'plain-after'}]})
    await plain.disconnect()
    expect(stale!.partition).toBe(partitionForKey(key, 4))

    channel = await ControlChannel.open(connection(), {controlTopic, create: true})
    const runId = randomName('run')
    await channel.acquireLease(topic, localHolder(runId), 5000)
    await channel.pause(topic, {runId, epoch: 1})
    await channel.waitForAcks(topic, {runId, epoch: 1, agentIds: [agent.agentId], state: 'paused', timeoutMs: 10_000})
    await channel.refresh(topic, {runId, epoch: 1, targetPartitions: 8, canaryKeys: [key, 'other']})
    const [refreshed] = await channel.waitForAcks(topic, {
      runId,
      epoch: 1,
      agentIds: [agent.agentId],
      state: 'refreshed',
      timeoutMs: 10_000,
    })
    expect(refreshed!.partitionCount).toBe(8)
    expect(refreshed!.canary).toEqual({[key]: partitionForKey(key, 8), other: partitionForKey('other', 8)})
    expect(refreshed!.partitioner).toBe('murmur2')

    await channel.resume(topic, {runId, epoch: 1, targetPartitions: 8})
    const [resumed] = await channel.waitForAcks(topic, {runId, epoch: 1, agentIds: [agent.agentId], state: 'resumed', timeoutMs: 10_000})
    expect(resumed!.partitionCount).toBe(8)
    const [after] = await agent.send({topic, messages: [{key, value: 'after'}]})
    expect(after!.partition).toBe(partitionForKey(key, 8))
    expect(after!.partition).not.toBe(partitionForKey(key, 4))
  })
})

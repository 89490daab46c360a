import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {ControlChannel, localHolder} from '../../src/control/channel.js'
import {KreorgError} from '../../src/core/errors.js'
import {createKafkaClient, type KafkaClient, type RecordMetadata} from '../../src/kafka/client.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

const connection = () => ({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Captured {
  warnings: string[]
  logger: {warn: (message: string) => void}
}
function captureLogger(): Captured {
  const warnings: string[] = []
  return {warnings, logger: {warn: (message) => warnings.push(message)}}
}

/** Every record of a topic, read with a throwaway consumer. */
async function readAll(
  kafka: KafkaClient,
  topic: string,
  expected: number,
): Promise<Array<{partition: number; key: string; value: string; offset: number; timestamp: number}>> {
  const consumer = kafka.consumer({groupId: randomName('kreorg-internal-test'), maxWaitTimeInMs: 200})
  const records: Array<{partition: number; key: string; value: string; offset: number; timestamp: number}> = []
  await consumer.connect()
  await consumer.subscribe({topic, fromBeginning: true})
  await consumer.run({
    async eachMessage({partition, message}) {
      records.push({
        partition,
        key: message.key!.toString(),
        value: message.value!.toString(),
        offset: Number(message.offset),
        timestamp: Number(message.timestamp),
      })
    },
  })
  const deadline = Date.now() + 30_000
  while (records.length < expected && Date.now() < deadline) await sleep(100)
  await sleep(300)
  await consumer.disconnect()
  return records
}

describe('control topic protocol and producer agent (real broker)', () => {
  const controlTopic = randomName('ctl')
  const topics: string[] = []
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>
  let kafka: KafkaClient
  const agents: ProducerAgent[] = []
  const channels: ControlChannel[] = []

  async function dataTopic(partitions = 3): Promise<string> {
    const topic = randomName('data')
    // Broker timestamps, so "nothing appended after the last ack" is checked on the broker's clock.
    await cluster.createTopic({topic, partitions, replicationFactor: 1, configs: {'message.timestamp.type': 'LogAppendTime'}})
    topics.push(topic)
    return topic
  }
  async function agent(topic: string, extra: Partial<Parameters<typeof createProducerAgent>[0]> = {}): Promise<ProducerAgent> {
    const created = await createProducerAgent({kafka, topics: [topic], controlTopic, heartbeatMs: 300, logger: {warn() {}}, ...extra})
    agents.push(created)
    return created
  }
  async function channel(secret?: string): Promise<ControlChannel> {
    const opened = await ControlChannel.open(connection(), {controlTopic, create: true, ...(secret ? {secret} : {})})
    channels.push(opened)
    return opened
  }
  async function totalEnd(topic: string): Promise<number> {
    return (await cluster.endOffsets(topic)).reduce((sum, p) => sum + p.high, 0)
  }

  beforeAll(async () => {
    cluster = await connectTestCluster()
    kafka = createKafkaClient(connection())
  })

  afterAll(async () => {
    await Promise.allSettled(agents.map((a) => a.close()))
    await Promise.allSettled(channels.map((c) => c.close()))
    await cluster.deleteTopics([...topics, controlTopic]).catch(() => {})
    await cluster.close()
  })

  it('pause: three agents ack, nothing is appended after the last ack; after resume every key sequence is complete, once, in order', async () => {
    const topic = await dataTopic(3)
    const three = [await agent(topic), await agent(topic, {producer: {idempotent: true, maxInFlightRequests: 1}}), await agent(topic)]
    const orchestrator = await channel()
    expect((await orchestrator.agents(topic)).map((a) => a.agentId).sort()).toEqual(three.map((a) => a.agentId).sort())

    // Steady traffic: every 5ms each agent sends the next sequence number of one of its 4 keys, without awaiting.
    const sent: Array<Promise<RecordMetadata[]>> = []
    const sequences = new Map<string, number>()
    let running = true
    const loops = three.map(async (a, i) => {
      for (let tick = 0; running; tick++) {
        const key = `agent${i}-key${tick % 4}`
        const seq = sequences.get(key) ?? 0
        sequences.set(key, seq + 1)
        sent.push(a.send({topic, messages: [{key, value: String(seq)}]}))
        await sleep(5)
      }
    })
    await sleep(700)
    const runId = randomName('run')
    await orchestrator.acquireLease(topic, localHolder(runId), 5000)
    await orchestrator.pause(topic, {runId, epoch: 1})
    const acks = await orchestrator.waitForAcks(topic, {
      runId,
      epoch: 1,
      agentIds: three.map((a) => a.agentId),
      state: 'paused',
      timeoutMs: 10_000,
    })
    expect(acks).toHaveLength(3)
    const endAtAck = await totalEnd(topic)
    const lastAckAt = Math.max(...acks.map((a) => a.at))
    await sleep(1500) // senders keep calling send() all along
    expect(await totalEnd(topic)).toBe(endAtAck)
    expect(three.every((a) => a.topicState(topic).state === 'paused')).toBe(true)
    expect(three.reduce((sum, a) => sum + a.buffered, 0)).toBeGreaterThan(100)
    const agentsView = await orchestrator.agents(topic)
    expect(agentsView.every((a) => a.states[topic]?.state === 'paused' && a.states[topic]?.runId === runId)).toBe(true)

    const resumedAt = Date.now()
    await orchestrator.resume(topic, {runId, epoch: 1})
    await orchestrator.waitForAcks(topic, {runId, epoch: 1, agentIds: three.map((a) => a.agentId), state: 'resumed', timeoutMs: 10_000})
    await sleep(700)
    running = false
    await Promise.all(loops)
    const results = await Promise.all(sent)
    expect(results).toHaveLength(sent.length)
    const endAfter = await totalEnd(topic)
    expect(endAfter).toBe(sent.length)
    expect(endAfter).toBeGreaterThan(endAtAck + 300) // held records plus fresh traffic after resume

    const records = await readAll(kafka, topic, sent.length)
    expect(records).toHaveLength(sent.length)
    // Broker append times (same host clock): nothing was appended between the last ack and the resume.
    const appendedWhilePaused = records.filter((r) => r.timestamp > lastAckAt && r.timestamp < resumedAt)
    expect(appendedWhilePaused).toEqual([])
    expect(records.filter((r) => r.timestamp >= resumedAt).length).toBeGreaterThan(300)
    const byKey = new Map<string, number[]>()
    for (const r of records.sort((a, b) => a.partition - b.partition || a.offset - b.offset))
      byKey.set(r.key, [...(byKey.get(r.key) ?? []), Number(r.value)])
    expect(byKey.size).toBe(12)
    for (const [key, seqs] of byKey) expect(seqs, key).toEqual(Array.from({length: sequences.get(key)!}, (_, i) => i))
    await orchestrator.currentLease(topic).then(async (lease) => expect(lease?.runId).toBe(runId))
  })

  it('an agent started during a pause stays paused until resume; a second orchestrator is refused while the lease is valid', async () => {
    const topic = await dataTopic(1)
    const orchestrator = await channel()
    const runId = randomName('run')
    const lease = await orchestrator.acquireLease(topic, localHolder(runId), 3000)
    // Re-entrant for the same run id.
    expect(await orchestrator.acquireLease(topic, localHolder(runId), 3000)).toBe(lease)
    await orchestrator.pause(topic, {runId, epoch: 7})

    const late = await agent(topic)
    expect(late.topicState(topic).state).toBe('paused')
    let done = false
    const pending = late.send({topic, messages: [{key: 'k', value: 'held'}]}).then((r) => ((done = true), r))
    // Awaited below; if an assertion fails first, afterAll's close() rejects it: not an unhandled rejection.
    pending.catch(() => {})
    await sleep(4000) // longer than the lease: renewals keep it paused
    expect(done).toBe(false)
    expect(await totalEnd(topic)).toBe(0)

    const second = await channel()
    const refused = await second.acquireLease(topic, localHolder('another-run'), 3000).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(KreorgError)
    expect((refused as KreorgError).code).toBe('lease-held')
    expect((refused as KreorgError).exitCode).toBe(6)
    expect((refused as KreorgError).message).toContain(runId)

    await orchestrator.resume(topic, {runId, epoch: 7})
    const [meta] = await pending
    expect(meta!.baseOffset).toBe('0')
    expect(late.topicState(topic).state).toBe('running')
    await lease.release()
    // Released: the second orchestrator gets it now.
    const taken = await second.acquireLease(topic, localHolder('another-run'), 3000)
    expect(taken.valid()).toBe(true)
    await taken.release()
  })

  it('concurrent claims: exactly one orchestrator wins, and every reader agrees on which', async () => {
    const [a, b, c] = [await channel(), await channel(), await channel()]
    for (let round = 0; round < 3; round++) {
      const topic = randomName('race')
      const results = await Promise.allSettled([a, b, c].map((ch, i) => ch.acquireLease(topic, localHolder(`run-${round}-${i}`), 10_000)))
      const winners = results.filter((r) => r.status === 'fulfilled')
      expect(winners).toHaveLength(1)
      const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      const winner = (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<ControlChannel['acquireLease']>>>).value
      for (const loser of losers) {
        expect((loser.reason as KreorgError).code).toBe('lease-held')
        expect((loser.reason as KreorgError).message).toContain(winner.runId)
      }
      for (const ch of [a, b, c]) expect((await ch.currentLease(topic))?.runId).toBe(winner.runId)
      await winner.release()
    }
  })

  it('transactional producer: the pause ack waits for the open transaction; new transactions wait for resume', async () => {
    const topic = await dataTopic(1)
    const a = await agent(topic, {producer: {transactionalId: randomName('tx'), idempotent: true, maxInFlightRequests: 1}})
    const orchestrator = await channel()
    const runId = randomName('run')
    await orchestrator.acquireLease(topic, localHolder(runId), 5000)
    const tx = await a.transaction()
    await tx.send({topic, messages: [{key: 'k', value: 'in-tx'}]})
    await orchestrator.pause(topic, {runId, epoch: 1})
    const early = await orchestrator
      .waitForAcks(topic, {runId, epoch: 1, agentIds: [a.agentId], state: 'paused', timeoutMs: 1000})
      .catch((error: unknown) => error)
    expect((early as KreorgError).code).toBe('timeout')
    await tx.commit()
    await orchestrator.waitForAcks(topic, {runId, epoch: 1, agentIds: [a.agentId], state: 'paused', timeoutMs: 5000})
    // The ack waits for the commit marker (EndTxn returns before the broker writes it): the end offset,
    // which is the last stable offset, already covers the record and the marker, and stays there.
    const endAtAck = await totalEnd(topic)
    expect(endAtAck).toBe(2) // record + commit marker
    let begun = false
    const next = a.transaction().then((t) => ((begun = true), t))
    // Awaited below; if an assertion fails first, afterAll's close() rejects it: not an unhandled rejection.
    next.catch(() => {})
    await sleep(500)
    expect(begun).toBe(false)
    expect(await totalEnd(topic)).toBe(endAtAck)
    await orchestrator.resume(topic, {runId, epoch: 1})
    const tx2 = await next
    await tx2.send({topic, messages: [{key: 'k', value: 'after'}]})
    await tx2.commit()
    // Not paused now, so nothing waits for this commit's marker: it lands shortly after commit() returns.
    const deadline = Date.now() + 15_000
    while ((await totalEnd(topic)) < endAtAck + 2 && Date.now() < deadline) await sleep(100)
    expect(await totalEnd(topic)).toBe(endAtAck + 2)
  })

  it('a lapsed lease resumes agents by themselves', async () => {
    const topic = await dataTopic(1)
    const log = captureLogger()
    const a = await agent(topic, {logger: log.logger})
    const orchestrator = await channel()
    const runId = randomName('run')
    const lease = await orchestrator.acquireLease(topic, localHolder(runId), 1500)
    await orchestrator.pause(topic, {runId, epoch: 1})
    await orchestrator.waitForAcks(topic, {runId, epoch: 1, agentIds: [a.agentId], state: 'paused', timeoutMs: 5000})
    const lapsed = new Promise((resolve) => a.once('lapsed', resolve))
    lease.stop() // the orchestrator "dies": no more renewals
    const started = Date.now()
    const [meta] = await a.send({topic, messages: [{key: 'k', value: 'after-lapse'}]})
    await lapsed
    expect(Date.now() - started).toBeLessThan(3000)
    expect(meta!.baseOffset).toBe('0')
    expect(lease.valid()).toBe(false)
    expect(() => lease.assertValid()).toThrow(/no longer held/)
    expect(log.warnings.some((w) => w.includes('lapsed'))).toBe(true)
  })

  it('with a secret, unsigned commands and garbage records are ignored and logged', async () => {
    const topic = await dataTopic(1)
    const secret = 'test-secret-1234'
    const log = captureLogger()
    const a = await agent(topic, {secret, logger: log.logger})

    // Garbage on the control topic: not JSON, unknown version, unknown key, wrong schema.
    const raw = kafka.producer()
    await raw.connect()
    await raw.send({
      topic: controlTopic,
      messages: [
        {key: `cmd/${topic}`, value: 'not json {'},
        {key: `cmd/${topic}`, value: JSON.stringify({v: 2, type: 'cmd', action: 'pause'})},
        {key: 'nonsense', value: 'x'},
        {key: `cmd/${topic}`, value: JSON.stringify({v: 1, type: 'cmd', action: 'explode', topic})},
      ],
    })
    await raw.disconnect()

    // An orchestrator without the secret: its lease and pause are unsigned.
    const unsigned = await channel()
    const runId = randomName('unsigned')
    await unsigned.acquireLease(topic, localHolder(runId), 3000)
    await unsigned.pause(topic, {runId, epoch: 1})
    const wait = await unsigned
      .waitForAcks(topic, {runId, epoch: 1, agentIds: [a.agentId], state: 'paused', timeoutMs: 1500})
      .catch((error: unknown) => error)
    expect((wait as KreorgError).code).toBe('timeout')
    expect((wait as KreorgError).message).toContain(a.agentId)
    const [meta] = await a.send({topic, messages: [{key: 'k', value: 'still running'}]})
    expect(meta!.baseOffset).toBe('0')
    expect(a.topicState(topic).state).toBe('running')
    expect(log.warnings.some((w) => w.includes('unsigned'))).toBe(true)
    expect(log.warnings.some((w) => w.includes('not JSON'))).toBe(true)
    expect(log.warnings.some((w) => w.includes('unsupported protocol version'))).toBe(true)

    // The signed orchestrator ignores the unsigned lease and is obeyed.
    const signed = await channel(secret)
    const signedRun = randomName('signed')
    await signed.acquireLease(topic, localHolder(signedRun), 3000)
    await signed.pause(topic, {runId: signedRun, epoch: 1})
    const [ack] = await signed.waitForAcks(topic, {runId: signedRun, epoch: 1, agentIds: [a.agentId], state: 'paused', timeoutMs: 5000})
    expect(ack!.agentId).toBe(a.agentId)
    expect(a.topicState(topic).state).toBe('paused')
    await signed.resume(topic, {runId: signedRun, epoch: 1})
    await signed.waitForAcks(topic, {runId: signedRun, epoch: 1, agentIds: [a.agentId], state: 'resumed', timeoutMs: 5000})
  })
})

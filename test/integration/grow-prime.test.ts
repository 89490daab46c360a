import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'
import type {PrimeConsumersResult} from '../../src/steps/grow/results.js'

import {createKafkaClient, type KafkaClient, type Producer} from '../../src/kafka/client.js'
import {connection, describeRun, type GrowEvent, runGrowCli, stepResult, tempDir, TrackedGroup} from '../helpers/grow-fixtures.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'

/**
 * grow v2 on the real broker without producer agents (`--no-producers`): consumer positions on the
 * new partitions proven through kreorg's abort markers, an empty group primed, writers kreorg cannot
 * account for refused before anything changes, a topic already at the target, a compacted topic.
 */

let cluster: KafkaCluster
let kafka: KafkaClient
let stateDir: string
const cleanup: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  cluster = await connectTestCluster()
  kafka = createKafkaClient(connection('kreorg-grow-prime-test'))
  stateDir = await tempDir()
}, 60_000)

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {})
  await cluster?.close()
  if (stateDir) await fs.rm(stateDir, {recursive: true, force: true})
})

function growArgs(topic: string, to: number, extra: string[] = []): string[] {
  const controlTopic = randomName('grow-prime-ctl')
  cleanup.push(() => cluster.deleteTopics([controlTopic]))
  return [
    'grow',
    topic,
    '--to',
    String(to),
    '--yes',
    '--state-dir',
    stateDir,
    '--control-topic',
    controlTopic,
    '--quiet-period',
    '1s',
    '--ack-timeout',
    '10s',
    '--lease',
    '30s',
    '--prime-timeout',
    '90s',
    '--post-check-window',
    '1s',
    '--sample',
    '0',
    ...extra,
  ]
}

async function newTopic(prefix: string, partitions: number, configs?: Record<string, string>): Promise<string> {
  const topic = randomName(prefix)
  await cluster.createTopic({topic, partitions, replicationFactor: 1, ...(configs ? {configs} : {})})
  cleanup.push(() => cluster.deleteTopics([topic]))
  return topic
}

async function waitForAssignment(groupId: string, topic: string, partitions: number): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const [group] = await cluster.describeGroups([groupId])
    const owned = new Set(group?.members.flatMap((m) => m.assignment[topic] ?? []) ?? [])
    if (group?.state === 'Stable' && owned.size === partitions) return
    if (Date.now() > deadline) throw new Error(`${groupId} did not own ${partitions} partitions of ${topic}`)
    await sleep(200)
  }
}

function failedStep(events: GrowEvent[]): unknown {
  return events.find((e) => e.event === 'step:fail')?.step
}

describe('grow v2 on a real broker (no producer agents)', () => {
  it('a kafkajs group with autoCommitInterval is proven through abort markers; an empty group gets offset 0 on the new partitions', async () => {
    const topic = await newTopic('grow-prime', 4)
    const active = new TrackedGroup(kafka, topic, {name: 'kjs-interval'})
    cleanup.push(() => active.stop())
    await active.start()
    await waitForAssignment(active.groupId, topic, 4)
    const empty = `${topic}-empty`
    await cluster.commitOffsets(
      empty,
      topic,
      [0, 1, 2, 3].map((partition) => ({partition, offset: 0})),
    )

    const result = await runGrowCli(growArgs(topic, 6, ['--no-producers']), {timeoutMs: 180_000})

    expect(result.code, describeRun(result)).toBe(0)
    expect((await cluster.describeTopic(topic)).partitions).toHaveLength(6)
    const prime = stepResult<PrimeConsumersResult>(result.events, 'prime-consumers')!
    expect(prime.groups).toEqual(
      expect.arrayContaining([
        {groupId: active.groupId, proof: 'committed'},
        {groupId: empty, proof: 'primed-empty'},
      ]),
    )
    // The kafkajs group committed past a marker (offset ≥ 1): it really passed one on each new partition.
    const activeCommitted = await cluster.committedOffsets(active.groupId, topic)
    expect(
      activeCommitted
        .slice(4)
        .map((o) => o.offset)
        .every((o) => o >= 1),
      JSON.stringify(activeCommitted),
    ).toBe(true)
    expect(Number(prime.markers['4'])).toBeGreaterThanOrEqual(1)
    expect(Number(prime.markers['5'])).toBeGreaterThanOrEqual(1)
    // The new partitions hold only the markers (control records): the fence's count is their end offset.
    const hwms = await cluster.highWatermarks(topic)
    expect(hwms.slice(4).map((o) => o.high)).toEqual([Number(prime.markers['4']), Number(prime.markers['5'])])
    expect((await cluster.committedOffsets(empty, topic)).slice(4).map((o) => o.offset)).toEqual([0, 0])
    expect(result.events.find((e) => e.event === 'run:done')).toBeDefined()
  })

  it('a foreign idempotent writer (no agent) is refused before add-partitions: exit 3, producer id named, count unchanged', async () => {
    const topic = await newTopic('grow-foreign', 4)
    const producer: Producer = kafka.producer({idempotent: true, maxInFlightRequests: 1})
    await producer.connect()
    cleanup.push(() => producer.disconnect())
    const state = {writing: true}
    const loop = (async () => {
      for (let i = 0; state.writing; i++) {
        await producer.send({topic, acks: -1, messages: [{key: `k-${i % 5}`, value: 'foreign'}]}).catch(() => {})
        await sleep(1000)
      }
    })()
    await sleep(1500)
    let result
    try {
      result = await runGrowCli(growArgs(topic, 8, ['--no-producers']), {timeoutMs: 120_000})
    } finally {
      state.writing = false
      await loop
    }
    expect(result.code, describeRun(result)).toBe(3)
    expect(failedStep(result.events)).toBe('plan')
    expect(result.stderr).toMatch(/unknown writer: producer id \d+ wrote to partition\(s\)/)
    expect(result.events.some((e) => e.event === 'step:done' && e.step === 'pin-producers')).toBe(false)
    expect((await cluster.describeTopic(topic)).partitions).toHaveLength(4)
  })

  it('--to equal to the current count: exit 0, "nothing to do", and the declared counts to update (JSON run:done and text)', async () => {
    const topic = await newTopic('grow-equal', 6)

    const json = await runGrowCli(growArgs(topic, 6))
    expect(json.code, describeRun(json)).toBe(0)
    const done = json.events.find((e) => e.event === 'run:done') as unknown as {nothingToDo: boolean; summary: {declaredCounts: string[]}}
    expect(done).toMatchObject({nothingToDo: true, alreadyDone: true})
    expect(done.summary.declaredCounts.join('\n')).toMatch(
      /Terraform[\s\S]*partitions = 6[\s\S]*Strimzi[\s\S]*spec\.partitions: 6[\s\S]*topicctl/,
    )

    const text = await runGrowCli(growArgs(topic, 6), {json: false})
    expect(text.code, describeRun(text)).toBe(0)
    expect(text.stdout).toContain(`Nothing to do: ${topic} already has 6 partitions.`)
    expect(text.stdout).toContain('Terraform')
  })

  it('a compacted topic is refused in preflight: exit 3 with the reason, count unchanged', async () => {
    const topic = await newTopic('grow-compacted', 4, {'cleanup.policy': 'compact'})

    const result = await runGrowCli(growArgs(topic, 8, ['--no-producers']))

    expect(result.code, describeRun(result)).toBe(3)
    expect(failedStep(result.events)).toBe('preflight')
    expect(result.stderr).toContain('cleanup.policy=compact')
    expect((await cluster.describeTopic(topic)).partitions).toHaveLength(4)
  })
})

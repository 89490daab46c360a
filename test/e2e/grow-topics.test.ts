import {type Admin, Kafka, logLevel} from 'kafkajs'
import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {runCliUntil} from '../helpers/cli.js'
import {describeRun, type GrowEvent, runGrowCli, stepResult, tempDir} from '../helpers/grow-fixtures.js'
import {randomName, testBrokers} from '../helpers/kafka.js'
import {ConsoleConsumerJudge, javaJudgeClasspath} from '../judges/console-consumer.js'
import {counts} from '../judges/report.js'
import {JUDGE_GROW_FLAGS} from '../judges/scenario.js'
import {judgeKeys, SequencedTraffic} from '../judges/traffic.js'

/**
 * Issue 16: two co-partitioned topics (the inputs of a join by key) grown in one run,
 * `kreorg grow <orders> <payments> --to 16`, under live traffic from one producer agent per topic
 * writing the same keys. Judged by clients kreorg did not write: Apache Kafka's ConsoleConsumer per
 * topic (a classic group, `earliest`) checks every key's records — 0 lost, 0 reordered, 0 duplicated
 * — and a join's view of the layout (both topics' partition counts in one metadata request, every
 * 100 ms through the run) must never show the two topics with different counts.
 * The second case kills kreorg with SIGKILL while it proves the second topic's groups (the first
 * topic done, the second not) and `kreorg resume --latest` must finish both.
 */

const FROM = 12
const TO = 16
const classpath = await javaJudgeClasspath()
const skip = 'skip' in classpath ? classpath.skip : undefined
if (skip) process.stdout.write(`[grow-topics] skipped: ${skip}\n`)

let kafka: Kafka
let admin: Admin
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  kafka = new Kafka({clientId: 'grow-topics-test', brokers: testBrokers().split(','), logLevel: logLevel.NOTHING})
  admin = kafka.admin()
  await admin.connect()
})

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  await admin?.disconnect()
})

interface Pair {
  topics: [string, string]
  controlTopic: string
  stateDir: string
  agents: ProducerAgent[]
  traffic: SequencedTraffic[]
  judges: ConsoleConsumerJudge[]
  /** Metadata reads that saw the two topics with different partition counts. */
  mismatches: string[]
  reads: number
  stopWatching: () => Promise<void>
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(500)
  }
}

async function startPair(): Promise<Pair> {
  const suffix = randomName('join').slice(-8)
  const topics: [string, string] = [`orders-${suffix}`, `payments-${suffix}`]
  const controlTopic = `join-ctl-${suffix}`
  const stateDir = await tempDir()
  await admin.createTopics({topics: topics.map((topic) => ({topic, numPartitions: FROM, replicationFactor: 1})), waitForLeaders: true})
  const pair: Pair = {
    topics,
    controlTopic,
    stateDir,
    agents: [],
    traffic: [],
    judges: [],
    mismatches: [],
    reads: 0,
    async stopWatching() {},
  }
  cleanups.push(async () => {
    await Promise.all(pair.traffic.map((t) => t.stop().catch(() => {})))
    await Promise.all(pair.judges.map((j) => j.stop().catch(() => {})))
    await Promise.all(pair.agents.map((a) => a.close().catch(() => {})))
    await pair.stopWatching()
    await admin.deleteTopics({topics: [...topics, controlTopic, `${controlTopic}-heartbeats`]}).catch(() => {})
    await fs.rm(stateDir, {recursive: true, force: true})
  })
  for (const topic of topics) {
    const judge = new ConsoleConsumerJudge(
      topic,
      {name: 'java-classic-earliest', reset: 'earliest', protocol: 'classic', metadataMaxAgeMs: 20_000},
      {brokers: testBrokers(), classpath: 'classpath' in classpath ? classpath.classpath : ''},
    )
    judge.start()
    pair.judges.push(judge)
    pair.agents.push(
      await createProducerAgent({
        kafka,
        topics: [topic],
        controlTopic,
        agentId: `${topic}-p0`,
        producer: {idempotent: true, metadataMaxAge: 5000},
        heartbeatMs: 1000,
      }),
    )
  }
  // Every Java group holds a position on every partition before the judged records start.
  await until('Java groups to commit every partition', 180_000, async () => {
    for (const judge of pair.judges) {
      const [committed] = await admin.fetchOffsets({groupId: judge.groupId, topics: [judge.topic]})
      if (!committed || committed.partitions.length < FROM || committed.partitions.some((p) => Number(p.offset) < 0)) return false
    }
    return true
  })
  // The same keys in both topics, as join inputs have.
  pair.traffic = pair.agents.map(
    (agent, i) =>
      new SequencedTraffic({
        writers: [(messages) => agent.send({topic: topics[i]!, messages, acks: -1})],
        keys: judgeKeys(200),
        ratePerSec: 120,
      }),
  )
  for (const traffic of pair.traffic) traffic.start()
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const metadata = await admin.fetchTopicMetadata({topics: [...topics]}).catch(() => undefined)
      if (metadata) {
        pair.reads++
        const [a, b] = topics.map((t) => metadata.topics.find((m) => m.name === t)?.partitions.length)
        if (a !== b) pair.mismatches.push(`${new Date().toISOString()}: ${topics[0]}=${a} ${topics[1]}=${b}`)
      }
      await sleep(100)
    }
  })()
  pair.stopWatching = async () => {
    watching = false
    await watcher
  }
  await sleep(4000)
  return pair
}

function growArgs(pair: Pair): string[] {
  return [
    'grow',
    ...pair.topics,
    '--to',
    String(TO),
    '--yes',
    '--state-dir',
    pair.stateDir,
    '--control-topic',
    pair.controlTopic,
    ...JUDGE_GROW_FLAGS,
  ]
}

/** Stops the traffic, waits for every judge to read every acknowledged record, and checks both topics. */
async function expectBothGrownInOrder(pair: Pair): Promise<void> {
  await sleep(3000)
  for (const traffic of pair.traffic) await traffic.stop()
  await until('every judge to read every acknowledged record', 90_000, () =>
    pair.judges.every((judge, i) => judge.judge.sawAll(pair.traffic[i]!.sent)),
  ).catch(() => {})
  await pair.stopWatching()
  for (const [i, topic] of pair.topics.entries()) {
    const partitions = (await admin.fetchTopicMetadata({topics: [topic]})).topics[0]?.partitions.length
    expect(partitions, topic).toBe(TO)
    const sent = pair.traffic[i]!.sent
    expect(sent.total, topic).toBeGreaterThan(1000)
    const verdict = pair.judges[i]!.judge.verdict(sent)
    expect(counts(verdict), `${topic}: ${JSON.stringify(verdict).slice(0, 800)}`).toEqual({
      group: verdict.group,
      lost: 0,
      reordered: 0,
      duplicated: 0,
      unexpected: 0,
    })
    expect(verdict.recordsByPartition[FROM] ?? 0, `${topic}: records reached the new partitions`).toBeGreaterThan(0)
  }
  expect(pair.reads, 'the join watcher read the layout throughout').toBeGreaterThan(50)
  expect(pair.mismatches, 'a join never saw the two topics with different partition counts').toEqual([])
  for (const [i, agent] of pair.agents.entries()) {
    expect(agent.topicState(pair.topics[i]!)).toMatchObject({state: 'running', partitionCount: TO})
  }
}

describe.skipIf(skip !== undefined)('kreorg grow <orders> <payments> --to 16: one pause for co-partitioned topics', () => {
  it('exit 0, both topics at 16 in one alter, each topic 0 lost / 0 reordered / 0 duplicated, the join never sees unequal counts', async () => {
    const pair = await startPair()
    const run = await runGrowCli(growArgs(pair), {timeoutMs: 360_000})
    expect(run.code, describeRun(run)).toBe(0)
    const added = stepResult<{byTopic: Record<string, {from: number; to: number; addedAt: number}>}>(run.events, 'add-partitions')!
    expect(Object.keys(added.byTopic).sort()).toEqual([...pair.topics].sort())
    for (const topic of pair.topics) expect(added.byTopic[topic]).toMatchObject({from: FROM, to: TO})
    // One CreatePartitions request for both: one alter time.
    expect(new Set(Object.values(added.byTopic).map((r) => r.addedAt)).size).toBe(1)
    // Every topic paused before any drain, every fence checked before any resume: the steps are shared.
    const order = run.events.filter((e) => e.event === 'step:done').map((e) => e.step)
    expect(order).toEqual([
      'preflight',
      'plan',
      'pin-producers',
      'add-partitions',
      'verify-partitions',
      'prime-consumers',
      'pause-producers',
      'quiesce',
      'drain',
      'verify-mapping',
      'resume-producers',
      'post-check',
    ])
    const done = run.events.find((e) => e.event === 'run:done') as {
      summary?: {byTopic?: Record<string, {to: number; misplacedRecords: number}>}
    }
    for (const topic of pair.topics) expect(done.summary?.byTopic?.[topic]).toMatchObject({to: TO, misplacedRecords: 0})
    await expectBothGrownInOrder(pair)
  }, 480_000)

  it('SIGKILL while proving the second topic’s groups (first topic done), then `kreorg resume --latest`: both at 16, 0 lost / 0 reordered', async () => {
    const pair = await startPair()
    const second = pair.topics[1]
    const killed = await runCliUntil<GrowEvent>(
      [...growArgs(pair), '--json'],
      (e) =>
        e.event === 'step:progress' && e.step === 'prime-consumers' && String((e as {message?: string}).message).startsWith(`${second}:`),
      {env: {KAFKA_BROKERS: testBrokers()}, timeoutMs: 300_000},
    )
    expect(killed.matched, describeRun(killed)).toBe(true)
    for (const topic of pair.topics) expect((await admin.fetchTopicMetadata({topics: [topic]})).topics[0]?.partitions.length).toBe(TO)
    const resumed = await runGrowCli(['resume', '--latest', '--state-dir', pair.stateDir, '--yes'], {timeoutMs: 300_000})
    expect(resumed.code, describeRun(resumed)).toBe(0)
    expect(resumed.events.find((e) => e.event === 'run:start')?.runId).toBe(killed.events[0]?.runId)
    await expectBothGrownInOrder(pair)
  }, 600_000)
})

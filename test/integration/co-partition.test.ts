import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {createKafkaClient, type KafkaClient} from '../../src/kafka/client.js'
import {runCli} from '../helpers/cli.js'
import {connection, describeRun, dryRunPlan, runGrowCli} from '../helpers/grow-fixtures.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/**
 * Issue 16 on the real broker: a kafkajs group reading two 4-partition topics makes the second a
 * co-partition candidate in `grow --dry-run` (JSON and text) and in `kreorg audit`, as a warning
 * only; a compacted topic's audit fails with the sampled keys a grow would move. Run `npm run build`
 * first (the CLI runs from dist/).
 */

interface AuditCheckJson {
  id: string
  verdict: string
  why: string
  details: Record<string, unknown>
}

interface AuditJson {
  checks: AuditCheckJson[]
  candidates: Array<{to: number; movedKeys: number; sampledKeys: number}>
}

let cluster: KafkaCluster
let kafka: KafkaClient
const cleanup: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  cluster = await connectTestCluster()
  kafka = createKafkaClient(connection('kreorg-co-partition-test'))
}, 60_000)

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {})
  await cluster?.close()
})

async function newTopic(prefix: string, partitions: number, configs?: Record<string, string>): Promise<string> {
  const topic = randomName(prefix)
  await cluster.createTopic({topic, partitions, replicationFactor: 1, ...(configs ? {configs} : {})})
  cleanup.push(() => cluster.deleteTopics([topic]))
  return topic
}

/** Keyed records on every topic, from a plain (non-idempotent) kafkajs producer. */
async function produce(topics: string[], keys: number): Promise<void> {
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (const topic of topics) {
      await producer.send({topic, acks: -1, messages: Array.from({length: keys}, (_, i) => ({key: `key-${i}`, value: `v-${i}`}))})
    }
  } finally {
    await producer.disconnect()
  }
}

async function caughtUp(groupId: string, topic: string): Promise<boolean> {
  const ends = await cluster.endOffsets(topic)
  const committed = new Map((await cluster.committedOffsets(groupId, topic)).map((o) => [o.partition, o.offset]))
  return ends.every((e) => (committed.get(e.partition) ?? -1) >= e.high)
}

async function audit(args: string[], json = true) {
  return runCli(['audit', ...args, ...(json ? ['--json'] : [])], {env: {KAFKA_BROKERS: testBrokers()}, timeoutMs: 120_000})
}

function check(report: AuditJson, id: string): AuditCheckJson {
  const found = report.checks.find((c) => c.id === id)
  if (!found) throw new Error(`no ${id} check in ${JSON.stringify(report.checks.map((c) => c.id))}`)
  return found
}

describe('co-partitioned topics (issue 16)', () => {
  it('one kafkajs group reads a and b (4 partitions each): grow a --dry-run and audit a name b and the group; dry-run still exits 0', async () => {
    const a = await newTopic('copart-a', 4)
    const b = await newTopic('copart-b', 4)
    const wider = await newTopic('copart-wide', 8)
    await produce([a, b, wider], 40)
    const groupId = `${a}-joiner`
    const consumer = kafka.consumer({groupId, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 200})
    await consumer.connect()
    cleanup.push(() => consumer.disconnect())
    await consumer.subscribe({topics: [a, b, wider], fromBeginning: true})
    await consumer.run({async eachMessage() {}})
    const deadline = Date.now() + 60_000
    while (!((await caughtUp(groupId, a)) && (await caughtUp(groupId, b)) && (await caughtUp(groupId, wider)))) {
      if (Date.now() > deadline) throw new Error(`${groupId} did not commit on ${a}, ${b} and ${wider}`)
      await sleep(250)
    }
    // Committed offsets on both are the evidence (the group need not be running).
    await consumer.disconnect()

    const controlTopic = randomName('copart-ctl')
    const args = [
      'grow',
      a,
      '--to',
      '8',
      '--dry-run',
      '--no-producers',
      '--writer-scan',
      '0',
      '--sample',
      '0',
      '--control-topic',
      controlTopic,
    ]
    const json = await runGrowCli(args)
    expect(json.code, describeRun(json)).toBe(0)
    const {plan} = dryRunPlan(json.events)
    expect(plan.blockers).toEqual([])
    // The 8-partition topic is read by the same group but cannot be co-partitioned with a.
    expect(plan.coPartitioned).toEqual([{topic: b, partitions: 4, groups: [groupId]}])
    const warning = plan.warnings.find((w) => w.startsWith('co-partitioning:'))
    expect(warning).toContain(`${b} also has 4 partitions and group ${groupId} reads both it and ${a}`)
    expect(warning).toContain(`growing only ${a} to 8 breaks any join between them`)

    const text = await runGrowCli(args, {json: false})
    expect(text.code, describeRun(text)).toBe(0)
    expect(text.stdout).toContain(
      `Co-partitioned topics (4 partitions, read by the same groups; joins need equal counts):\n  ${b}: read with ${a} by ${groupId}`,
    )
    expect(text.stdout).toMatch(/! co-partitioning: /)

    const report = await audit([a])
    expect(report.code, report.stderr).toBe(0)
    const copart = check(JSON.parse(report.stdout) as AuditJson, 'co-partitioning')
    expect(copart.verdict).toBe('warn')
    expect(copart.details.candidates).toEqual([{topic: b, partitions: 4, groups: [groupId]}])
    const auditText = await audit([a], false)
    expect(auditText.stdout).toMatch(
      new RegExp(`WARN\\s+Co-partitioned topics\\s+co-partitioning: ${b} also has 4 partitions and group ${groupId}`),
    )
    expect((await cluster.describeTopic(a)).partitions).toHaveLength(4)
  }, 180_000)

  it('audit of a compacted topic fails the compaction check with the sampled keys that would move, and says grow refuses it', async () => {
    const topic = await newTopic('copart-compacted', 4, {'cleanup.policy': 'compact'})
    await produce([topic], 100)

    const result = await audit([topic, '--to', '8,12'])
    expect(result.code, result.stderr).toBe(0)
    const report = JSON.parse(result.stdout) as AuditJson
    const compaction = check(report, 'compaction')
    expect(compaction.verdict).toBe('fail')
    const at8 = report.candidates.find((c) => c.to === 8)!
    expect(at8.sampledKeys).toBe(100)
    expect(at8.movedKeys).toBeGreaterThan(0)
    expect(compaction.why).toContain('cleanup.policy=compact: kreorg grow refuses compacted topics')
    expect(compaction.why).toContain(`${at8.movedKeys} of 100 sampled keys`)
    expect(compaction.why).toMatch(/would move at 8; \d+ of 100 sampled keys \(\d+%\) would move at 12/)
    expect(compaction.details).toMatchObject({cleanupPolicy: 'compact', compacted: true})
    // --strict turns the failed check into exit 3, like grow's own refusal.
    expect((await audit([topic, '--to', '8', '--strict'])).code).toBe(3)
  }, 120_000)
})

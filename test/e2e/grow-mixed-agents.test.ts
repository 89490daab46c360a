import {type Admin, Kafka, logLevel} from 'kafkajs'
import {promises as fs} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {crc32 as zlibCrc32} from 'node:zlib'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {keys as controlKeys} from '../../src/control/schema.js'
import {murmur2, toPositive} from '../../src/kafka/murmur2.js'
import {type ConformanceAgent, selectedAgents, skippedByEnv} from '../conformance/agents.js'
import {AgentRecords, Driver, TopicTail, WaitTimeout, withTimeout} from '../conformance/harness.js'
import {
  type ConnectWorker,
  connectWorkerSupport,
  FILE_STREAM_SOURCE,
  KEY_FROM_VALUE,
  startConnectWorker,
} from '../helpers/connect-worker.js'
import {describeRun, runGrowCli, stepResult, tempDir} from '../helpers/grow-fixtures.js'
import {randomName, testBrokers} from '../helpers/kafka.js'
import {ConsoleConsumerJudge, javaJudgeClasspath} from '../judges/console-consumer.js'
import {counts} from '../judges/report.js'
import {createTopic, JUDGE_GROW_FLAGS, waitForPositions} from '../judges/scenario.js'
import {type ConsumedRecord, SequenceJudge} from '../judges/sequence-judge.js'
import {type SendBatch, SequencedTraffic} from '../judges/traffic.js'

/**
 * Issue 15: one topic, three kinds of producer agent writing it at once — the kafkajs agent
 * (`kreorg/agent`, in this process), the Java agent (kafka-clients, murmur2) and the Python agent
 * (confluent-kafka/librdkafka, its default partitioner `consistent_random`: CRC32) through their
 * conformance drivers (test/conformance/README.md) — grown 12 → 16 by the real CLI. Each agent owns
 * its keys (`<agent>-<n>`), so each key's order is one producer's order. Judged by Apache Kafka's own
 * ConsoleConsumer in a classic `earliest` and a classic `latest` group (metadata.max.age.ms=20000),
 * per agent: 0 lost, 0 reordered, 0 duplicated; every key ends where its own producer's partitioner
 * puts it among 16 partitions (CRC32 for the Python agent's keys, murmur2 for the others) and was never
 * anywhere but there or its place among 12; every agent's records reach partitions 12..15.
 * A fourth writer has no agent at all: a Kafka Connect source connector (Apache's FileStreamSource on a
 * real Connect worker, its lines keyed by a test SMT) that `--connect-url` pauses and resumes; its keys
 * are judged the same way (murmur2, the Java producer's partitioner).
 */

const FROM = 12
const TO = 16
const KINDS = ['kafkajs', 'java', 'python', 'connect'] as const
/** The writers with a kreorg agent (Connect is paused through its REST API instead). */
const AGENT_KINDS = ['kafkajs', 'java', 'python'] as const
type Kind = (typeof KINDS)[number]
/** Keys per agent: a traffic batch holds at most 200 records, so no batch holds a key twice. */
const KEYS_PER_AGENT = 200
const RATE_PER_AGENT = 100
/** Librdkafka's default partitioner, as the Python agent reports it. */
const PYTHON_PARTITIONER = 'consistent_random'

const classpath = await javaJudgeClasspath()
const connectSupport = await connectWorkerSupport()
const agentSkip = (['java', 'python'] as const).filter((name) => skippedByEnv(name))
const skip =
  'skip' in classpath
    ? classpath.skip
    : agentSkip.length > 0
      ? `KREORG_SKIP_AGENTS names ${agentSkip.join(', ')}`
      : 'skip' in connectSupport
        ? connectSupport.skip
        : undefined
if (skip) process.stdout.write(`[grow-mixed-agents] skipped: ${skip}\n`)

const say = (line: string) => process.stdout.write(`[grow-mixed-agents] ${line}\n`)

/** Where a key lands among `n` partitions, by the hashes the clients themselves use (CRC32 from zlib, murmur2 as Java's). */
function partitionOf(kind: Kind, key: string, n: number): number {
  const bytes = Buffer.from(key, 'utf8')
  return kind === 'python' ? (zlibCrc32(bytes) >>> 0) % n : toPositive(murmur2(bytes)) % n
}

const keysOf = (kind: Kind): string[] => Array.from({length: KEYS_PER_AGENT}, (_, i) => `${kind}-${String(i).padStart(4, '0')}`)
const kindOf = (key: string): Kind | undefined => KINDS.find((kind) => key.startsWith(`${kind}-`))

/**
 * A SendBatch over a conformance driver: one `send` request per record, the batch resolved once the
 * driver acknowledged every record (rejected on any error reply, or when a held send never comes back).
 */
function driverWriter(driver: Driver, timeoutMs: number): SendBatch {
  return async (messages) => {
    const replies = await withTimeout(
      Promise.all(messages.map(({key, value}) => driver.send(key, value).reply)),
      timeoutMs,
      `${driver.name} to acknowledge ${messages.length} record(s)`,
    )
    const failed = replies.find((reply) => reply.op !== 'sent')
    if (failed) throw new Error(`${driver.name}: ${failed.code ?? ''} ${failed.error ?? JSON.stringify(failed)}`)
  }
}

/** One consumer group's view split per agent, and where each key's records landed. */
class SplitView {
  readonly byKind: Record<Kind, SequenceJudge>
  /** Key → every partition the group read it from, and the partition of its highest sequence number. */
  readonly landed = new Map<string, {partitions: Set<number>; lastSeq: number; lastPartition: number}>()
  strays: string[] = []

  constructor(readonly judge: ConsoleConsumerJudge) {
    this.byKind = Object.fromEntries(KINDS.map((kind) => [kind, new SequenceJudge(`${judge.spec.name}/${kind}`)])) as Record<
      Kind,
      SequenceJudge
    >
    judge.judge.onRecord((entry) => this.record(entry))
  }

  private record(entry: ConsumedRecord): void {
    const kind = kindOf(entry.key)
    if (!kind) {
      if (this.strays.length < 8) this.strays.push(`${entry.key}:${entry.seq} at p${entry.partition}@${entry.offset}`)
      return
    }
    this.byKind[kind].record(entry)
    let at = this.landed.get(entry.key)
    if (!at) this.landed.set(entry.key, (at = {partitions: new Set(), lastSeq: 0, lastPartition: -1}))
    at.partitions.add(entry.partition)
    if (entry.seq > at.lastSeq) {
      at.lastSeq = entry.seq
      at.lastPartition = entry.partition
    }
  }
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new WaitTimeout(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`)
    await sleep(intervalMs)
  }
}

let kafka: Kafka
let admin: Admin
const drivers: Partial<Record<'java' | 'python', ConformanceAgent>> = {}
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  if (skip) return
  kafka = new Kafka({clientId: 'grow-mixed-agents-test', brokers: testBrokers().split(','), logLevel: logLevel.NOTHING})
  admin = kafka.admin()
  await admin.connect()
  // The Java jar and the Python venv (npm run test:agents leaves them ready; otherwise this builds them).
  for (const agent of selectedAgents('java,python')) {
    const readiness = await agent.prepare()
    if (!readiness.runnable) throw new Error(`the ${agent.name} agent cannot run: ${readiness.reason}`)
    drivers[agent.name as 'java' | 'python'] = agent
  }
}, 20 * 60_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  await admin?.disconnect()
}, 180_000)

describe.skipIf(skip !== undefined)(
  'kreorg grow 12 → 16 with kafkajs, Java and Python agents and a Connect source writing one topic',
  () => {
    it('exit 0, 16 partitions; per agent 0 lost / 0 reordered / 0 duplicated in classic earliest and latest groups; each key placed by its own partitioner', async () => {
      const started = Date.now()
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
      const suffix = randomName('mixed').slice(-8)
      const topic = `mixed-${suffix}`
      const controlTopic = `mixed-ctl-${suffix}`
      const stateDir = await tempDir()
      const agentIds: Record<(typeof AGENT_KINDS)[number], string> = {
        kafkajs: `${topic}-kafkajs`,
        java: `${topic}-java`,
        python: `${topic}-python`,
      }
      const connector = `${topic}-source`
      const sourceFile = path.join(stateDir, `${connector}.txt`)
      const judges = [
        new ConsoleConsumerJudge(
          topic,
          {name: 'java-classic-earliest', reset: 'earliest', protocol: 'classic', metadataMaxAgeMs: 20_000},
          {brokers: testBrokers(), classpath: 'classpath' in classpath ? classpath.classpath : ''},
        ),
        new ConsoleConsumerJudge(
          topic,
          {name: 'java-classic-latest', reset: 'latest', protocol: 'classic', metadataMaxAgeMs: 20_000},
          {brokers: testBrokers(), classpath: 'classpath' in classpath ? classpath.classpath : ''},
        ),
      ]
      const views = judges.map((judge) => new SplitView(judge))
      const running: {
        kafkajs?: ProducerAgent
        java?: Driver
        python?: Driver
        worker?: ConnectWorker
        traffic: Partial<Record<Kind, SequencedTraffic>>
        tail?: TopicTail
      } = {traffic: {}}
      cleanups.push(async () => {
        await Promise.all(Object.values(running.traffic).map((t) => t.stop().catch(() => {})))
        await Promise.all(judges.map((j) => j.stop().catch(() => {})))
        await running.kafkajs?.close().catch(() => {})
        for (const driver of [running.java, running.python]) {
          if (driver?.alive) await driver.close(30_000).catch(() => driver.kill())
        }
        await running.tail?.stop()
        await running.worker?.deleteConnector(connector).catch(() => {})
        await running.worker?.stop().catch(() => {})
        await admin.deleteTopics({topics: [topic, controlTopic, `${controlTopic}-heartbeats`]}).catch(() => {})
        await fs.rm(stateDir, {recursive: true, force: true})
      })

      await createTopic(admin, topic, FROM)
      for (const judge of judges) judge.start()
      const driverEnv = (kind: 'java' | 'python') => ({
        brokers: testBrokers(),
        topic,
        controlTopic,
        agentId: agentIds[kind],
        heartbeatMs: 1000,
      })
      await fs.writeFile(sourceFile, '')
      const [kafkajsAgent, javaDriver, pythonDriver, worker] = await Promise.all([
        createProducerAgent({
          kafka,
          topics: [topic],
          controlTopic,
          agentId: agentIds.kafkajs,
          producer: {idempotent: true, metadataMaxAge: 5000},
          heartbeatMs: 1000,
          logger: {warn: (message) => say(`kafkajs agent: ${message}`)},
        }),
        Driver.start(drivers.java!, driverEnv('java'), {readyTimeoutMs: 180_000}),
        Driver.start(drivers.python!, driverEnv('python'), {readyTimeoutMs: 180_000}),
        startConnectWorker({brokers: testBrokers(), libDir: 'libDir' in connectSupport ? connectSupport.libDir : ''}),
      ])
      Object.assign(running, {kafkajs: kafkajsAgent, java: javaDriver, python: pythonDriver, worker})
      // "connect-0007:12" lines: the SMT keys each record by the text before the colon.
      await worker.createConnector(connector, {
        'connector.class': FILE_STREAM_SOURCE,
        file: sourceFile,
        topic,
        'tasks.max': '1',
        transforms: 'key',
        'transforms.key.type': KEY_FROM_VALUE,
      })
      say(`${elapsed()}: agents ready (Java driver ${javaDriver.readyMs} ms, Python driver ${pythonDriver.readyMs} ms)`)
      // Both groups hold a committed position on every partition (and read a warm-up record there) before judged traffic.
      await waitForPositions(admin, topic, FROM, judges, [], kafkajsAgent, (line) => say(`${elapsed()}: ${line}`))

      const writers: Record<Kind, SendBatch> = {
        kafkajs: (messages) => kafkajsAgent.send({topic, messages, acks: -1}),
        java: driverWriter(javaDriver, 240_000),
        python: driverWriter(pythonDriver, 240_000),
        // Appended is as good as acknowledged: the connector delivers every line, paused or not, in file order.
        connect: (messages) => fs.appendFile(sourceFile, messages.map((m) => `${m.value}\n`).join('')),
      }
      for (const kind of KINDS) {
        running.traffic[kind] = new SequencedTraffic({writers: [writers[kind]], keys: keysOf(kind), ratePerSec: RATE_PER_AGENT})
        running.traffic[kind].start()
      }
      const traffic = running.traffic as Record<Kind, SequencedTraffic>

      // kreorg accounts for every producer id writing the topic: each agent's heartbeat must name its own
      // (or its last write, whose batch names it) before the run takes its writer inventory.
      const heartbeatTopic = `${controlTopic}-heartbeats`
      await until(`${heartbeatTopic} to exist`, 60_000, async () => (await admin.listTopics()).includes(heartbeatTopic), 500)
      const records = Object.fromEntries(AGENT_KINDS.map((kind) => [kind, new AgentRecords(topic, agentIds[kind], undefined)])) as Record<
        (typeof AGENT_KINDS)[number],
        AgentRecords
      >
      running.tail = await TopicTail.start(kafka, heartbeatTopic)
      running.tail.records.subscribe((record) => {
        for (const kind of AGENT_KINDS) if (record.key === controlKeys.agent(agentIds[kind])) records[kind].onRecord('heartbeats', record)
      })
      await until('every agent to write its first records', 120_000, () =>
        KINDS.every((kind) => traffic[kind].sent.total >= KEYS_PER_AGENT),
      )
      await Promise.all(
        AGENT_KINDS.map((kind) =>
          records[kind].waitForHeartbeats(1, 0, {
            timeoutMs: 60_000,
            accept: (heartbeat) => (heartbeat.producerId ?? -1) >= 0 || heartbeat.lastWrite?.[topic] !== undefined,
          }),
        ),
      )
      const producerIds = AGENT_KINDS.map((kind) => `${kind}=${records[kind].heartbeats.items.at(-1)?.heartbeat?.producerId}`)
      say(`${elapsed()}: traffic flowing, heartbeats name the producer ids (${producerIds.join(', ')}); kreorg grow ${topic} --to ${TO}`)

      const growStarted = Date.now()
      const run = await runGrowCli(
        [
          'grow',
          topic,
          '--to',
          String(TO),
          '--yes',
          '--state-dir',
          stateDir,
          '--control-topic',
          controlTopic,
          '--connect-url',
          worker.url,
          ...JUDGE_GROW_FLAGS,
        ],
        {timeoutMs: 300_000},
      )
      const growMs = Date.now() - growStarted
      const steps = run.events
        .filter((e) => e.event === 'step:done')
        .map((e) => `${e.step} ${String(e.durationMs)}ms`)
        .join(', ')
      say(`${elapsed()}: kreorg grow exited ${run.code} after ${growMs} ms: ${steps}`)
      expect(run.code, describeRun(run)).toBe(0)

      // Every key written again after the run: each agent's last records are under the new layout.
      const atExit = Object.fromEntries(KINDS.map((kind) => [kind, traffic[kind].sent.total])) as Record<Kind, number>
      await until('every agent to write each of its keys twice more after the run', 120_000, () =>
        KINDS.every((kind) => traffic[kind].sent.total >= atExit[kind] + 2 * KEYS_PER_AGENT),
      )
      for (const kind of KINDS) await traffic[kind].stop()
      say(`${elapsed()}: traffic stopped: ${KINDS.map((kind) => `${kind} ${traffic[kind].sent.total} acked`).join(', ')}`)
      await until(
        'both groups to print every acknowledged record',
        150_000,
        () => views.every((view) => KINDS.every((kind) => view.byKind[kind].sawAll(traffic[kind].sent))),
        500,
      ).catch((error: unknown) => say(`${elapsed()}: ${error instanceof Error ? error.message : String(error)}: judging what they printed`))
      // Late duplicates would show right after the catch-up.
      await sleep(1000)
      for (const judge of judges) await judge.stop()
      say(`${elapsed()}: groups stopped`)

      // --- The run as kreorg reports it ---------------------------------------------------------------
      expect((await admin.fetchTopicMetadata({topics: [topic]})).topics[0]?.partitions.length).toBe(TO)
      const mapping = stepResult<{agents: number; canaryKeys: number; partitioners: Record<string, string>}>(run.events, 'verify-mapping')
      expect(mapping, 'verify-mapping passed').toBeDefined()
      expect(mapping!.agents).toBe(3)
      expect(mapping!.partitioners).toEqual({
        [agentIds.kafkajs]: 'murmur2',
        [agentIds.java]: 'murmur2',
        [agentIds.python]: PYTHON_PARTITIONER,
      })
      const post = stepResult<{checkedRecords: number; misplacedRecords: number; checkedByPartitioner?: Record<string, number>}>(
        run.events,
        'post-check',
      )!
      say(`post-check: checked ${post.checkedRecords}, misplaced ${post.misplacedRecords}, by ${JSON.stringify(post.checkedByPartitioner)}`)
      expect(post.misplacedRecords).toBe(0)
      expect(post.checkedRecords).toBeGreaterThan(0)
      // Each record judged by its own writer's partitioner (found by its producer id): the Python agent's by CRC32.
      // Connect's (producer id -1, no agent) by any agent's, when its resumed task wrote within the window.
      const checkedBy = Object.keys(post.checkedByPartitioner ?? {})
      expect(checkedBy).toEqual(expect.arrayContaining([PYTHON_PARTITIONER, 'murmur2']))
      expect(checkedBy.filter((name) => ![PYTHON_PARTITIONER, 'murmur2', 'any'].includes(name))).toEqual([])
      expect(Object.values(post.checkedByPartitioner!).reduce((a, b) => a + b, 0)).toBe(post.checkedRecords)
      // The connector was paused by the pin and resumed by resume-producers, its task restarted (a new producer) in between.
      const pin = stepResult<{connect?: {paused: Array<{name: string}>}}>(run.events, 'pin-producers')
      expect(pin?.connect?.paused.map((c) => c.name)).toEqual([connector])
      const resumed = stepResult<{connect?: {restarted: Array<{name: string; tasks: number[]}>; resumed: Array<{name: string}>}}>(
        run.events,
        'resume-producers',
      )
      expect(resumed?.connect?.restarted).toEqual([expect.objectContaining({name: connector, tasks: [0]})])
      expect(resumed?.connect?.resumed.map((c) => c.name)).toEqual([connector])
      expect((await worker.status(connector)).connector.state).toBe('RUNNING')

      // --- The judges ---------------------------------------------------------------------------------
      const lines: string[] = []
      for (const view of views) {
        for (const kind of KINDS) {
          const verdict = view.byKind[kind].verdict(traffic[kind].sent)
          const newPartitions = [12, 13, 14, 15].map((p) => `p${p}=${verdict.recordsByPartition[p] ?? 0}`).join(' ')
          lines.push(
            `${verdict.group}: consumed ${verdict.consumed}/${verdict.expected} (uncertain ${traffic[kind].sent.uncertainTotal}), lost ${verdict.lost}, reordered ${verdict.reordered}, duplicated ${verdict.duplicated}, unexpected ${verdict.unexpected}; ${newPartitions}; producer stall ${traffic[kind].longestStall.ms} ms`,
          )
        }
      }
      const story = lines.join('\n')
      say(`verdicts:\n${story}`)
      for (const kind of KINDS) {
        expect(traffic[kind].sendErrors, `${kind} send errors`).toBe(0)
        expect(traffic[kind].sent.total, `${kind} records acknowledged`).toBeGreaterThan(3 * KEYS_PER_AGENT)
      }
      for (const view of views) {
        expect(view.strays, `${view.judge.spec.name}: records of no agent`).toEqual([])
        for (const kind of KINDS) {
          const verdict = view.byKind[kind].verdict(traffic[kind].sent)
          expect(counts(verdict), `${verdict.group}: ${JSON.stringify(verdict.samples).slice(0, 800)}\n${story}`).toEqual({
            group: verdict.group,
            lost: 0,
            reordered: 0,
            duplicated: 0,
            unexpected: 0,
          })
          for (const partition of [12, 13, 14, 15])
            expect(verdict.recordsByPartition[partition] ?? 0, `${verdict.group}: records in new partition ${partition}`).toBeGreaterThan(0)
        }
      }

      // --- Placement, by the partitions the Java consumer printed ---------------------------------------
      const earliest = views[0]!
      const misplaced: string[] = []
      for (const kind of KINDS) {
        for (const key of keysOf(kind)) {
          const at = earliest.landed.get(key)
          const before = partitionOf(kind, key, FROM)
          const after = partitionOf(kind, key, TO)
          if (!at) {
            misplaced.push(`${key}: never read`)
            continue
          }
          if (at.lastPartition !== after)
            misplaced.push(`${key}: last record in p${at.lastPartition}, its partitioner says p${after} of ${TO}`)
          const elsewhere = [...at.partitions].filter((p) => p !== before && p !== after)
          if (elsewhere.length > 0)
            misplaced.push(`${key}: records in p${elsewhere.join(',p')} (only p${before} of ${FROM} or p${after} of ${TO} expected)`)
        }
      }
      expect(misplaced.slice(0, 10), `${misplaced.length} keys misplaced`).toEqual([])
      // The Python agent's keys follow CRC32, not murmur2: a key the two put in different new partitions.
      const pythonKeys = keysOf('python')
      const telling = pythonKeys.filter((key) => {
        const crc = partitionOf('python', key, TO)
        return crc >= FROM && crc !== toPositive(murmur2(Buffer.from(key))) % TO
      })
      expect(telling.length).toBeGreaterThan(0)
      const example = telling[0]!
      say(
        `${example}: crc32 % ${TO} = ${partitionOf('python', example, TO)}, murmur2 % ${TO} = ${toPositive(murmur2(Buffer.from(example))) % TO}; the consumer read its last record in p${earliest.landed.get(example)?.lastPartition}`,
      )
      for (const key of telling) expect(earliest.landed.get(key)?.lastPartition, key).toBe(partitionOf('python', key, TO))
      say(`${elapsed()}: done`)
    }, 540_000)
  },
)

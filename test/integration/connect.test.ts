import {promises as fs} from 'node:fs'
import {createServer} from 'node:net'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {ConnectPauseRecord, ConnectResumeRecord} from '../../src/connect/records.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {partitionForKey} from '../../src/kafka/murmur2.js'
import {runCli, runCliJson} from '../helpers/cli.js'
import {
  type ConnectorStatusView,
  type ConnectWorker,
  connectWorkerSupport,
  FILE_STREAM_SOURCE,
  KEY_FROM_VALUE,
  startConnectWorker,
  STUCK_SOURCE,
} from '../helpers/connect-worker.js'
import {cliEnv, describeRun, FAST_GROW_FLAGS, type GrowEvent, stepResult, tempDir} from '../helpers/grow-fixtures.js'
import {eventually, startJava} from '../helpers/java-tools.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'
import {ConsoleConsumerJudge} from '../judges/console-consumer.js'
import {type ConsumedRecord, parseConsoleConsumerLine, SentRecords} from '../judges/sequence-judge.js'

/**
 * Issue 15 item 4, against a real Kafka Connect worker (ConnectDistributed from Apache Kafka 4.3.1,
 * exactly-once source support enabled) running Apache's FileStreamSource: `kreorg grow --connect-url` pauses the source connector that
 * tails a file into the topic from pin-producers to resume-producers, restarts its task while paused
 * (a new producer that fetches the new partition count) and resumes it. Lines are appended all along;
 * Apache's ConsoleConsumer, in a live group and reading back from the beginning, is the judge.
 * Refusals: an unreachable Connect URL, a connector that never acknowledges the pause, an abort after
 * the pause: each leaves the partition count and the connectors as they were.
 */
const support = await connectWorkerSupport()
const skip = 'skip' in support ? support.skip : undefined
if (skip) process.stdout.write(`[connect] skipped: ${skip}\n`)

const FROM = 4
const TO = 6
const KEYS = Array.from({length: 16}, (_, i) => `k${String(i).padStart(2, '0')}`)
/** Given only through KREORG_CONNECT_URLS (the worker has no auth and ignores it): must never show up anywhere. */
const PASSWORD = 'S3cret-connect-pw'

interface StatusSample {
  at: number
  status: ConnectorStatusView | undefined
}

/** Samples a connector's status every 150 ms until stopped: the judge of "PAUSED during the window". */
function pollStatus(worker: ConnectWorker, name: string): {samples: StatusSample[]; stop(): Promise<void>} {
  const samples: StatusSample[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      samples.push({at: Date.now(), status: await worker.status(name).catch(() => undefined)})
      await sleep(150)
    }
  })()
  return {
    samples,
    async stop() {
      running = false
      await loop
    },
  }
}

/** Apache's ConsoleConsumer from the beginning, no group, until it has been idle for 10 s. */
async function readBack(classpath: string, topic: string): Promise<ConsumedRecord[]> {
  const consumer = startJava(
    classpath,
    'org.apache.kafka.tools.consumer.ConsoleConsumer',
    [
      '--bootstrap-server',
      testBrokers(),
      '--topic',
      topic,
      '--from-beginning',
      '--timeout-ms',
      '10000',
      ...['print.partition=true', 'print.offset=true', 'print.key=true'].flatMap((p) => ['--formatter-property', p]),
    ],
    'ConsoleConsumer (read back)',
  )
  await consumer.exited()
  return consumer
    .stdout()
    .split('\n')
    .flatMap((line) => {
      const record = parseConsoleConsumerLine(line.trim())
      return record ? [record] : []
    })
}

function progressData(events: GrowEvent[], step: string): Array<{name: string; state: string; tasks: Array<{state: string}>}> {
  return events
    .filter((e) => e.event === 'step:progress' && e.step === step)
    .flatMap(
      (e) =>
        ((e.data as {connect?: unknown} | undefined)?.connect ?? []) as Array<{name: string; state: string; tasks: Array<{state: string}>}>,
    )
}

function eventTime(events: GrowEvent[], match: (e: GrowEvent) => boolean): number {
  const found = events.find(match)
  if (!found) throw new Error('event not found')
  return Date.parse(String(found.ts))
}

/** FAST_GROW_FLAGS with another --ack-timeout (how long kreorg waits for the PAUSED status too). */
function withAckTimeout(value: string): string[] {
  const flags = [...FAST_GROW_FLAGS]
  flags[flags.indexOf('--ack-timeout') + 1] = value
  return flags
}

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

describe.skipIf(skip !== undefined)(`grow with Kafka Connect source connectors (a real worker)${skip ? `: skipped, ${skip}` : ''}`, () => {
  const libDir = 'libDir' in support ? support.libDir : ''
  const classpath = path.join(libDir, '*')
  let worker: ConnectWorker
  let cluster: KafkaCluster
  let dir: string
  const cleanup: Array<() => Promise<unknown>> = []

  beforeAll(async () => {
    cluster = await connectTestCluster()
    dir = await tempDir('kreorg-connect-test-')
    // Exactly-once source support (KIP-618): each task writes through a transactional producer, what
    // production Connect clusters feeding read_committed consumers run. The non-transactional path
    // (producer id -1 batches) is the mixed-agent e2e test's Connect worker.
    worker = await startConnectWorker({brokers: testBrokers(), libDir, properties: {'exactly.once.source.support': 'enabled'}})
  }, 180_000)

  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {})
    await worker?.stop()
    await cluster?.close()
    if (dir) await fs.rm(dir, {recursive: true, force: true})
  }, 120_000)

  async function fileConnector(prefix: string): Promise<{topic: string; file: string}> {
    const topic = randomName(prefix)
    await cluster.createTopic({topic, partitions: FROM, replicationFactor: 1})
    cleanup.push(() => cluster.deleteTopics([topic]))
    const file = path.join(dir, `${topic}.txt`)
    await fs.writeFile(file, '')
    await worker.createConnector(topic, {
      'connector.class': FILE_STREAM_SOURCE,
      file,
      topic,
      'tasks.max': '1',
      transforms: 'key',
      'transforms.key.type': KEY_FROM_VALUE,
    })
    cleanup.push(() => worker.deleteConnector(topic))
    return {topic, file}
  }

  async function partitionCount(topic: string): Promise<number> {
    return (await cluster.describeTopic(topic)).partitions.length
  }

  it('pauses the FileStreamSource connector for the window, restarts its task paused, resumes it: every line exactly once and in order per key', async () => {
    const {topic, file} = await fileConnector('connect-grow')
    const sent = new SentRecords()
    let writing = true
    let appended = 0
    // One line every ~20 ms, keyed by the SMT: "k07:12" is the 12th line of key k07.
    const writer = (async () => {
      while (writing) {
        const key = KEYS[appended % KEYS.length]!
        const seq = sent.take(key)
        await fs.appendFile(file, `${key}:${seq}\n`)
        sent.ack(key, seq)
        appended++
        await sleep(20)
      }
    })()
    const judge = new ConsoleConsumerJudge(
      topic,
      {name: 'live', reset: 'earliest', protocol: 'classic', metadataMaxAgeMs: 3000, isolation: 'read_committed'},
      {brokers: testBrokers(), classpath},
    )
    judge.start()
    cleanup.push(() => judge.stop())
    await eventually(
      'the live group reading the connector’s records',
      async () => judge.judge.consumed,
      (n) => n >= 100,
      {timeoutMs: 120_000},
    )

    const poller = pollStatus(worker, topic)
    const stateDir = await tempDir()
    const result = await runCliJson<GrowEvent>(
      ['grow', topic, '--to', String(TO), '--yes', '--connect-url', worker.url, '--state-dir', stateDir, ...FAST_GROW_FLAGS],
      {env: cliEnv({KREORG_CONNECT_URLS: worker.url.replace('http://', `http://kreorg:${PASSWORD}@`)}), timeoutMs: 240_000},
    )
    await sleep(3000)
    await poller.stop()
    writing = false
    await writer
    expect(result.code, describeRun(result)).toBe(0)
    const {events} = result

    // The connector was paused before the alter and stayed PAUSED until resume-producers restarted and resumed it.
    const pin = stepResult<{connect: ConnectPauseRecord}>(events, 'pin-producers')!.connect
    expect(pin.paused).toEqual([{worker: worker.url, name: topic, tasks: [0]}])
    expect(progressData(events, 'pin-producers')).toEqual([
      expect.objectContaining({name: topic, state: 'PAUSED', tasks: [expect.objectContaining({state: 'PAUSED'})]}),
    ])
    const resumed = stepResult<{connect: ConnectResumeRecord}>(events, 'resume-producers')!.connect
    expect(resumed.restarted).toEqual([{worker: worker.url, name: topic, tasks: [0]}])
    expect(resumed.resumed).toEqual([{worker: worker.url, name: topic}])
    expect(progressData(events, 'resume-producers')).toEqual([
      expect.objectContaining({name: topic, state: 'RUNNING', tasks: [expect.objectContaining({state: 'RUNNING'})]}),
    ])
    const pausedAt = pin.pausedAt
    const addedAt = eventTime(events, (e) => e.event === 'step:done' && e.step === 'add-partitions')
    const resumeStarted = eventTime(events, (e) => e.event === 'step:start' && e.step === 'resume-producers')
    expect(pausedAt).toBeLessThan(addedAt)
    const window = poller.samples.filter((s) => s.at > pausedAt + 300 && s.at < resumeStarted - 300 && s.status)
    expect(window.length).toBeGreaterThan(3)
    for (const sample of window) {
      expect(sample.status!.connector.state, JSON.stringify(sample)).toBe('PAUSED')
      expect(sample.status!.tasks.map((t) => t.state)).toEqual(['PAUSED'])
    }
    const after = await worker.status(topic)
    expect(after.connector.state).toBe('RUNNING')
    expect(after.tasks.map((t) => t.state)).toEqual(['RUNNING'])
    expect(await partitionCount(topic)).toBe(TO)
    // The task's transactional producer (exactly-once) has an id no agent owns: attributed to the
    // paused connector because it had not written since the pause, and named.
    const writers = stepResult<{writers: {notes: string[]}}>(events, 'add-partitions')!.writers
    expect(writers.notes.join(' ')).toMatch(
      /^producer id\(s\) \d+ belong to no agent and have not written since Kafka Connect connector .* attributed to it$/,
    )
    // The plan ran while the task worked: a transaction of its own open then is noted, never refused.
    const planNotes = stepResult<{writers: {notes: string[]}}>(events, 'plan')!.writers.notes
    const openAtPlan = planNotes.some((note) => /^open transaction .* is a running Kafka Connect task's/.test(note))

    // The credentials given in KREORG_CONNECT_URLS never leave the process.
    expect(result.stdout).not.toContain(PASSWORD)
    expect(result.stderr).not.toContain(PASSWORD)
    for (const run of await fs.readdir(path.join(stateDir, 'runs'))) {
      expect(await fs.readFile(path.join(stateDir, 'runs', run), 'utf8')).not.toContain(PASSWORD)
    }

    // The live group read every line exactly once, each key in file order.
    await eventually('the live group to read every appended line', async () => judge.judge.sawAll(sent), Boolean, {timeoutMs: 120_000})
    const verdict = judge.judge.verdict(sent)
    expect(verdict.expected).toBe(appended)
    expect(
      {lost: verdict.lost, duplicated: verdict.duplicated, reordered: verdict.reordered, unexpected: verdict.unexpected},
      JSON.stringify(verdict.samples),
    ).toEqual({
      lost: 0,
      duplicated: 0,
      reordered: 0,
      unexpected: 0,
    })

    // Read back from the beginning: every line once; per key, the records before the resume (old
    // layout) then those after it (murmur2 % TO: the restarted task's producer saw the new count at once).
    const records = await readBack(classpath, topic)
    expect(records.length).toBe(appended)
    const resumeOffsets = new Map(
      stepResult<{endOffsetsAtResume: Array<{partition: number; high: number}>}>(events, 'resume-producers')!.endOffsetsAtResume.map(
        (o) => [o.partition, o.high],
      ),
    )
    const afterResume = records.filter((r) => r.offset >= (resumeOffsets.get(r.partition) ?? 0))
    expect(afterResume.length).toBeGreaterThan(0)
    // Exactly-once really was in force: the restarted task's batches carry a producer id (not -1).
    const sample = afterResume[0]!
    expect(await cluster.producerIdOfBatchAt(topic, sample.partition, sample.offset)).toBeGreaterThanOrEqual(0)
    expect(afterResume.filter((r) => r.partition !== partitionForKey(r.key, TO))).toEqual([])
    const beforeResume = records.filter((r) => r.offset < (resumeOffsets.get(r.partition) ?? 0))
    expect(beforeResume.filter((r) => r.partition !== partitionForKey(r.key, FROM))).toEqual([])
    for (const key of KEYS) {
      const inOrder = [...beforeResume, ...afterResume].filter((r) => r.key === key).map((r) => r.seq)
      expect(inOrder, key).toEqual([...sent.ackedOf(key)].sort((a, b) => a - b))
    }
    process.stdout.write(
      `[connect] ${appended} lines appended; connector PAUSED for ${resumed.blackoutMs} ms (${window.length} status samples in the window, all PAUSED); ${afterResume.length} records after the resume, all at murmur2 % ${TO}; read_committed live group: 0 lost, 0 duplicated, 0 reordered; the task's transaction ${openAtPlan ? 'was open at the plan (noted)' : 'was not open at the plan'}\n`,
    )
  }, 420_000)

  it('refuses a Connect URL that does not answer: exit 2, one line, count unchanged, nothing paused', async () => {
    const {topic} = await fileConnector('connect-unreachable')
    const dead = `http://127.0.0.1:${await closedPort()}`
    const result = await runCli(
      [
        'grow',
        topic,
        '--to',
        String(TO),
        '--yes',
        '--connect-url',
        worker.url,
        '--connect-url',
        dead,
        '--state-dir',
        await tempDir(),
        ...FAST_GROW_FLAGS,
      ],
      {env: cliEnv(), timeoutMs: 120_000},
    )
    expect(result.code, result.stderr).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      new RegExp(`^Error: \\[plan\\] cannot reach Kafka Connect at ${dead.replaceAll('.', String.raw`\.`)}: connection refused`),
    )
    expect(await partitionCount(topic)).toBe(FROM)
    const status = await worker.status(topic)
    expect(status.connector.state).toBe('RUNNING')
    expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING'])
  })

  it('a connector that never reaches PAUSED: resumed again, exit 4, count unchanged', async () => {
    const topic = randomName('connect-stuck')
    await cluster.createTopic({topic, partitions: FROM, replicationFactor: 1})
    cleanup.push(() => cluster.deleteTopics([topic]))
    await worker.createConnector(topic, {'connector.class': STUCK_SOURCE, topic, 'tasks.max': '1'})
    cleanup.push(() => worker.deleteConnector(topic))
    const poller = pollStatus(worker, topic)
    const result = await runCliJson<GrowEvent>(
      ['grow', topic, '--to', String(TO), '--yes', '--connect-url', worker.url, '--state-dir', await tempDir(), ...withAckTimeout('6s')],
      {env: cliEnv(), timeoutMs: 120_000},
    )
    await poller.stop()
    expect(result.code, describeRun(result)).toBe(4)
    const fail = result.events.find((e) => e.event === 'step:fail') as {step: string; error: {code: string; message: string}} | undefined
    expect(fail?.step).toBe('pin-producers')
    expect(fail?.error.code).toBe('timeout')
    expect(fail?.error.message).toContain(`did not become PAUSED`)
    expect(fail?.error.message).toContain(`${topic} (${worker.url}): connector PAUSED, task 0 RUNNING`)
    expect(fail?.error.message).toContain('the connector(s) kreorg paused were resumed')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    // The connector itself went PAUSED (its task never did) and is RUNNING again.
    expect(poller.samples.some((s) => s.status?.connector.state === 'PAUSED')).toBe(true)
    expect((await worker.status(topic)).connector.state).toBe('RUNNING')
    expect(await partitionCount(topic)).toBe(FROM)
  })

  it('abort after the pause resumes exactly the connector the run paused', async () => {
    const {topic} = await fileConnector('connect-abort')
    const stateDir = await tempDir()
    const killed = await runCliJson<GrowEvent>(
      ['grow', topic, '--to', String(TO), '--yes', '--connect-url', worker.url, '--state-dir', stateDir, ...FAST_GROW_FLAGS],
      {
        env: cliEnv(),
        timeoutMs: 120_000,
        onEvent(event, kill) {
          if (event.event === 'step:done' && event.step === 'pin-producers') kill('SIGKILL')
        },
      },
    )
    expect(killed.signal).toBe('SIGKILL')
    expect((await worker.status(topic)).connector.state).toBe('PAUSED')
    const runId = String(killed.events.find((e) => e.event === 'run:start')?.runId)
    const abort = await runCli(['abort', runId, '--yes', '--state-dir', stateDir, '--json'], {env: cliEnv(), timeoutMs: 120_000})
    expect(abort.code, abort.stderr).toBe(0)
    const status = await worker.status(topic)
    expect(status.connector.state).toBe('RUNNING')
    expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING'])
    expect(await partitionCount(topic)).toBe(FROM)
  })
})

import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {LedgerReport, ReceivedLedger} from './ledger.js'

import {createProducerAgent, type ProducerAgent} from '../agent/index.js'
import {DEFAULT_CONTROL_TOPIC} from '../control/schema.js'
import {KreorgError} from '../core/errors.js'
import {createKafkaClient, javaCompatiblePartitioner, type Producer} from '../kafka/client.js'
import {KafkajsCluster} from '../kafka/kafkajs-cluster.js'
import {readTopicLag} from '../kafka/lag.js'
import {type LocalKafka, startLocalKafka} from '../local-kafka/index.js'
import {runCli} from '../process/run-cli.js'
import {DriverProducer} from './agent-drivers.js'
import {JavaDemoGroup} from './java-consumer.js'
import {DemoGroup, demoKeys, KeyedTraffic} from './traffic.js'

export interface DemoOptions {
  from: number
  to: number
  keys: number
  ratePerSec: number
  /** Traffic before the change, so the lagging group builds a backlog. */
  warmupMs: number
  /** Traffic after the change, before producers stop. */
  afterMs: number
  /** Processing rate of the lagging group (below the produce rate, so its backlog grows). */
  laggingRatePerSec: number
  metadataMaxAgeMs: number
  log: (line: string) => void
  signal?: AbortSignal
}

export interface DemoSide {
  topic: string
  violations: number
  lost: number
  duplicated: number
  partitionsAfter: number
  pausedMs: number
  produced: number
  groups: Record<string, LedgerReport>
}

export interface DemoResult {
  kafka: {version: string; mode: string}
  naive: DemoSide
  kreorg: DemoSide & {runId: string | null; exitCode: number | null}
  elapsedMs: number
}

const GROUPS = [
  {suffix: 'billing', lagging: false},
  {suffix: 'analytics', lagging: true},
] as const

/** A kafkajs DemoGroup or Apache Kafka's Java console consumer: both record what they read. */
interface DemoConsumer {
  readonly received: ReceivedLedger
  start(): Promise<void>
  stop(): Promise<void>
}

interface Side {
  topic: string
  traffic: KeyedTraffic
  groups: Map<string, DemoConsumer>
  close: () => Promise<void>
}

/**
 * The Java group's metadata refresh: above the producers' (so on the naive side producers write to
 * new partitions before it looks, as with the 5-minute default) and short enough for a demo.
 */
const JAVA_METADATA_MAX_AGE_MS = 10_000

function sumSide(side: Side, extra: {partitionsAfter: number; pausedMs: number}): DemoSide {
  const groups: Record<string, LedgerReport> = {}
  let violations = 0
  let lost = 0
  let duplicated = 0
  for (const [groupId, group] of side.groups) {
    const report = group.received.report(side.traffic.sent)
    groups[groupId] = report
    violations += report.violations
    lost += report.lost
    duplicated += report.duplicated
  }
  return {topic: side.topic, violations, lost, duplicated, produced: side.traffic.sent.total, groups, ...extra}
}

/** How long the demo lets `kreorg grow` run: far above its pause, drain and pickup timeouts. */
const GROW_TIMEOUT_MS = 10 * 60_000

/**
 * Runs `kreorg grow` as a user would: the real CLI, --yes --json, its own state dir, and XDG dirs of
 * its own so a profile in the user's ~/.config/kreorg cannot redirect it away from the demo broker.
 */
async function runGrow(
  brokers: string,
  topic: string,
  to: number,
  stateDir: string,
  log: (line: string) => void,
): Promise<{exitCode: number | null; runId: string | null; pausedMs: number}> {
  const args = [
    'grow',
    topic,
    '--to',
    String(to),
    '--yes',
    '--json',
    '--brokers',
    brokers,
    '--state-dir',
    stateDir,
    '--quiet-period',
    '2s',
    '--prime-timeout',
    '120s',
    '--lease',
    '60s',
    '--post-check-window',
    '3s',
    '--sample',
    '200',
  ]
  let runId: string | null = null
  let pausedMs = 0
  const run = await runCli(args, {
    timeoutMs: GROW_TIMEOUT_MS,
    xdg: {configHome: path.join(stateDir, 'xdg-config'), stateHome: path.join(stateDir, 'xdg-state')},
    ndjson: {
      nonJson: 'skip',
      onEvent(event) {
        if (typeof event.runId === 'string') runId = event.runId
        switch (event.event) {
          case 'step:done': {
            const result = event.result as Record<string, unknown> | undefined
            if (event.step === 'post-check' && typeof result?.pausedMs === 'number') pausedMs = result.pausedMs
            log(`  kreorg | ${String(event.step).padEnd(18)} done in ${event.durationMs}ms`)

            break
          }
          case 'step:skip': {
            log(`  kreorg | ${String(event.step).padEnd(18)} skipped`)

            break
          }
          case 'warning': {
            log(`  kreorg | warning: ${String(event.message)}`)

            break
          }
          case 'step:fail':
          case 'error': {
            log(`  kreorg | failed: ${JSON.stringify(event)}`)

            break
          }
          // No default
        }
      },
    },
  })
  if (run.code !== 0 && run.stderr.trim()) log(`  kreorg | ${run.stderr.trim().split('\n').pop()}`)
  return {exitCode: run.code, runId, pausedMs}
}

async function waitForDrain(cluster: KafkajsCluster, topics: string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    signal?.throwIfAborted()
    let total = 0
    for (const topic of topics) total += (await readTopicLag(cluster, topic)).groups.reduce((sum, g) => sum + g.total, 0)
    if (total === 0) return
    await sleep(500)
  }
}

/**
 * The demo: the same keyed traffic and consumer groups on two twin topics. One is grown the naive
 * way (createPartitions while producers run), the other with `kreorg grow`. Consumers check per-key
 * order, loss and duplicates; nothing here is simulated.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now()
  const {log} = options
  log('starting Kafka (KAFKA_BROKERS, else Docker, else Apache Kafka jars via Maven)…')
  const local: LocalKafka = await startLocalKafka({
    log: (line) => log(`  kafka  | ${line}`),
    ...(options.signal ? {signal: options.signal} : {}),
  })
  const cleanups: Array<() => Promise<void>> = [() => local.stop()]
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kreorg-demo-state-'))
  cleanups.unshift(() => rm(stateDir, {recursive: true, force: true}))
  try {
    log(`Kafka ${local.version} (${local.mode}) at ${local.brokers}`)
    const connection = {brokers: local.brokers.split(','), clientId: 'kreorg-demo', connectTimeoutMs: 10_000}
    const cluster = new KafkajsCluster(connection)
    await cluster.connect()
    cleanups.unshift(() => cluster.close())
    const kafka = createKafkaClient(connection)
    const suffix = Math.random().toString(36).slice(2, 6)
    const existing = new Set(await cluster.listTopics())
    const ordersTopic = existing.has('orders') ? `orders-${suffix}` : 'orders'
    const naiveTopic = `${ordersTopic}-naive`
    for (const topic of [ordersTopic, naiveTopic])
      await cluster.createTopic({topic, partitions: options.from, replicationFactor: local.nodes.length >= 3 ? 3 : 1})
    log(`created ${ordersTopic} and its twin ${naiveTopic} with ${options.from} partitions`)

    const keys = demoKeys(options.keys)
    const writersPerSide = 3
    // kreorg side: producers wrapped by the agent. Naive side: the same producers without it.
    // One producer of each kind where the toolchains allow (issue 15): kafkajs, Java, Python.
    const drivers: DriverProducer[] = []
    for (const [i, kind] of (['java', 'python'] as const).entries()) {
      const started = await DriverProducer.start(kind, {
        brokers: local.brokers,
        topic: ordersTopic,
        controlTopic: DEFAULT_CONTROL_TOPIC,
        agentId: `demo-producer-${i + 1}-${kind}-${suffix}`,
        log,
      })
      if (typeof started === 'string') log(`no ${kind} producer in the demo: ${started}; a kafkajs agent takes its place`)
      else drivers.push(started)
    }
    cleanups.unshift(async () => {
      for (const driver of drivers) await driver.close().catch(() => {})
    })
    const agents: ProducerAgent[] = []
    for (let i = 0; i < writersPerSide - drivers.length; i++) {
      agents.push(
        await createProducerAgent({
          kafka,
          topics: [ordersTopic],
          agentId: `demo-producer-${i}-${suffix}`,
          producer: {idempotent: true, metadataMaxAge: options.metadataMaxAgeMs},
          heartbeatMs: 1000,
          logger: {warn: (message) => log(`  agent  | ${message}`)},
        }),
      )
    }
    log(
      `producers on ${ordersTopic}: ${[...agents.map(() => 'kafkajs agent'), ...drivers.map((d) => `${d.kind === 'java' ? 'Java' : 'Python'} agent`)].join(', ')}; on ${naiveTopic}: ${writersPerSide} plain kafkajs producers`,
    )
    const naiveProducers: Producer[] = []
    for (let i = 0; i < writersPerSide; i++) {
      const producer = kafka.producer({
        idempotent: true,
        metadataMaxAge: options.metadataMaxAgeMs,
        createPartitioner: javaCompatiblePartitioner,
      })
      await producer.connect()
      naiveProducers.push(producer)
    }
    const sides: Side[] = [
      {
        topic: naiveTopic,
        writers: naiveProducers.map(
          (p) => (messages: Parameters<Producer['send']>[0]['messages']) => p.send({topic: naiveTopic, messages, acks: -1}),
        ),
        close: async () => void (await Promise.all(naiveProducers.map((p) => p.disconnect()))),
      },
      {
        topic: ordersTopic,
        writers: [
          ...agents.map((a) => (messages: Parameters<Producer['send']>[0]['messages']) => a.send({topic: ordersTopic, messages, acks: -1})),
          ...drivers.map((d) => (messages: Parameters<Producer['send']>[0]['messages']) => d.send(messages)),
        ],
        close: async () => void (await Promise.all([...agents.map((a) => a.close()), ...drivers.map((d) => d.close())])),
      },
    ].map(({topic, writers, close}) => ({
      topic,
      traffic: new KeyedTraffic({writers, keys, ratePerSec: options.ratePerSec}),
      groups: new Map<string, DemoConsumer>(
        GROUPS.map(({suffix: name, lagging}) => [
          `${topic}-${name}`,
          new DemoGroup({
            kafka,
            topic,
            groupId: `${topic}-${name}`,
            metadataMaxAgeMs: options.metadataMaxAgeMs,
            // Small fetches: a lagging kafkajs group notices new partitions only between fetches (see DemoGroupOptions).
            ...(lagging ? {maxRatePerSec: options.laggingRatePerSec, maxBytesPerPartition: 8 * 1024} : {}),
          }),
        ]),
      ),
      close,
    }))
    const [naive, grown] = sides as [Side, Side]
    // Apache Kafka's own console consumer, `latest`, on each side: the loss a naive add causes it, and none with kreorg.
    const javaGroups: JavaDemoGroup[] = []
    const noJava = JavaDemoGroup.unavailable(local.toolsClasspath)
    if (noJava) log(noJava)
    else {
      for (const side of sides) {
        const groupId = `${side.topic}-java-latest`
        const group = new JavaDemoGroup({
          brokers: local.brokers,
          classpath: local.toolsClasspath!,
          topic: side.topic,
          groupId,
          metadataMaxAgeMs: JAVA_METADATA_MAX_AGE_MS,
        })
        side.groups.set(groupId, group)
        javaGroups.push(group)
      }
    }
    for (const side of sides) for (const group of side.groups.values()) await group.start()
    cleanups.unshift(async () => {
      for (const side of sides) for (const group of side.groups.values()) await group.stop().catch(() => {})
    })
    cleanups.unshift(async () => {
      for (const side of sides) await side.close().catch(() => {})
    })
    // Let every group join before traffic starts: with auto.offset.reset=latest they would skip earlier records.
    await sleep(3000)
    if (javaGroups.length > 0) log('waiting for the Java console consumers to join (JVM start-up)…')
    for (const group of javaGroups) await group.ready(cluster, options.from, 180_000, options.signal)
    for (const side of sides) side.traffic.start()
    log(
      `traffic: ${options.ratePerSec} keyed records/s over ${options.keys} keys into each topic; groups "billing" (keeps up) and "analytics" (${options.laggingRatePerSec}/s, lags)${javaGroups.length > 0 ? ', and "java-latest" (Apache Kafka\'s console consumer, auto.offset.reset=latest)' : ''}`,
    )
    await sleep(options.warmupMs, undefined, {signal: options.signal})

    log(`naive:  createPartitions ${naiveTopic} ${options.from} → ${options.to} with producers running`)
    await cluster.createPartitions(naiveTopic, options.to)
    log(`kreorg: kreorg grow ${ordersTopic} --to ${options.to} --yes`)
    const grow = await runGrow(local.brokers, ordersTopic, options.to, stateDir, log)
    await sleep(options.afterMs, undefined, {signal: options.signal})

    log('stopping producers; waiting for every group to consume everything')
    for (const side of sides) await side.traffic.stop()
    await waitForDrain(cluster, [naiveTopic, ordersTopic], 60_000, options.signal)
    // Consumers with a stale layout may still be catching up on new partitions: give them a refresh period.
    await sleep(Math.min(5000, options.metadataMaxAgeMs + 1000))
    await waitForDrain(cluster, [naiveTopic, ordersTopic], 30_000, options.signal)
    // A Java group that has not yet looked at the new partitions (its metadata refresh) still counts: let it look.
    if (javaGroups.length > 0) await sleep(JAVA_METADATA_MAX_AGE_MS, undefined, {signal: options.signal})
    // Everything they printed is in their ledgers once they exit.
    for (const group of javaGroups) await group.stop()

    const partitionsAfter = async (topic: string) => (await cluster.describeTopic(topic)).partitions.length
    const result: DemoResult = {
      kafka: {version: local.version, mode: local.mode},
      naive: sumSide(naive, {partitionsAfter: await partitionsAfter(naiveTopic), pausedMs: 0}),
      kreorg: {
        ...sumSide(grown, {partitionsAfter: await partitionsAfter(ordersTopic), pausedMs: grow.pausedMs}),
        runId: grow.runId,
        exitCode: grow.exitCode,
      },
      elapsedMs: Date.now() - started,
    }
    if (grow.exitCode !== 0) {
      throw new KreorgError('unexpected', `kreorg grow exited ${grow.exitCode} in the demo`, {
        suggestions: ['rerun with DEBUG=1 to see the broker and client logs'],
      })
    }
    return result
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {})
  }
}

import {type Admin, Kafka, logLevel} from 'kafkajs'
/**
 * The judged scenario of issue 13, shared by the e2e test (test/e2e/java-judge*.test.ts) and the soak
 * (bench/soak.ts): a topic with live keyed traffic from kreorg producer agents, read by consumer
 * groups kreorg did not write (Apache Kafka's ConsoleConsumer, classic and KIP-848, `latest` and
 * `earliest`, and a plain kafkajs group), grown either by `kreorg grow` through its CLI or naively
 * (createPartitions under running producers). Every group's output is checked per key by
 * test/judges/sequence-judge.ts; nothing here asks kreorg whether it worked.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {isolatedXdgDirs, type NdjsonRecord, runCli} from '../../src/process/run-cli.js'
import {ConsoleConsumerJudge, type ConsoleConsumerSpec} from './console-consumer.js'
import {KafkajsConsumerJudge, type KafkajsJudgeSpec} from './kafkajs-consumer.js'
import {type JudgeVerdict, type SequenceJudge, WARMUP_KEY} from './sequence-judge.js'
import {judgeKeys, SequencedTraffic} from './traffic.js'

export interface ScenarioOptions {
  brokers: string
  /** Kafka's jars (`java -cp`), for the Java groups. */
  classpath: string
  /** 'kreorg': `kreorg grow <topic> --to N --yes --json`; 'naive': createPartitions while producers run. */
  mode: 'kreorg' | 'naive'
  from: number
  to: number
  java: ConsoleConsumerSpec[]
  kafkajs: KafkajsJudgeSpec[]
  keys?: number
  ratePerSec?: number
  producers?: number
  /** Producer metadata refresh (what makes naive producers write to new partitions). */
  producerMetadataMaxAgeMs?: number
  /** Traffic before the change. */
  beforeMs?: number
  /** Traffic after the change (after the CLI exits, or after the alter for 'naive'). */
  afterMs?: number
  /** Extra `kreorg grow` flags (timeouts sized for the run). */
  growFlags?: string[]
  /** How long groups may take to catch up once producers stop. */
  settleTimeoutMs?: number
  /** How long the CLI may run. */
  growTimeoutMs?: number
  /** Throttled kafkajs groups process at full speed from the moment every producer acked the pause (their backlog then drains). */
  unthrottleOnPause?: boolean
  /** Another kreorg CLI entry point (e.g. an older build, to compare runbooks). */
  cliBin?: string
  log?: (line: string) => void
  label?: string
}

export interface StepTiming {
  step: string
  durationMs: number
}

export interface ScenarioResult {
  mode: 'kreorg' | 'naive'
  topic: string
  exitCode: number | null
  partitionsAfter: number
  produced: number
  uncertain: number
  sendErrors: number
  /** kreorg's own report of the blackout (post-check pausedMs: pause sent → every resume ack). */
  blackoutMs: number | null
  /** The pause-producers … resume-producers acks, from the steps' results (every pause ack → every resume ack), summed over pauses. */
  blackoutAckedMs: number | null
  drainMs: number | null
  primeMs: number | null
  /** What the producers felt: the longest time no send completed. */
  producerStallMs: number
  /**
   * From every producer's pause ack (the CLI's pause-producers event) until every group had printed
   * every record acknowledged before the pause: the drain as the consumers' output shows it, a floor
   * for any drain check that reads committed offsets. Null when not reached before the resume.
   */
  consumedAllMs: number | null
  growMs: number | null
  totalMs: number
  steps: StepTiming[]
  groups: JudgeVerdict[]
  /** Per Java group: the consumer's own log lines about positions (offset resets), for a failure's story. */
  consumerLogs: Record<string, string[]>
  /** The CLI's failure events and stderr tail, when it did not exit 0. */
  failure?: string
}

/** The flags the CI test and the soak give `kreorg grow`: sized for a 2-core machine and 20 s consumer metadata refresh. */
export const JUDGE_GROW_FLAGS = [
  '--quiet-period',
  '1s',
  '--ack-timeout',
  '20s',
  '--lease',
  '30s',
  '--prime-timeout',
  '150s',
  '--post-check-window',
  '2s',
  '--sample',
  '100',
]

/** The groups of issue 13's "Done when": classic latest + earliest, KIP-848 latest, kafkajs fromBeginning:false. */
export function standardJudges(classicMetadataMaxAgeMs: number | undefined): {java: ConsoleConsumerSpec[]; kafkajs: KafkajsJudgeSpec[]} {
  const age = classicMetadataMaxAgeMs === undefined ? {} : {metadataMaxAgeMs: classicMetadataMaxAgeMs}
  return {
    java: [
      {name: 'java-classic-latest', reset: 'latest', protocol: 'classic', ...age},
      {name: 'java-classic-earliest', reset: 'earliest', protocol: 'classic', ...age},
      // KIP-848 members learn of new partitions from the coordinator, not from a metadata refresh.
      {name: 'java-kip848-latest', reset: 'latest', protocol: 'consumer'},
    ],
    kafkajs: [
      {
        name: 'kafkajs-latest',
        autoCommitIntervalMs: 1000,
        ...(classicMetadataMaxAgeMs === undefined ? {} : {metadataMaxAgeMs: classicMetadataMaxAgeMs}),
      },
    ],
  }
}

function randomSuffix(): string {
  return Math.random().toString(16).slice(2, 10)
}

async function committedAll(admin: Admin, groupId: string, topic: string, partitions: number): Promise<Map<number, number>> {
  const [entry] = await admin.fetchOffsets({groupId, topics: [topic]})
  const offsets = new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]))
  for (let p = 0; p < partitions; p++) if (!offsets.has(p)) offsets.set(p, -1)
  return offsets
}

/** kafkajs's own waitForLeaders fails on a busy broker (UNKNOWN_TOPIC_OR_PARTITION while the leaders settle): poll instead. */
export async function createTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  await admin.createTopics({topics: [{topic, numPartitions: partitions, replicationFactor: 1}], waitForLeaders: false})
  await until(`leaders of ${topic}`, 60_000, async () => {
    try {
      const [meta] = (await admin.fetchTopicMetadata({topics: [topic]})).topics
      return meta?.partitions.length === partitions && meta.partitions.every((p) => p.leader >= 0)
    } catch {
      return false
    }
  })
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** Runs the scenario once: set-up, traffic, the change, settle, verdicts; always cleans up. */
export async function runJudgedScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const label = options.label ?? options.mode
  const say = (line: string) => log(`[${label}] ${line}`)
  const topic = `judge-${options.mode}-${randomSuffix()}`
  const controlTopic = `${topic}-ctl`
  const kafka = new Kafka({
    clientId: 'judge-scenario',
    brokers: options.brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10_000,
  })
  const admin = kafka.admin()
  await admin.connect()
  const agents: ProducerAgent[] = []
  const javaGroups = options.java.map(
    (spec) => new ConsoleConsumerJudge(topic, spec, {brokers: options.brokers, classpath: options.classpath}),
  )
  const jsGroups = options.kafkajs.map((spec) => new KafkajsConsumerJudge(topic, spec, options.brokers))
  const judges: SequenceJudge[] = [...javaGroups.map((g) => g.judge), ...jsGroups.map((g) => g.judge)]
  const groupIds = [...javaGroups.map((g) => g.groupId), ...jsGroups.map((g) => g.groupId)]
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kreorg-judge-state-'))
  let traffic: SequencedTraffic | undefined
  try {
    await createTopic(admin, topic, options.from)
    for (let i = 0; i < (options.producers ?? 3); i++) {
      agents.push(
        await createProducerAgent({
          kafka,
          topics: [topic],
          controlTopic,
          agentId: `${topic}-p${i}`,
          producer: {idempotent: true, metadataMaxAge: options.producerMetadataMaxAgeMs ?? 5000},
          heartbeatMs: 1000,
          logger: {warn: (message) => say(`agent p${i}: ${message}`)},
        }),
      )
    }
    for (const group of javaGroups) group.start()
    for (const group of jsGroups) await group.start()
    say(`started ${javaGroups.length} Java and ${jsGroups.length} kafkajs groups on ${topic} (${options.from} partitions)`)
    await waitForPositions(admin, topic, options.from, javaGroups, jsGroups, agents[0]!, say)

    const writers = agents.map((agent) => (messages: Array<{key: string; value: string}>) => agent.send({topic, messages, acks: -1}))
    traffic = new SequencedTraffic({writers, keys: judgeKeys(options.keys ?? 500), ratePerSec: options.ratePerSec ?? 300})
    traffic.start()
    await sleep(options.beforeMs ?? 5000)

    let grow: GrowOutcome = {exitCode: 0, events: [], growMs: null, consumedAllMs: null}
    if (options.mode === 'kreorg') {
      say(`kreorg grow ${topic} --to ${options.to}`)
      const sentSoFar = traffic.sent
      grow = await runGrow(options, topic, controlTopic, stateDir, say, {
        onPaused() {
          if (options.unthrottleOnPause) for (const group of jsGroups) group.unthrottle()
        },
        consumedAll: () => judges.every((j) => j.sawAll(sentSoFar)),
      })
      say(`kreorg grow exited ${grow.exitCode} after ${grow.growMs} ms`)
    } else {
      say(`createPartitions ${topic} ${options.from} → ${options.to} under traffic`)
      await admin.createPartitions({topicPartitions: [{topic, count: options.to}]})
    }
    await sleep(options.afterMs ?? 3000)
    await traffic.stop()
    say(`producers stopped: ${traffic.sent.total} records acknowledged, ${traffic.sent.uncertainTotal} uncertain`)
    const partitionsAfter = (await admin.fetchTopicMetadata({topics: [topic]})).topics[0]?.partitions.length ?? 0
    await settle(admin, topic, partitionsAfter, traffic, judges, groupIds, options.settleTimeoutMs ?? 60_000, say)
    for (const group of javaGroups) await group.stop()
    for (const group of jsGroups) await group.stop()
    const sent = traffic.sent
    return {
      mode: options.mode,
      topic,
      exitCode: grow.exitCode,
      partitionsAfter,
      produced: sent.total,
      uncertain: sent.uncertainTotal,
      sendErrors: traffic.sendErrors,
      ...timings(grow.events),
      producerStallMs: traffic.longestStall.ms,
      consumedAllMs: grow.consumedAllMs,
      growMs: grow.growMs,
      totalMs: Date.now() - started,
      groups: judges.map((judge) => judge.verdict(sent)),
      consumerLogs: Object.fromEntries(javaGroups.map((g) => [g.spec.name, g.log.slice(-40)])),
      ...(grow.failure ? {failure: grow.failure} : {}),
    }
  } finally {
    await traffic?.stop().catch(() => {})
    await Promise.all(javaGroups.map((g) => g.stop().catch(() => {})))
    await Promise.all(jsGroups.map((g) => g.stop().catch(() => {})))
    await Promise.all(agents.map((a) => a.close().catch(() => {})))
    await admin.deleteTopics({topics: [topic, controlTopic, `${controlTopic}-heartbeats`]}).catch(() => {})
    await admin.disconnect().catch(() => {})
    await rm(stateDir, {recursive: true, force: true}).catch(() => {})
  }
}

/**
 * Before any judged record is written, every group must have a position on every partition, or a
 * `latest` group would rightly skip early records and blame the grow for it. Java groups show it by
 * committing every assigned partition; every group shows it by reading a warm-up record written to
 * each partition after it joined (rewritten until seen: a position taken after a warm-up skips it).
 */
export async function waitForPositions(
  admin: Admin,
  topic: string,
  partitions: number,
  javaGroups: ConsoleConsumerJudge[],
  jsGroups: KafkajsConsumerJudge[],
  agent: ProducerAgent,
  say: (line: string) => void,
): Promise<void> {
  const joinStarted = Date.now()
  const positioned = new Set<string>()
  await until('Java groups to commit a position on every partition', 180_000, async () => {
    const dead = javaGroups.find((g) => g.exited)
    if (dead) throw new Error(dead.exitReport())
    for (const group of javaGroups) {
      if (positioned.has(group.groupId)) continue
      const committed = await committedAll(admin, group.groupId, topic, partitions)
      if ([...committed.values()].some((o) => o < 0)) continue
      positioned.add(group.groupId)
      say(`${group.spec.name} committed all ${partitions} positions ${Date.now() - joinStarted} ms after start`)
    }
    return positioned.size === javaGroups.length
  })
  say(`Java groups hold positions on all ${partitions} partitions (${Date.now() - joinStarted} ms)`)
  const judges = [...javaGroups.map((g) => g.judge), ...jsGroups.map((g) => g.judge)]
  let round = 0
  await until(
    'every group to read a warm-up record on every partition',
    120_000,
    async () => {
      const missing = Array.from({length: partitions}, (_, p) => p).filter((p) => judges.some((j) => !j.sawWarmup(p)))
      if (missing.length === 0) return true
      round++
      await agent.send({
        topic,
        acks: -1,
        messages: missing.map((partition) => ({key: WARMUP_KEY, value: `${WARMUP_KEY}:${round}`, partition})),
      })
      return false
    },
    3000,
  )
  say(`every group read a warm-up record on every partition (${round} round(s), ${Date.now() - joinStarted} ms since start)`)
}

interface GrowOutcome {
  exitCode: number | null
  events: NdjsonRecord[]
  growMs: number | null
  consumedAllMs: number | null
  failure?: string
}

/** Watches the run's events: at the pause ack, unthrottles and times the consumers' own drain until the resume. */
async function runGrow(
  options: ScenarioOptions,
  topic: string,
  controlTopic: string,
  stateDir: string,
  say: (line: string) => void,
  hooks: {onPaused: () => void; consumedAll: () => boolean},
): Promise<GrowOutcome> {
  const args = [
    'grow',
    topic,
    '--to',
    String(options.to),
    '--yes',
    '--json',
    '--brokers',
    options.brokers,
    '--state-dir',
    stateDir,
    '--control-topic',
    controlTopic,
    ...(options.growFlags ?? JUDGE_GROW_FLAGS),
  ]
  let pausedAt: number | undefined
  let consumedAllMs: number | null = null
  let watching = false
  const watch = async () => {
    watching = true
    while (watching && consumedAllMs === null) {
      if (hooks.consumedAll()) consumedAllMs = Date.now() - pausedAt!
      else await sleep(100)
    }
  }
  let watcher: Promise<void> | undefined
  const run = await runCli(args, {
    timeoutMs: options.growTimeoutMs ?? 10 * 60_000,
    xdg: isolatedXdgDirs('kreorg-judge-xdg-'),
    ...(options.cliBin ? {bin: options.cliBin} : {}),
    ndjson: {
      nonJson: 'skip',
      onEvent(event) {
        switch (event.event) {
          case 'step:done': {
            say(`  ${String(event.step)} done in ${String(event.durationMs)} ms`)
            break
          }
          case 'step:fail':
          case 'run:fail': {
            say(`  ${String(event.event)}: ${JSON.stringify(event).slice(0, 600)}`)
            break
          }
          case 'step:progress':
          case 'warning': {
            say(`  ${String(event.step)}: ${String(event.message).slice(0, 400)}`)
            break
          }
          // No default
        }
        if (event.event === 'step:done' && event.step === 'pause-producers' && pausedAt === undefined) {
          pausedAt = Date.now()
          hooks.onPaused()
          watcher = watch()
        }
        if (event.event === 'step:start' && event.step === 'resume-producers') watching = false
      },
    },
  })
  watching = false
  await watcher
  const failures = run.events.filter((e) => e.event === 'step:fail' || e.event === 'run:fail' || e.event === 'error')
  return {
    exitCode: run.code,
    events: run.events,
    growMs: Math.round(run.durationMs),
    consumedAllMs,
    ...(run.code === 0
      ? {}
      : {
          failure: `exit ${run.code}${run.timedOut ? ' (timed out)' : ''}: ${JSON.stringify(failures).slice(0, 1500)} ${run.stderr.trim().slice(-1000)}`,
        }),
  }
}

function timings(events: NdjsonRecord[]): Pick<ScenarioResult, 'blackoutMs' | 'blackoutAckedMs' | 'drainMs' | 'primeMs' | 'steps'> {
  const done = events.filter((e) => e.event === 'step:done')
  const result = (step: string) => done.filter((e) => e.step === step).map((e) => (e.result ?? {}) as Record<string, unknown>)
  const num = (value: unknown) => (typeof value === 'number' ? value : null)
  const post = result('post-check').at(-1)
  const pauses = result('pause-producers').map((r) => num(r.pausedAt))
  const resumes = result('resume-producers').map((r) => num(r.resumedAt))
  let acked: number | null = null
  if (pauses.length > 0 && pauses.length === resumes.length && [...pauses, ...resumes].every((v) => v !== null)) {
    acked = pauses.reduce<number>((sum, p, i) => sum + (resumes[i]! - p!), 0)
  }
  return {
    blackoutMs: num(post?.pausedMs),
    blackoutAckedMs: acked,
    drainMs: num(post?.drainMs) ?? num(result('drain').at(-1)?.drainMs),
    primeMs: num(post?.primeMs) ?? num(result('prime-consumers').at(-1)?.pickupMs),
    steps: done.map((e) => ({step: String(e.step), durationMs: Number(e.durationMs)})),
  }
}

/**
 * Producers have stopped. Done when every group printed every acknowledged record, or when every
 * group's committed offsets reached the end of every partition twice in a row (it will read no more:
 * whatever is missing then is lost).
 */
async function settle(
  admin: Admin,
  topic: string,
  partitions: number,
  traffic: SequencedTraffic,
  judges: SequenceJudge[],
  groupIds: string[],
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  const started = Date.now()
  let caughtUpRounds = 0
  let lastCheck = 0
  try {
    await until('every group to catch up', timeoutMs, async () => {
      if (judges.every((j) => j.sawAll(traffic.sent))) return true
      if (Date.now() - lastCheck < 2000) return false
      lastCheck = Date.now()
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]))
      let allAtEnd = true
      for (const groupId of groupIds) {
        const committed = await committedAll(admin, groupId, topic, partitions)
        for (const [partition, end] of ends) if ((committed.get(partition) ?? -1) < end) allAtEnd = false
      }
      caughtUpRounds = allAtEnd ? caughtUpRounds + 1 : 0
      return caughtUpRounds >= 2
    })
    say(`groups settled in ${Date.now() - started} ms`)
  } catch {
    say(`groups did not settle within ${timeoutMs} ms: judging what they printed`)
  }
  // Late duplicates would show right after the catch-up: give them a moment.
  await sleep(1000)
}

/**
 * Benchmark: producer blackout while a topic grows 6 → 12 partitions with a lagging consumer group.
 *
 * Same set-up as the demo (src/demo): three producer agents writing keyed records (KeyedTraffic), a
 * group that keeps up ("billing") and one that lags ("analytics"). The analytics group's backlog is
 * made S records (10k, 100k, 1M) by stopping it, bulk-writing S keyed records, and starting it again
 * right before the change. Per size, repetitions alternate between:
 *
 * - kreorg: the real CLI, `kreorg grow <topic> --to 12 --yes --json`. Pause window = the run's own
 *   `pausedMs` (all agents acked pause → all acked resume).
 * - manual runbook with Kafka's tools from the broker's jars: stop the producers; every 5 s
 *   `kafka-consumer-groups --describe --all-groups` until LAG is 0 on every row of the topic;
 *   `kafka-topics --alter --partitions 12`; start the producers. Window = stop → start.
 *
 * Floor (what no tool can beat) = the slowest group's drain time from the pause (its measured rate)
 * + the createPartitions round trip + the consumers' pickup of the new partitions, all observed by
 * a sampler in this process that reads committed offsets and assignments every 100 ms.
 *
 * Then (bench/blackout-java.ts, `javaConsumers` in the result) the blackout with Apache Kafka's Java
 * consumers at their default metadata.max.age.ms, judged for loss; `--no-java` leaves it out,
 * `--only-java` measures only it and keeps the rest of bench/results/blackout.json.
 *
 *   npm run build && node dist/bench/blackout.js [--sizes 10000,100000,1000000] [--reps 5] [--java-reps 3]
 *   node dist/bench/blackout.js --only-java
 */
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'

import {createProducerAgent, type ProducerAgent} from '../src/agent/index.js'
import {ControlChannel} from '../src/control/channel.js'
import {DemoGroup, demoKeys, KeyedTraffic} from '../src/demo/traffic.js'
import {createKafkaClient, javaCompatiblePartitioner, type KafkaClient, type Message} from '../src/kafka/client.js'
import {KafkajsCluster} from '../src/kafka/kafkajs-cluster.js'
import {javaBlackoutBench} from './blackout-java.js'
import {
  arg,
  benchContext,
  type BenchContext,
  hasFlag,
  isMain,
  kafkaInfo,
  kafkaTool,
  kreorg,
  machine,
  median,
  RESULTS_DIR,
  round,
  runStandalone,
  sleep,
  summary,
  writeResult,
} from './common.js'

const FROM = 6
const TO = 12
const RATE = 500
const KEYS = 1000
const METADATA_MAX_AGE_MS = 3000
const POLL_MS = 5000
const GROW_FLAGS = [
  '--quiet-period',
  '1s',
  '--prime-timeout',
  '60s',
  '--lease',
  '300s',
  '--post-check-window',
  '1s',
  '--sample',
  '100',
  '--drain-timeout',
  '30m',
]

interface Sample {
  t: number
  /** Lag per group (end offsets − committed, summed over partitions). */
  lag: Record<string, number>
  committed: Record<string, number>
  /** Number of partitions of the topic assigned to the group's members. */
  owned: Record<string, number>
}

/** Reads lag and assignment of the bench groups every 100 ms; the floor comes from these samples. */
class Sampler {
  readonly samples: Sample[] = []
  private running = true
  private loop: Promise<void> | undefined

  constructor(
    private readonly cluster: KafkajsCluster,
    private readonly topic: string,
    private readonly groups: string[],
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const t = performance.now()
        try {
          const ends = await this.cluster.endOffsets(this.topic)
          const endSum = ends.reduce((s, o) => s + o.high, 0)
          const lag: Record<string, number> = {}
          const committed: Record<string, number> = {}
          for (const g of this.groups) {
            const offsets = new Map((await this.cluster.committedOffsets(g, this.topic)).map((o) => [o.partition, o.offset]))
            committed[g] = ends.reduce((s, o) => s + Math.max(0, offsets.get(o.partition) ?? 0), 0)
            lag[g] = ends.reduce((s, o) => s + Math.max(0, o.high - Math.max(o.low, offsets.get(o.partition) ?? o.low)), 0)
          }
          const owned: Record<string, number> = {}
          for (const d of await this.cluster.describeGroups(this.groups))
            owned[d.groupId] = d.members.reduce((s, m) => s + (m.assignment[this.topic]?.length ?? 0), 0)
          void endSum
          this.samples.push({t, lag, committed, owned})
        } catch {
          // A failed read is a gap in the samples, nothing more.
        }
        await sleep(Math.max(0, 100 - (performance.now() - t)))
      }
    })()
  }

  async stop(): Promise<void> {
    this.running = false
    await this.loop
  }

  /** First sample at or after `from` where every group has lag 0. */
  drainedAt(from: number): Sample | undefined {
    return this.samples.find((s) => s.t >= from && Object.values(s.lag).every((l) => l === 0))
  }

  lastBefore(t: number): Sample | undefined {
    return [...this.samples].reverse().find((s) => s.t <= t)
  }

  /** First sample at or after `from` where every group owns `partitions` partitions. */
  pickedUpAt(from: number, partitions: number): Sample | undefined {
    return this.samples.find((s) => s.t >= from && Object.values(s.owned).every((n) => n === partitions))
  }
}

interface Rig {
  topic: string
  kafka: KafkaClient
  agents: ProducerAgent[]
  billing: DemoGroup
  analytics: DemoGroup
  traffic: KeyedTraffic
  groupIds: string[]
  close: () => Promise<void>
}

async function prefill(kafka: KafkaClient, topic: string, count: number): Promise<void> {
  const producer = kafka.producer({createPartitioner: javaCompatiblePartitioner, allowAutoTopicCreation: false})
  await producer.connect()
  const keys = demoKeys(KEYS)
  const batch = 5000
  let sent = 0
  const inflight = new Set<Promise<unknown>>()
  while (sent < count) {
    const n = Math.min(batch, count - sent)
    const messages: Message[] = Array.from({length: n}, (_, i) => {
      const k = keys[(sent + i) % keys.length]!
      // Sequence numbers far above the traffic's, so a key's backlog reads as one run.
      return {key: k, value: JSON.stringify({k, s: 1_000_000_000 + sent + i})}
    })
    sent += n
    const p = producer.send({topic, messages, acks: 1}).finally(() => inflight.delete(p))
    inflight.add(p)
    if (inflight.size >= 4) await Promise.race(inflight)
  }
  await Promise.all(inflight)
  await producer.disconnect()
}

/** Topic, agents, both groups, traffic running, analytics with a backlog of `backlog` records. */
async function rig(ctx: BenchContext, cluster: KafkajsCluster, controlTopic: string, name: string, backlog: number): Promise<Rig> {
  const connection = {brokers: ctx.brokers.split(','), clientId: 'kreorg-bench-blackout', connectTimeoutMs: 10_000}
  const kafka = createKafkaClient(connection)
  const topic = name
  await cluster.createTopic({topic, partitions: FROM, replicationFactor: 1})
  // Right after CreateTopics the broker may still answer NOT_LEADER to ListOffsets: let it settle.
  await sleep(1000)
  const agents: ProducerAgent[] = []
  for (let i = 0; i < 3; i++) {
    agents.push(
      await createProducerAgent({
        kafka,
        topics: [topic],
        controlTopic,
        agentId: `${topic}-p${i}`,
        producer: {idempotent: true, metadataMaxAge: METADATA_MAX_AGE_MS},
        heartbeatMs: 1000,
        logger: {warn() {}},
      }),
    )
  }
  const groupIds = [`${topic}-billing`, `${topic}-analytics`]
  const group = (groupId: string) => new DemoGroup({kafka, topic, groupId, metadataMaxAgeMs: METADATA_MAX_AGE_MS})
  const billing = group(groupIds[0]!)
  const analytics = group(groupIds[1]!)
  await billing.start()
  await analytics.start()
  await sleep(3000)
  const writers = agents.map((a) => (messages: Message[]) => a.send({topic, messages, acks: -1}))
  const traffic = new KeyedTraffic({writers, keys: demoKeys(KEYS), ratePerSec: RATE})
  traffic.start()
  await sleep(2000)
  // The lagging group stops fetching (still Stable, offsets committed) while the backlog is written;
  // it drains at full speed from the moment producers are paused (kreorg) or stopped (manual).
  // Only the partitions that exist now: it must still read kreorg's markers on the new ones (and commit
  // past them), which is how grow v2 proves its position there before any record is written to them.
  analytics.pause(Array.from({length: FROM}, (_, p) => p))
  await sleep(500)
  await prefill(kafka, topic, backlog)
  // A paused consumer that missed heartbeats while the prefill hogged this process (2 loaded cores)
  // has left its group; grow would then rightly refuse a group with lag and no members. Wait for both.
  for (const deadline = Date.now() + 60_000; ; await sleep(250)) {
    const described = await cluster.describeGroups(groupIds)
    if (described.every((d) => d.state === 'Stable' && d.members.length > 0)) break
    if (Date.now() > deadline)
      throw new Error(`groups not Stable after the prefill: ${described.map((d) => `${d.groupId} ${d.state}`).join(', ')}`)
  }
  const close = async () => {
    await traffic.stop().catch(() => {})
    await Promise.all(agents.map((a) => a.close().catch(() => {})))
    await billing.stop().catch(() => {})
    await analytics.stop().catch(() => {})
  }
  return {topic, kafka, agents, billing, analytics, traffic, groupIds, close}
}

interface GrowEvent {
  event: string
  step?: string | null
  ts?: string
  durationMs?: number
  result?: Record<string, unknown>
  error?: unknown
}

async function kreorgRep(ctx: BenchContext, r: Rig, sampler: Sampler, controlTopic: string) {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kreorg-bench-state-'))
  // performance.now() and Date.now() tie the CLI's ISO timestamps to the sampler's clock.
  const offset = Date.now() - performance.now()
  try {
    const run = await kreorg(
      [
        'grow',
        r.topic,
        '--to',
        String(TO),
        '--yes',
        '--json',
        '--brokers',
        ctx.brokers,
        '--state-dir',
        stateDir,
        '--control-topic',
        controlTopic,
        ...GROW_FLAGS,
      ],
      {
        timeoutMs: 45 * 60_000,
        onLine(line) {
          if (line.includes('"step:done"') && line.includes('"pause-producers"')) r.analytics.resume()
        },
      },
    )
    const events = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as GrowEvent)
    if (run.code !== 0)
      throw new Error(
        `kreorg grow exited ${run.code}: ${JSON.stringify(events.filter((e) => e.event.includes('fail') || e.event === 'error')).slice(0, 800)} ${run.stderr.slice(0, 300)}`,
      )
    const done = (step: string) => events.find((e) => e.event === 'step:done' && e.step === step)
    const at = (step: string) => Date.parse(done(step)!.ts!) - offset
    const steps = Object.fromEntries(events.filter((e) => e.event === 'step:done').map((e) => [e.step, e.durationMs]))
    const post = done('post-check')!.result as {pausedMs: number; drainMs: number; addMs: number}
    const add = done('add-partitions')!.result as {addMs: number}
    const prime = done('prime-consumers')!.result as {pickupMs: number}
    return {
      windowMs: post.pausedMs,
      pauseAckedAt: at('pause-producers'),
      addDoneAt: at('add-partitions'),
      addRttMs: add.addMs,
      steps,
      kreorgPickupMs: prime.pickupMs,
      totalRunMs: run.ms,
    }
  } finally {
    await rm(stateDir, {recursive: true, force: true})
  }
}

/** LAG column of every row of `topic` in `kafka-consumer-groups --describe` output; '-' counts as not drained. */
function toolLag(stdout: string, topic: string): {rows: number; lag: number; unknown: number} {
  let rows = 0
  let lag = 0
  let unknown = 0
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/)
    if (cols[1] !== topic) continue
    rows++
    const value = Number(cols[5])
    if (Number.isFinite(value)) lag += value
    else unknown++
  }
  return {rows, lag, unknown}
}

async function manualRep(ctx: BenchContext, r: Rig) {
  const t0 = performance.now()
  await r.traffic.stop() // step 1: stop the producers (every in-flight send done)
  const stoppedAt = performance.now()
  r.analytics.resume()
  const polls: Array<{ms: number; lag: number; rows: number}> = []
  for (;;) {
    const d = await kafkaTool(ctx, 'consumerGroups', ['--bootstrap-server', ctx.brokers, '--describe', '--all-groups'])
    if (d.code !== 0) throw new Error(`kafka-consumer-groups exited ${d.code}: ${d.stderr.slice(0, 300)}`)
    const lag = toolLag(d.stdout, r.topic)
    polls.push({ms: round(d.ms, 0), lag: lag.lag, rows: lag.rows})
    if (lag.rows >= 2 * FROM && lag.lag === 0 && lag.unknown === 0) break
    await sleep(POLL_MS)
  }
  const alterStarted = performance.now()
  const alter = await kafkaTool(ctx, 'topics', [
    '--bootstrap-server',
    ctx.brokers,
    '--alter',
    '--topic',
    r.topic,
    '--partitions',
    String(TO),
  ])
  if (alter.code !== 0) throw new Error(`kafka-topics --alter exited ${alter.code}: ${alter.stderr.slice(0, 300)}`)
  const alterDoneAt = performance.now()
  // Step 4: start the producers again (the same agents, idle since the stop: plain producers here).
  const writers = r.agents.map((a) => (messages: Message[]) => a.send({topic: r.topic, messages, acks: -1}))
  r.traffic = new KeyedTraffic({writers, keys: demoKeys(KEYS), ratePerSec: RATE})
  r.traffic.start()
  const startedAt = performance.now()
  return {
    windowMs: startedAt - stoppedAt,
    stopMs: stoppedAt - t0,
    pauseAckedAt: stoppedAt,
    addDoneAt: alterDoneAt,
    polls,
    alterToolMs: round(alterDoneAt - alterStarted, 0),
  }
}

function floorOf(sampler: Sampler, pausedAt: number, addDoneAt: number, addRttMs: number, groupIds: string[]) {
  const before = sampler.lastBefore(pausedAt)
  const drained = sampler.drainedAt(pausedAt)
  const picked = sampler.pickedUpAt(addDoneAt, TO)
  const backlog = before ? Math.max(...groupIds.map((g) => before.lag[g] ?? 0)) : Number.NaN
  const slowest = before ? groupIds.reduce((a, b) => ((before.lag[a] ?? 0) >= (before.lag[b] ?? 0) ? a : b)) : groupIds[1]!
  const drainMs = drained ? Math.max(0, drained.t - pausedAt) : Number.NaN
  const consumed = drained && before ? (drained.committed[slowest] ?? 0) - (before.committed[slowest] ?? 0) : Number.NaN
  const pickupMs = picked ? Math.max(0, picked.t - addDoneAt) : Number.NaN
  return {
    slowestGroup: slowest.split('-').pop(),
    backlogAtPause: backlog,
    drainMs: round(drainMs, 0),
    drainRatePerSec: drainMs > 0 ? round((consumed / drainMs) * 1000, 0) : null,
    createPartitionsRttMs: addRttMs,
    pickupMs: round(pickupMs, 0),
    floorMs: round(drainMs + addRttMs + pickupMs, 0),
  }
}

export async function blackoutBench(ctx: BenchContext): Promise<object> {
  const sizes = arg('sizes', ctx.quick ? '10000' : '10000,100000,1000000')
    .split(',')
    .map(Number)
  let reps = Math.max(5, Number(arg('blackout-reps', '5')))
  const budgetMs = Number(arg('blackout-budget-min', '13')) * 60_000
  const connection = {brokers: ctx.brokers.split(','), clientId: 'kreorg-bench-blackout', connectTimeoutMs: 10_000}
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  const suffix = Math.random().toString(16).slice(2, 8)
  const controlTopic = `kreorg-bench-control-${suffix}`
  // The control topic exists before any agent starts, as `kreorg grow` (or an operator) would leave it.
  await (await ControlChannel.open(connection, {controlTopic, create: true})).close()
  const started = performance.now()
  const results = []
  const notes: string[] = []
  try {
    for (const size of sizes) {
      const repetitions: Array<Record<string, unknown>> = []
      const repDurations: number[] = []
      for (let rep = 1; rep <= reps; rep++) {
        // Skip what would blow the time budget; say so in the result.
        const estimate = repDurations.length > 0 ? median(repDurations) : 0
        if (performance.now() - started + estimate > budgetMs) {
          notes.push(
            `backlog ${size}: stopped after ${rep - 1} repetition(s) of each variant: the next would exceed the ${budgetMs / 60_000}-minute budget (one pair took ~${round(estimate / 1000, 0)} s)`,
          )
          break
        }
        const repStarted = performance.now()
        const row: Record<string, unknown> = {rep}
        // Alternate which variant goes first.
        const order = rep % 2 === 1 ? (['kreorg', 'manual'] as const) : (['manual', 'kreorg'] as const)
        const failures: string[] = []
        for (const variant of order) {
          let r: Rig
          try {
            r = await rig(ctx, cluster, controlTopic, `bench-bo-${suffix}-${size}-${rep}-${variant}`, size)
          } catch (error) {
            failures.push(`${variant}: set-up failed: ${error instanceof Error ? error.message : String(error)}`)
            continue
          }
          const sampler = new Sampler(cluster, r.topic, r.groupIds)
          sampler.start()
          try {
            if (variant === 'kreorg') {
              const k = await kreorgRep(ctx, r, sampler, controlTopic)
              await sleep(1000)
              await sampler.stop()
              const floor = floorOf(sampler, k.pauseAckedAt, k.addDoneAt, k.addRttMs, r.groupIds)
              row.kreorg = {
                windowMs: k.windowMs,
                overheadMs: round(k.windowMs - floor.floorMs, 0),
                floor,
                steps: k.steps,
                totalRunMs: round(k.totalRunMs, 0),
              }
            } else {
              const m = await manualRep(ctx, r)
              // Pickup happens after producers restart here (nothing waits for it): sample a little longer.
              await sleep(METADATA_MAX_AGE_MS + 3000)
              await sampler.stop()
              const floor = floorOf(sampler, m.pauseAckedAt, m.addDoneAt, 0, r.groupIds)
              row.manual = {
                windowMs: round(m.windowMs, 0),
                polls: m.polls,
                alterToolMs: m.alterToolMs,
                drainMs: floor.drainMs,
                backlogAtStop: floor.backlogAtPause,
                pickupAfterAlterMs: floor.pickupMs,
              }
            }
          } catch (error) {
            failures.push(`${variant}: ${error instanceof Error ? error.message.slice(0, 600) : String(error)}`)
          } finally {
            await sampler.stop()
            await r.close()
            await cluster.deleteTopics([r.topic]).catch(() => {})
          }
        }
        if (failures.length > 0) {
          // A failed repetition is recorded and repeated, not silently dropped or allowed to end the run.
          notes.push(`backlog ${size} attempt ${rep}: ${failures.join('; ')}`)
          ctx.log(`blackout backlog=${size} attempt ${rep} failed: ${failures.join('; ')}`)
          repDurations.push(performance.now() - repStarted)
          if (notes.filter((n) => n.startsWith(`backlog ${size} attempt`)).length > 2) break
          reps++
          continue
        }
        const k = row.kreorg as {windowMs: number; overheadMs: number; floor: {floorMs: number}}
        const m = row.manual as {windowMs: number}
        row.ratio = round(m.windowMs / k.windowMs)
        repetitions.push(row)
        repDurations.push(performance.now() - repStarted)
        ctx.log(
          `blackout backlog=${size} rep ${rep}: kreorg window ${k.windowMs}ms (floor ${k.floor.floorMs}ms, overhead ${k.overheadMs}ms), manual ${m.windowMs}ms`,
        )
      }
      if (repetitions.length === 0) continue
      const pick = (f: (r: Record<string, unknown>) => number) => summary(repetitions.map(f).filter(Number.isFinite))
      const kw = pick((r) => (r.kreorg as {windowMs: number}).windowMs)
      const mw = pick((r) => (r.manual as {windowMs: number}).windowMs)
      const floor = pick((r) => (r.kreorg as {floor: {floorMs: number}}).floor.floorMs)
      const overhead = pick((r) => (r.kreorg as {overheadMs: number}).overheadMs)
      results.push({
        backlog: size,
        repetitions: repetitions.length,
        kreorgWindowMs: kw,
        floorMs: floor,
        kreorgOverheadMs: overhead,
        manualWindowMs: mw,
        ratio: round(mw.median / kw.median),
        floorParts: {
          drainMs: pick((r) => (r.kreorg as {floor: {drainMs: number}}).floor.drainMs),
          drainRatePerSec: pick((r) => (r.kreorg as {floor: {drainRatePerSec: number}}).floor.drainRatePerSec),
          createPartitionsRttMs: pick((r) => (r.kreorg as {floor: {createPartitionsRttMs: number}}).floor.createPartitionsRttMs),
          pickupMs: pick((r) => (r.kreorg as {floor: {pickupMs: number}}).floor.pickupMs),
        },
        targets: {'kreorg overhead above floor ≤ 1 s': overhead.median <= 1000, 'kreorg window below manual': kw.median < mw.median},
        runs: repetitions,
      })
    }
  } finally {
    await cluster.deleteTopics([controlTopic]).catch(() => {})
    await cluster.close()
  }
  // --merge: keep the other sizes of an earlier run (e.g. more 1M repetitions measured on their own).
  if (hasFlag('merge') && existsSync(path.join(RESULTS_DIR, 'blackout.json'))) {
    const earlier = JSON.parse(readFileSync(path.join(RESULTS_DIR, 'blackout.json'), 'utf8')) as {
      results?: Array<{backlog: number}>
      notes?: string[]
    }
    const kept = (earlier.results ?? []).filter((r) => !sizes.includes(r.backlog))
    results.unshift(...(kept as typeof results))
    results.sort((a, b) => a.backlog - b.backlog)
    notes.unshift(...(earlier.notes ?? []).filter((n) => !sizes.some((size) => n.startsWith(`backlog ${size}:`))))
    notes.push(`sizes ${sizes.join(', ')} measured in a separate run on ${new Date().toISOString()} and merged (--merge)`)
  }
  const javaConsumers = hasFlag('no-java') ? earlierJavaConsumers() : {date: new Date().toISOString(), ...(await javaBlackoutBench(ctx))}
  return {
    kafka: kafkaInfo(ctx),
    machine: machine(),
    ...(javaConsumers ? {javaConsumers} : {}),
    params: {
      from: FROM,
      to: TO,
      backlogs: results.map((r) => r.backlog),
      repetitions: reps,
      budgetMinutes: budgetMs / 60_000,
      traffic: `${RATE} keyed records/s over ${KEYS} keys from 3 producer agents (KeyedTraffic), acks=-1, idempotent`,
      groups:
        'billing (keeps up) and analytics (stopped while the backlog is written, then started right before the change); DemoGroup, auto.offset.reset=latest',
      consumerMetadataMaxAgeMs: METADATA_MAX_AGE_MS,
      kreorg: `kreorg grow <topic> --to ${TO} --yes --json ${GROW_FLAGS.join(' ')}`,
      manual: `stop producers; kafka-consumer-groups --describe --all-groups every ${POLL_MS / 1000} s until LAG 0 on every row; kafka-topics --alter --partitions ${TO}; start producers`,
    },
    definitions: {
      kreorgWindow: 'post-check summary pausedMs: every agent acked pause → every agent acked resume',
      manualWindow: 'producers stopped (in-flight sends done) → producers started again',
      floor:
        'slowest group drain time from the pause (sampler: committed offsets every 100 ms) + createPartitions round trip (kreorg add-partitions addMs) + time until every group owns all new partitions (sampler: describeGroups every 100 ms)',
      overhead: 'kreorg window − floor',
      ratio: 'manual window / kreorg window (above 1: kreorg pauses producers for less time)',
      caveat:
        'the manual runbook does not wait for consumers to pick up the new partitions before restarting producers; with auto.offset.reset=latest that can lose records (KAFKA-12478). kreorg waits for it, so pickup is inside its window and not inside the manual one.',
    },
    notes,
    results,
  }
}

function earlierResults(): Record<string, unknown> | undefined {
  const file = path.join(RESULTS_DIR, 'blackout.json')
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined
}

function earlierJavaConsumers(): unknown {
  return earlierResults()?.javaConsumers
}

/** `--only-java`: the Java-consumer section alone, merged into the existing result file. */
async function onlyJava(): Promise<void> {
  const {ctx, stop} = await benchContext()
  try {
    const javaConsumers = {date: new Date().toISOString(), ...(await javaBlackoutBench(ctx))}
    const {benchmark: _benchmark, ...earlier} = earlierResults() ?? {}
    void _benchmark
    process.stdout.write(`${writeResult('blackout', {...earlier, javaConsumers})}\n`)
  } finally {
    await stop()
  }
}

if (isMain(import.meta.url)) {
  if (hasFlag('only-java')) {
    onlyJava().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
        process.exit(1)
      },
    )
  } else {
    runStandalone('blackout', blackoutBench)
  }
}

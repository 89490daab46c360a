/**
 * Shared fixtures for the `kreorg grow` acceptance tests: a topic with live keyed traffic (through
 * producer agents, or plain kafkajs producers for the naive twin), consumer groups that check per-key
 * order (one can lag on purpose), and helpers that spawn the real CLI and read the outcome back from
 * Kafka. Traffic and ledgers are the demo's own (src/demo), so the demo and the tests prove the same thing.
 */
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {KafkaCluster} from '../../src/kafka/types.js'
import type {GrowPlan} from '../../src/steps/grow/plan.js'

import {createProducerAgent, type ProducerAgent} from '../../src/agent/index.js'
import {type LedgerReport, ReceivedLedger} from '../../src/demo/ledger.js'
import {demoKeys, type DemoValue, KeyedTraffic, type SendFn} from '../../src/demo/traffic.js'
import {type Consumer, createKafkaClient, javaCompatiblePartitioner, type KafkaClient, type Producer} from '../../src/kafka/client.js'
import {readTopicLag} from '../../src/kafka/lag.js'
import {type CliEvent, type CliResult, parseNdjson, runCli} from './cli.js'
import {randomName, testBrokers} from './kafka.js'

/** Short timeouts for every grow run in the tests (the defaults are sized for production clusters). */
export const FAST_GROW_FLAGS = [
  '--quiet-period',
  '1s',
  '--ack-timeout',
  '10s',
  '--lease',
  '20s',
  '--prime-timeout',
  '90s',
  '--post-check-window',
  '2s',
  '--sample',
  '100',
]

/** Consumers and producers notice new partitions this fast (the 5-minute default would make tests crawl). */
export const METADATA_MAX_AGE_MS = 2000

export function connection(clientId = 'kreorg-grow-test') {
  return {brokers: testBrokers().split(','), clientId, connectTimeoutMs: 10_000}
}

export async function tempDir(prefix = 'kreorg-grow-state-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix))
}

export interface GroupSpec {
  /** Group id suffix (the full id is `<topic>-<name>`). */
  name: string
  /** Records/s the whole group processes; undefined = as fast as it can. */
  ratePerSec?: number
  /** kafkajs fromBeginning (auto.offset.reset=earliest). Default false, like most applications. */
  fromBeginning?: boolean
  /** Consumer metadata refresh interval (default METADATA_MAX_AGE_MS). */
  metadataMaxAgeMs?: number
}

/**
 * A consumer group that records every (key, seq) it processes, in order, and every (partition, offset),
 * so a test can prove that new partitions were read from offset 0. Commits every 500 ms (not only at
 * batch end) so a slow group's progress is visible to lag readers.
 */
export class TrackedGroup {
  readonly received = new ReceivedLedger()
  readonly offsets = new Map<number, Set<number>>()
  readonly groupId: string
  private consumer: Consumer | undefined
  private nextSlot = 0
  private interval = 0

  constructor(
    private readonly kafka: KafkaClient,
    readonly topic: string,
    readonly spec: GroupSpec,
  ) {
    this.groupId = `${topic}-${spec.name}`
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      metadataMaxAge: this.spec.metadataMaxAgeMs ?? METADATA_MAX_AGE_MS,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 200,
      // Small fetches: a rate-limited group works through one response in seconds, not minutes, so it
      // reaches kreorg's abort markers on new partitions (and commits past them) while it still lags.
      ...(this.spec.ratePerSec ? {maxBytesPerPartition: 8 * 1024, maxBytes: 32 * 1024} : {}),
    })
    this.consumer = consumer
    await consumer.connect()
    await consumer.subscribe({topics: [this.topic], fromBeginning: this.spec.fromBeginning ?? false})
    this.interval = this.spec.ratePerSec ? 1000 / this.spec.ratePerSec : 0
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      autoCommitInterval: 500,
      eachMessage: async ({partition, message}) => {
        if (this.interval > 0) {
          // One schedule across partitions: the group as a whole processes ratePerSec.
          const now = Date.now()
          const slot = Math.max(now, this.nextSlot)
          this.nextSlot = slot + this.interval
          if (slot > now) await sleep(slot - now)
        }
        let seen = this.offsets.get(partition)
        if (!seen) this.offsets.set(partition, (seen = new Set()))
        seen.add(Number(message.offset))
        const value = JSON.parse(message.value?.toString() ?? '{}') as Partial<DemoValue>
        if (typeof value.k === 'string' && typeof value.s === 'number') this.received.record(value.k, value.s)
      },
    })
  }

  /** Lifts the rate limit: once the grow is over, the backlog need not take minutes to clear. */
  unthrottle(): void {
    this.interval = 0
    this.nextSlot = 0
  }

  async stop(): Promise<void> {
    const consumer = this.consumer
    this.consumer = undefined
    await consumer?.disconnect().catch(() => {})
  }
}

export interface WorldOptions {
  cluster: KafkaCluster
  partitions: number
  /** 'agent': producers wrapped by kreorg agents; 'plain': bare kafkajs producers (the naive twin). */
  writers: 'agent' | 'plain'
  groups: GroupSpec[]
  keys?: number
  ratePerSec?: number
  producers?: number
  /** Shared control topic; default a fresh random one, so runs never see other tests' agents or leases. */
  controlTopic?: string
  topic?: string
  /** Agent heartbeat interval (default 1 s); a long one keeps the control topic still for dry-run checks. */
  heartbeatMs?: number
}

/** One topic with live keyed traffic and consumer groups. */
export class GrowWorld {
  readonly kafka: KafkaClient
  readonly topic: string
  readonly controlTopic: string
  readonly agents: ProducerAgent[] = []
  readonly groups: TrackedGroup[] = []
  readonly agentWarnings: string[] = []
  traffic!: KeyedTraffic
  private readonly plain: Producer[] = []
  private trafficStopped = true

  constructor(readonly options: WorldOptions) {
    this.kafka = createKafkaClient(connection())
    this.topic = options.topic ?? randomName('grow')
    this.controlTopic = options.controlTopic ?? randomName('grow-ctl')
  }

  get cluster(): KafkaCluster {
    return this.options.cluster
  }

  group(name: string): TrackedGroup {
    const found = this.groups.find((g) => g.spec.name === name)
    if (!found) throw new Error(`no group ${name}`)
    return found
  }

  /** Creates the topic, producers and groups, waits until every group owns every partition, starts traffic. */
  async start(): Promise<this> {
    const {cluster, partitions} = this.options
    await cluster.createTopic({topic: this.topic, partitions, replicationFactor: 1})
    const writers = await this.createWriters(this.options.producers ?? 3)
    for (const spec of this.options.groups) await this.addGroup(spec, false)
    await this.waitForAssignment(this.groups.map((g) => g.groupId))
    this.traffic = new KeyedTraffic({writers, keys: demoKeys(this.options.keys ?? 200), ratePerSec: this.options.ratePerSec ?? 300})
    this.traffic.start()
    this.trafficStopped = false
    return this
  }

  private async createWriters(count: number): Promise<SendFn[]> {
    const writers: SendFn[] = []
    for (let i = 0; i < count; i++) {
      if (this.options.writers === 'agent') {
        const agent = await createProducerAgent({
          kafka: this.kafka,
          topics: [this.topic],
          controlTopic: this.controlTopic,
          agentId: `${this.topic}-producer-${i}`,
          producer: {idempotent: true, metadataMaxAge: METADATA_MAX_AGE_MS},
          heartbeatMs: this.options.heartbeatMs ?? 1000,
          logger: {warn: (message) => this.agentWarnings.push(message)},
        })
        this.agents.push(agent)
        writers.push((messages) => agent.send({topic: this.topic, messages, acks: -1}))
      } else {
        const producer = this.kafka.producer({
          idempotent: true,
          metadataMaxAge: METADATA_MAX_AGE_MS,
          createPartitioner: javaCompatiblePartitioner,
        })
        await producer.connect()
        this.plain.push(producer)
        writers.push((messages) => producer.send({topic: this.topic, messages, acks: -1}))
      }
    }
    return writers
  }

  /** Starts another group on the topic (after start(): e.g. a slow one for the drain-timeout case). */
  async addGroup(spec: GroupSpec, wait = true): Promise<TrackedGroup> {
    const group = new TrackedGroup(this.kafka, this.topic, spec)
    this.groups.push(group)
    await group.start()
    if (wait) await this.waitForAssignment([group.groupId])
    return group
  }

  /** Until each group is Stable and its members own every partition of the topic. */
  async waitForAssignment(groupIds: string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const count = (await this.cluster.describeTopic(this.topic)).partitions.length
      const described = await this.cluster.describeGroups(groupIds)
      const ready = described.every((g) => {
        const owned = new Set(g.members.flatMap((m) => m.assignment[this.topic] ?? []))
        return g.state === 'Stable' && owned.size === count
      })
      if (ready) return
      if (Date.now() > deadline)
        throw new Error(`groups ${groupIds.join(', ')} did not own all ${count} partitions of ${this.topic} within ${timeoutMs}ms`)
      await sleep(200)
    }
  }

  /** Sum of end offsets: grows while anyone writes. */
  async endTotal(): Promise<number> {
    return (await this.cluster.endOffsets(this.topic)).reduce((sum, o) => sum + o.high, 0)
  }

  async partitionCount(): Promise<number> {
    return (await this.cluster.describeTopic(this.topic)).partitions.length
  }

  /** Producers keep writing: end offsets grow within `withinMs`. */
  async trafficFlows(withinMs = 3000): Promise<boolean> {
    const before = await this.endTotal()
    const deadline = Date.now() + withinMs
    while (Date.now() < deadline) {
      await sleep(250)
      if ((await this.endTotal()) > before) return true
    }
    return false
  }

  /** Stops traffic and waits until every tracked group has consumed everything (lag 0 on every partition). */
  async settle(timeoutMs = 60_000): Promise<Record<string, LedgerReport>> {
    await this.stopTraffic()
    const ids = new Set(this.groups.map((g) => g.groupId))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const lag = await readTopicLag(this.cluster, this.topic, {groups: [...ids]})
      const pending = lag.groups.filter((g) => g.total > 0)
      if (pending.length === 0) break
      if (Date.now() > deadline)
        throw new Error(`groups still lag after ${timeoutMs}ms: ${pending.map((g) => `${g.groupId}=${g.total}`).join(', ')}`)
      await sleep(250)
    }
    return this.reports()
  }

  reports(): Record<string, LedgerReport> {
    return Object.fromEntries(this.groups.map((g) => [g.spec.name, g.received.report(this.traffic.sent)]))
  }

  /** Every group processes as fast as it can from now on. */
  unthrottle(): void {
    for (const group of this.groups) group.unthrottle()
  }

  async stopTraffic(): Promise<void> {
    if (this.trafficStopped) return
    this.trafficStopped = true
    await this.traffic.stop()
  }

  /**
   * For each group and each partition in `partitions`: its committed offset, the end offset, and
   * whether the group processed every offset from the partition's first data record to the end (so
   * it read the partition from its start). `markers` (prime-consumers' result) says how many of
   * kreorg's abort markers lead each new partition: control records no consumer ever sees.
   */
  async coverage(
    partitions: number[],
    markers: Record<string, number> = {},
  ): Promise<Array<{group: string; partition: number; committed: number; end: number; consumedFromZero: boolean}>> {
    const ends = new Map((await this.cluster.endOffsets(this.topic)).map((o) => [o.partition, o]))
    const rows = []
    for (const group of this.groups) {
      const committed = new Map((await this.cluster.committedOffsets(group.groupId, this.topic)).map((o) => [o.partition, o.offset]))
      for (const partition of partitions) {
        const end = ends.get(partition)!.high
        const first = markers[String(partition)] ?? 0
        const seen = group.offsets.get(partition) ?? new Set<number>()
        let complete = end > first
        for (let offset = first; offset < end && complete; offset++) if (!seen.has(offset)) complete = false
        rows.push({group: group.spec.name, partition, committed: committed.get(partition) ?? -1, end, consumedFromZero: complete})
      }
    }
    return rows
  }

  /** Common flags for `kreorg grow` on this world. */
  growArgs(to: number, stateDir: string, extra: string[] = []): string[] {
    return [
      'grow',
      this.topic,
      '--to',
      String(to),
      '--state-dir',
      stateDir,
      '--control-topic',
      this.controlTopic,
      ...FAST_GROW_FLAGS,
      ...extra,
    ]
  }

  /** `kreorg producers <topic> --json` for this world's control topic. */
  async producersView(): Promise<{
    lease: {runId: string} | null
    agents: Array<{agentId: string; states: Record<string, {state: string; buffered: number}>}>
  }> {
    const result = await runCli(['producers', this.topic, '--json', '--control-topic', this.controlTopic], {env: cliEnv()})
    if (result.code !== 0) throw new Error(`kreorg producers exited ${result.code}: ${result.stderr}`)
    return JSON.parse(result.stdout) as Awaited<ReturnType<GrowWorld['producersView']>>
  }

  async close(): Promise<void> {
    await this.stopTraffic().catch(() => {})
    await Promise.all(this.agents.map((a) => a.close().catch(() => {})))
    await Promise.all(this.plain.map((p) => p.disconnect().catch(() => {})))
    await Promise.all(this.groups.map((g) => g.stop()))
    await this.cluster.deleteTopics(this.agents.length > 0 ? [this.topic, this.controlTopic] : [this.topic]).catch(() => {})
  }
}

export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {KAFKA_BROKERS: testBrokers(), ...extra}
}

export type GrowEvent = CliEvent

export function parseEvents(stdout: string): GrowEvent[] {
  return parseNdjson(stdout) as GrowEvent[]
}

export function stepResult<T = Record<string, unknown>>(events: GrowEvent[], step: string): T | undefined {
  const done = events.find((e) => e.event === 'step:done' && e.step === step)
  return done?.result as T | undefined
}

/** The `{event: 'plan', dryRun: true, plan}` line `grow --dry-run --json` prints. */
export function dryRunPlan(events: GrowEvent[]): {dryRun: boolean; plan: GrowPlan} {
  const found = events.find((e) => e.event === 'plan')
  if (!found) throw new Error(`no plan event in ${JSON.stringify(events).slice(0, 500)}`)
  return found as unknown as {dryRun: boolean; plan: GrowPlan}
}

/** Runs the CLI with the test brokers; `--json` output parsed into events. */
export async function runGrowCli(
  args: string[],
  options: {json?: boolean; timeoutMs?: number} = {},
): Promise<CliResult & {events: GrowEvent[]}> {
  const result = await runCli([...args, ...(options.json === false ? [] : ['--json'])], {
    env: cliEnv(),
    timeoutMs: options.timeoutMs ?? 120_000,
  })
  return {...result, events: options.json === false ? [] : parseEvents(result.stdout)}
}

/** A readable one-liner of a failed CLI run for assertion messages. */
export function describeRun(result: {code: number | null; stderr: string; events?: GrowEvent[]}): string {
  const failures = (result.events ?? []).filter((e) => e.event === 'step:fail' || e.event === 'run:fail' || e.event === 'warning')
  return `exit ${result.code}; stderr: ${result.stderr.trim().slice(-1500)}; events: ${JSON.stringify(failures).slice(0, 1500)}`
}

export async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  )
}

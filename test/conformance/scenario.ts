/**
 * One conformance scenario's world: its own data, control and heartbeat topics (random names on the
 * shared test broker), tails on the agent's records, the orchestrator's writer, the drivers it started,
 * and the checks on what ended up in the data topic.
 */
import {randomBytes} from 'node:crypto'

import type {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import type {KafkaCluster} from '../../src/kafka/types.js'
import type {ConformanceAgent} from './agents.js'

import {CONTROL_TOPIC_CONFIG} from '../../src/control/schema.js'
import {createKafkaClient, type KafkaClient} from '../../src/kafka/client.js'
import {connectTestCluster, testBrokers} from '../helpers/kafka.js'
import {
  AgentRecords,
  Driver,
  type DriverEnv,
  Orchestrator,
  readTopic,
  type SendHandle,
  type TopicRecord,
  TopicTail,
  WaitTimeout,
  withTimeout,
} from './harness.js'

/** Protocol 1.1 A: the heartbeat topic's settings. */
export const HEARTBEAT_TOPIC_CONFIG: Record<string, string> = {
  'cleanup.policy': 'delete',
  'retention.ms': '3600000',
  'message.timestamp.type': 'LogAppendTime',
}

export const heartbeatTopicOf = (controlTopic: string): string => `${controlTopic}-heartbeats`

/** The broker connection one agent's scenarios share. */
export class World {
  private constructor(
    readonly brokers: string,
    readonly kafka: KafkaClient,
    readonly cluster: KafkaCluster & KafkajsCluster,
  ) {}

  static async open(): Promise<World> {
    const brokers = testBrokers()
    const kafka = createKafkaClient({brokers: brokers.split(','), clientId: 'kreorg-conformance', connectTimeoutMs: 10_000})
    return new World(brokers, kafka, await connectTestCluster())
  }

  close(): Promise<void> {
    return this.cluster.close()
  }
}

export interface ScenarioOptions {
  partitions: number
  secret?: string
  /** false: leave creating the control and heartbeat topics to the agent. */
  createControlTopics?: boolean
}

export class Scenario {
  readonly drivers: Driver[] = []
  readonly records: AgentRecords
  readonly orchestrator: Orchestrator
  private readonly tails: TopicTail[] = []
  private controlTail: TopicTail | undefined
  readonly heartbeatTopic: string

  private constructor(
    readonly world: World,
    readonly agent: ConformanceAgent,
    readonly topic: string,
    readonly controlTopic: string,
    readonly agentId: string,
    readonly secret: string | undefined,
  ) {
    this.heartbeatTopic = heartbeatTopicOf(controlTopic)
    this.records = new AgentRecords(topic, agentId, secret)
    // The orchestrator reads its own records back through the control tail (for their broker timestamps).
    this.orchestrator = new Orchestrator(world.kafka, controlTopic, topic, secret, (offset) =>
      this.requireControlTail().records.waitFor((r) => (r.offset === offset ? r : undefined), {
        timeoutMs: 60_000,
        what: `control record ${offset} to read back`,
      }),
    )
  }

  static async create(world: World, agent: ConformanceAgent, options: ScenarioOptions): Promise<Scenario> {
    const id = randomBytes(4).toString('hex')
    const base = `conformance-${agent.name.replaceAll(/[^a-zA-Z0-9-]/g, '-')}-${id}`
    const scenario = new Scenario(
      world,
      agent,
      base,
      `${base}-control`,
      `conformance-${agent.name.replaceAll(/[^a-zA-Z0-9._:-]/g, '-')}-${id}`,
      options.secret,
    )
    const {cluster} = world
    // Broker append times on every topic: "nothing written between the ack and the resume" is checked on one clock.
    const creations = [
      cluster.createTopic({
        topic: scenario.topic,
        partitions: options.partitions,
        replicationFactor: 1,
        configs: {'message.timestamp.type': 'LogAppendTime'},
      }),
    ]
    if (options.createControlTopics !== false) {
      creations.push(
        cluster.createTopic({topic: scenario.controlTopic, partitions: 1, replicationFactor: 1, configs: CONTROL_TOPIC_CONFIG}),
        cluster.createTopic({topic: scenario.heartbeatTopic, partitions: 1, replicationFactor: 1, configs: HEARTBEAT_TOPIC_CONFIG}),
      )
    }
    await Promise.all(creations)
    if (options.createControlTopics !== false) await scenario.attachTails()
    return scenario
  }

  private requireControlTail(): TopicTail {
    if (!this.controlTail) throw new Error('the control topic is not tailed yet (attachTails)')
    return this.controlTail
  }

  /** Tails the control topic and, when it exists, the heartbeat topic, feeding the agent's records. */
  async attachTails(): Promise<void> {
    const existing = await this.world.cluster.listTopics()
    if (!this.controlTail && existing.includes(this.controlTopic)) {
      this.controlTail = await TopicTail.start(this.world.kafka, this.controlTopic)
      this.tails.push(this.controlTail)
      this.forward(this.controlTail, 'control')
    }
    if (!this.tails.some((t) => t.topic === this.heartbeatTopic) && existing.includes(this.heartbeatTopic)) {
      const tail = await TopicTail.start(this.world.kafka, this.heartbeatTopic)
      this.tails.push(tail)
      this.forward(tail, 'heartbeats')
    }
  }

  private forward(tail: TopicTail, where: 'control' | 'heartbeats'): void {
    tail.records.subscribe((record) => this.records.onRecord(where, record))
  }

  async start(env: Partial<DriverEnv> = {}): Promise<Driver> {
    const driver = await Driver.start(
      {name: this.agent.name, command: this.agent.command, cwd: this.agent.cwd, env: this.agent.env},
      {
        brokers: this.world.brokers,
        topic: this.topic,
        controlTopic: this.controlTopic,
        agentId: this.agentId,
        heartbeatMs: 1000,
        ...(this.secret ? {secret: this.secret} : {}),
        ...env,
      },
    )
    this.drivers.push(driver)
    return driver
  }

  /** Adds partitions and waits until every one of them has a leader that answers. */
  async grow(count: number): Promise<void> {
    const {cluster} = this.world
    await cluster.createPartitions(this.topic, count)
    const deadline = Date.now() + 60_000
    for (;;) {
      const description = await cluster.describeTopic(this.topic).catch(() => {})
      if (description && description.partitions.length >= count && description.partitions.every((p) => p.leader >= 0)) {
        const offsets = await cluster.endOffsets(this.topic).catch(() => [])
        if (offsets.length >= count) return
      }
      if (Date.now() > deadline) throw new WaitTimeout(`${this.topic} did not show ${count} partitions with leaders within 60s`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  readData(): Promise<TopicRecord[]> {
    return readTopic(this.world.kafka, this.world.cluster, this.topic)
  }

  /** The agent's own records kreorg could not read, and the drivers' protocol violations. */
  problems(): string[] {
    return [...this.records.invalid, ...this.drivers.flatMap((d) => d.violations.map((v) => `driver stdout: ${v}`))]
  }

  diagnostics(): string {
    const acks = `acks: ${this.records.describeAcks()}`
    const heartbeats = this.records.heartbeats.items
    const last = heartbeats.at(-1)
    const hb = `heartbeats: ${heartbeats.length}${last ? `, last at ${last.where} offset ${last.offset}: ${last.heartbeat ? JSON.stringify(last.heartbeat.states) : 'tombstone'}` : ''}`
    const problems = this.problems()
    return [
      `topic ${this.topic}, control ${this.controlTopic}, agent ${this.agentId}`,
      acks,
      hb,
      ...(problems.length > 0 ? ['problems:', ...problems] : []),
      ...this.drivers.map((d) => d.stderrTail()),
    ].join('\n')
  }

  async cleanup(): Promise<void> {
    for (const driver of this.drivers) driver.kill()
    await Promise.allSettled([this.orchestrator.stop(), ...this.tails.map((t) => t.stop())])
    // Only topics that exist: kafkajs's admin keeps asking for the metadata of a topic it was told to delete.
    const existing = new Set(await this.world.cluster.listTopics().catch(() => [] as string[]))
    await this.world.cluster
      .deleteTopics([this.topic, this.controlTopic, this.heartbeatTopic].filter((t) => existing.has(t)))
      .catch(() => {})
  }
}

export interface SendCheck {
  /** The record each send became, by send index. */
  written: Map<number, TopicRecord>
}

export interface SendCheckOptions {
  label?: string
  /**
   * Sends that must be written in call order on each partition: the held ones (the agent releases
   * them in order). Sends the application made concurrently while running carry no order promise
   * beyond what its client gives (kafkajs gives none across concurrent send() calls).
   */
  inOrder?: SendHandle[]
  /** Extra words about a record in failure messages (e.g. written before the ack / after the resume). */
  annotate?: (record: TopicRecord) => string
}

/**
 * Every send was answered `sent` and wrote exactly one record with its key and value at the partition
 * and offset the driver reported, nothing else is in the topic, and the `inOrder` sends are in call
 * order on each partition.
 */
export function checkSends(sends: SendHandle[], records: TopicRecord[], options: SendCheckOptions = {}): SendCheck {
  const annotate = (record: TopicRecord): string => (options.annotate ? ` (${options.annotate(record)})` : '')
  const {written, failures} = matchSends(sends, records)
  failures.push(...strayRecords(sends, records, annotate), ...outOfOrder(options.inOrder ?? [], written, annotate))
  if (failures.length > 0) {
    throw new Error(`${options.label ?? 'sends'}: ${failures.length} problem(s):\n  ${failures.slice(0, 25).join('\n  ')}`)
  }

  return {written}
}

/** The record each send's answer points at, and the sends that failed or point at the wrong record. */
function matchSends(sends: SendHandle[], records: TopicRecord[]): {written: Map<number, TopicRecord>; failures: string[]} {
  const failures: string[] = []
  const byPosition = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r]))
  const written = new Map<number, TopicRecord>()
  for (const send of sends) {
    const {result} = send
    if (!result) {
      failures.push(`send #${send.index} (${send.key}) was never answered`)
      continue
    }

    if (result.op !== 'sent') {
      failures.push(`send #${send.index} (${send.key}) failed: ${result.code ?? ''} ${result.error ?? JSON.stringify(result)}`)
      continue
    }

    const record = byPosition.get(`${result.partition}/${result.offset}`)
    if (!record) failures.push(`send #${send.index}: no record at partition ${result.partition} offset ${result.offset}`)
    else if (record.key === send.key && record.value?.toString('utf8') === send.value) written.set(send.index, record)
    else {
      failures.push(
        `send #${send.index}: partition ${result.partition} offset ${result.offset} holds ${record.key}=${record.value?.toString('utf8')}, not ${send.key}=${send.value}`,
      )
    }
  }

  return {written, failures}
}

/** Records no send made, and sends written more than once. */
function strayRecords(sends: SendHandle[], records: TopicRecord[], annotate: (record: TopicRecord) => string): string[] {
  const failures: string[] = []
  const values = new Set(sends.map((s) => s.value))
  const counts = new Map<string, number>()
  for (const record of records) {
    const value = record.value?.toString('utf8') ?? ''
    counts.set(value, (counts.get(value) ?? 0) + 1)
    if (!values.has(value)) {
      failures.push(`unexpected record at partition ${record.partition} offset ${record.offset}: ${record.key}=${value}${annotate(record)}`)
    }
  }

  for (const [value, count] of counts) if (count > 1 && values.has(value)) failures.push(`${value} was written ${count} times`)
  return failures
}

/** Sends of `inOrder` that a later call overtook on their partition. */
function outOfOrder(inOrder: SendHandle[], written: Map<number, TopicRecord>, annotate: (record: TopicRecord) => string): string[] {
  const failures: string[] = []
  const last = new Map<number, {index: number; record: TopicRecord}>()
  for (const send of [...inOrder].sort((a, b) => a.index - b.index)) {
    const record = written.get(send.index)
    if (!record) continue
    const previous = last.get(record.partition)
    if (previous && previous.record.offset > record.offset) {
      failures.push(
        `partition ${record.partition}: send #${send.index} ${send.key} (offset ${record.offset}${annotate(record)}) was written before send #${previous.index} (offset ${previous.record.offset}${annotate(previous.record)})`,
      )
    }

    last.set(record.partition, {index: send.index, record})
  }

  return failures
}

/** Resolves once every send was answered (sent or error). */
export async function allAnswered(
  sends: SendHandle[],
  driver: Driver,
  timeoutMs = 60_000,
  what = 'every send to be answered',
): Promise<void> {
  try {
    await withTimeout(Promise.race([Promise.all(sends.map((s) => s.reply)), driver.died]), timeoutMs, what)
  } catch (error) {
    if (error instanceof WaitTimeout)
      throw new WaitTimeout(`${error.message}: ${sends.filter((s) => !s.result).length}/${sends.length} unanswered`)
    throw error
  }
}

/**
 * kreorg producer agent (`kreorg/agent`): wraps a kafkajs producer so kreorg can pin, pause and
 * resume it through the control topic (protocol 1.1: heartbeats on `<controlTopic>-heartbeats`).
 * See docs/control-protocol.md for the protocol and state machine.
 *
 * ```ts
 * import {Kafka} from 'kafkajs'
 * import {createProducerAgent} from 'kreorg/agent'
 * const agent = await createProducerAgent({kafka: new Kafka({brokers}), topics: ['orders']})
 * await agent.send({topic: 'orders', messages: [{key: 'customer-1', value: '...'}]})
 * await agent.close()
 * ```
 */
import {EventEmitter} from 'node:events'

import type {ProducerBatch, ProducerRecord, RecordMetadata, Transaction} from '../kafka/client.js'

import {ControlFeed} from '../control/feed.js'
import {
  agentIdSchema,
  type AgentTopicState,
  CONTROL_TOPIC_CONFIG,
  DEFAULT_CONTROL_TOPIC,
  HEARTBEAT_TOPIC_CONFIG,
  heartbeatTopicOf,
  type LastWrite,
} from '../control/schema.js'
import {ControlLog} from '../kafka/control-log.js'
import {CommandFollower} from './commands.js'
import {type AgentEventMap, AgentEvents} from './events.js'
import {PauseGates} from './gate.js'
import {Heartbeats} from './heartbeat.js'
import {type HeldBatch, HeldSends} from './held-sends.js'
import {
  AgentLifecycle,
  consoleLogger,
  DEFAULT_BUFFER_LIMIT,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MAX_HELD_SENDS,
  DEFAULT_REFRESH_TIMEOUT_MS,
  defaultAgentId,
  errorMessage,
  packageVersion,
  type ProducerAgentOptions,
  TRANSACTION_MARKER_TIMEOUT_MS,
} from './options.js'
import {AgentProducer} from './producer.js'
import {Releaser} from './release.js'
import {TransactionTracker} from './transactions.js'

export type {Ack, AgentTopicState, Command} from '../control/schema.js'
export {HeldSendsFullError, SendDeadlineError} from './errors.js'
export type {
  AgentEvent,
  AgentEventMap,
  AgentEventName,
  AgentLapsedEvent,
  AgentPausedEvent,
  AgentPinnedEvent,
  AgentResumedEvent,
  AgentWarningEvent,
} from './events.js'
export type {AgentLogger, ProducerAgentOptions} from './options.js'

/** Per call: overrides the agent's `sendTimeoutMs` for this send. */
export interface SendOptions {
  /** How long the send may wait held by a pause before it rejects with SendDeadlineError. */
  timeoutMs?: number
}

/**
 * A kafkajs producer that kreorg can pause. Use `send`, `sendBatch` and `transaction` instead of the
 * producer's own; they wait while a topic is paused (in call order; nothing is dropped).
 */
export class ProducerAgent extends EventEmitter<AgentEventMap> {
  readonly agentId: string
  readonly topics: readonly string[]
  readonly partitionerName: string
  private readonly lifecycle = new AgentLifecycle()
  private readonly feed: ControlFeed
  /** Write-only: this agent's heartbeats on `<controlTopic>-heartbeats`. */
  private readonly heartbeatFeed: ControlFeed
  private readonly gates: PauseGates
  private readonly lastWrite: Record<string, LastWrite> = {}
  private readonly transactions: TransactionTracker
  private readonly producer: AgentProducer
  private readonly heartbeats: Heartbeats
  private readonly follower: CommandFollower
  private readonly releaser: Releaser

  constructor(private readonly options: ProducerAgentOptions) {
    super()
    if (options.topics.length === 0) throw new Error('kreorg agent: topics must name at least one topic')
    this.agentId = options.agentId ?? defaultAgentId()
    const id = agentIdSchema.safeParse(this.agentId)
    if (!id.success) throw new Error(`kreorg agent: invalid agentId ${JSON.stringify(this.agentId)}: use [a-zA-Z0-9._:-]`)
    const {kafka} = options
    const lifecycle = this.lifecycle
    this.topics = [...new Set(options.topics)]
    const events = new AgentEvents(this, options.logger ?? consoleLogger)
    const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    const controlTopic = options.controlTopic ?? DEFAULT_CONTROL_TOPIC
    this.heartbeatFeed = new ControlFeed(
      new ControlLog(kafka, {topic: heartbeatTopicOf(controlTopic), role: 'agent-heartbeats', topicConfig: HEARTBEAT_TOPIC_CONFIG}),
      {
        secret: options.secret,
      },
    )
    this.feed = new ControlFeed(new ControlLog(kafka, {topic: controlTopic, role: 'agent', topicConfig: CONTROL_TOPIC_CONFIG}), {
      secret: options.secret,
      onIgnored(record, reason) {
        // Other agents' acks and heartbeats failing our secret, and run state records, are noise; everything else is worth a warning.
        if (!/^(ack|agent|run)\//.test(reason)) events.warn(`control topic offset ${record.offset}: ignored: ${reason}`)
      },
    })
    // Held sends are written in merged batches, one after another: kafkajs may reorder concurrent sends.
    const releaser = new Releaser({
      held: () => this.gates.held,
      isOpen: (topics) => this.gates.isOpen(topics),
      lifecycle,
      sendBatch: (batch, topics) => this.gates.track(topics, () => this.producer.producer.sendBatch(batch)),
      capture: (topic, messages) => this.producer.capture(topic, messages),
      written: (metadata) => this.noteWrites(metadata),
      warn: (message) => events.warn(message),
    })
    this.releaser = releaser
    this.transactions = new TransactionTracker({
      kafka,
      manages: (topic) => this.gates.has(topic),
      lifecycle,
      events,
      markerTimeoutMs: TRANSACTION_MARKER_TIMEOUT_MS,
      onWrites: (metadata) => this.noteWrites(metadata),
    })
    this.gates = new PauseGates({
      topics: this.topics,
      lifecycle,
      transactions: this.transactions,
      held: new HeldSends({
        limit: options.bufferLimit ?? DEFAULT_BUFFER_LIMIT,
        maxRecords: options.maxHeldSends ?? DEFAULT_MAX_HELD_SENDS,
        warn: (message) => events.warn(message),
        release: (sends) => releaser.accept(sends),
      }),
      onOpened: () => void this.heartbeats.beat(),
    })
    this.producer = new AgentProducer({
      kafka,
      topics: this.topics,
      producer: options.producer,
      partitionerName: options.partitionerName,
      refreshTimeoutMs: options.refreshTimeoutMs ?? DEFAULT_REFRESH_TIMEOUT_MS,
      pinnedFor: (topic) => this.gates.pinned(topic),
      events,
    })
    this.partitionerName = this.producer.partitionerName
    this.heartbeats = new Heartbeats({
      identity: {
        agentId: this.agentId,
        clientId: options.clientId,
        topics: this.topics,
        version: packageVersion(),
        partitioner: this.partitionerName,
        heartbeatMs,
        startedAt: Date.now(),
      },
      feed: this.heartbeatFeed,
      states: () => Object.fromEntries(this.topics.map((topic) => [topic, this.topicState(topic)])),
      producer: () => ({producerId: this.producer.producerId ?? -1, idempotent: this.producer.idempotent, lastWrite: {...this.lastWrite}}),
      lifecycle,
      events,
    })
    this.follower = new CommandFollower({
      agentId: this.agentId,
      feed: this.feed,
      gates: this.gates,
      producer: this.producer,
      heartbeats: this.heartbeats,
      lifecycle,
      events,
    })
  }

  /** Connects the producer, reads the control topic to its end (so it starts paused during a pause), then heartbeats. */
  async start(): Promise<void> {
    await this.producer.connect()
    await this.feed.log.ensureTopic(this.options.createControlTopic ?? true)
    // Whoever needs the heartbeat topic first creates it (protocol 1.1 A).
    await this.heartbeatFeed.log.ensureTopic(true)
    await this.feed.start((change) => {
      if (this.lifecycle.ready) this.follower.onChange(change)
    })
    this.lifecycle.ready = true
    this.follower.startUp()
    await this.follower.idle
    await this.heartbeats.beat()
    this.heartbeats.start()
  }

  /** Records held while paused. */
  get buffered(): number {
    return this.gates.held.records
  }

  /**
   * Like kafkajs `producer.send`; waits while the topic is paused (in call order). Rejects with
   * HeldSendsFullError when `maxHeldSends` records are already held, SendDeadlineError when held
   * longer than its deadline (`options.timeoutMs`, else `sendTimeoutMs`).
   */
  send(record: ProducerRecord, options: SendOptions = {}): Promise<RecordMetadata[]> {
    return this.admitOrSend([record.topic], record.messages.length, options, {
      held: {
        acks: record.acks,
        timeout: record.timeout,
        compression: record.compression,
        topicMessages: [{topic: record.topic, messages: record.messages}],
      },
      now: () => this.producer.producer.send(record),
    })
  }

  /** Like kafkajs `producer.sendBatch`; waits while any of its topics is paused (see `send`). */
  sendBatch(batch: ProducerBatch, options: SendOptions = {}): Promise<RecordMetadata[]> {
    const topicMessages = batch.topicMessages ?? []
    const topics = [...new Set(topicMessages.map((t) => t.topic))]
    const records = topicMessages.reduce((sum, t) => sum + t.messages.length, 0)
    return this.admitOrSend(topics, records, options, {
      held: {acks: batch.acks, timeout: batch.timeout, compression: batch.compression, topicMessages},
      now: () => this.producer.producer.sendBatch(batch),
    })
  }

  /**
   * A held send's promise is handed back as it is, not awaited in an async wrapper: 100k callers
   * released at once would each pay one more promise and microtask (the releaser notes their
   * writes per merged batch). A send that goes at once notes its own. Errors reject, never throw.
   */
  private admitOrSend(
    topics: readonly string[],
    records: number,
    options: SendOptions,
    send: {held: HeldBatch; now: () => Promise<RecordMetadata[]>},
  ): Promise<RecordMetadata[]> {
    try {
      const held = this.gates.admitSend(topics, records, options.timeoutMs ?? this.options.sendTimeoutMs, send.held)
      if (held) return held
      return this.gates.track(topics, send.now).then((metadata) => {
        this.noteWrites(metadata)
        return metadata
      })
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(errorMessage(error)))
    }
  }

  /** Where the producer wrote last, per managed topic: heartbeats report it (protocol 1.1 `lastWrite`). */
  private noteWrites(metadata: readonly RecordMetadata[]): void {
    for (const written of metadata) {
      const offset = Number(written.baseOffset ?? written.offset)
      if (!this.gates.has(written.topicName) || !Number.isSafeInteger(offset) || offset < 0) continue
      this.lastWrite[written.topicName] = {partition: written.partition, offset}
    }
  }

  /** The producer id heartbeats report: -1 when not idempotent or kafkajs does not let the agent see it. */
  get producerId(): number {
    return this.producer.producerId ?? -1
  }

  /**
   * Starts a transaction once none of the agent's topics is paused. A pause is acked only after
   * open transactions commit or abort (so keep them short); sends inside an open transaction are
   * not held, or the transaction could never finish.
   */
  async transaction(): Promise<Transaction> {
    await this.gates.admit([...this.topics])
    return this.transactions.begin(this.producer.producer)
  }

  /** Partition count the producer's next send to `topic` would use (0 when not loaded yet). */
  partitionCount(topic: string): number {
    return this.producer.partitionCount(topic)
  }

  /** The partition this producer would choose for a keyed record right now (a pin included). */
  partitionFor(topic: string, key: string | Buffer, count = this.effectivePartitionCount(topic)): number {
    return this.producer.partitionFor(topic, key, count)
  }

  /** The count keyed records are partitioned with: the producer's, or less while a pin holds. */
  effectivePartitionCount(topic: string): number {
    return this.producer.effectivePartitionCount(topic)
  }

  /** What this agent reports for a topic (also in its heartbeats). */
  topicState(topic: string): AgentTopicState {
    const gate = this.gates.get(topic)
    if (!gate) throw new Error(`kreorg agent does not manage ${topic}`)
    return {
      state: !this.lifecycle.ready ? 'starting' : gate.paused ? 'paused' : 'running',
      ...(gate.runId !== undefined ? {runId: gate.runId} : {}),
      ...(gate.epoch !== undefined ? {epoch: gate.epoch} : {}),
      partitionCount: this.partitionCount(topic),
      ...(gate.pinned !== undefined ? {pinnedPartitions: gate.pinned} : {}),
      buffered: this.gates.held.recordsFor(topic),
    }
  }

  /**
   * Waits for in-flight sends, deregisters (a tombstone on `agent/<id>` in the heartbeat topic) and disconnects. Calls
   * still held by a pause are rejected: their records were never sent.
   */
  async close(): Promise<void> {
    if (this.lifecycle.closed) return
    this.heartbeats.stop()
    this.follower.stop()
    // Sends a resume released are written first; sends still held by a pause are rejected below.
    await this.releaser.drained()
    await this.gates.inFlightSettled()
    this.lifecycle.closed = true
    this.gates.held.rejectAll(new Error('kreorg agent closed while the send was held by a pause; the records were not sent'))
    if (this.lifecycle.ready) await this.heartbeats.deregister()
    await Promise.all([this.feed.stop(), this.heartbeatFeed.stop()])
    await this.producer.disconnect()
  }
}

/** Creates the agent and its producer, reads the control topic and starts heartbeating. */
export async function createProducerAgent(options: ProducerAgentOptions): Promise<ProducerAgent> {
  const agent = new ProducerAgent(options)
  try {
    await agent.start()
  } catch (error) {
    await agent.close().catch(() => {})
    throw error
  }
  return agent
}

/**
 * kreorg producer agent (`kreorg/agent`): wraps a kafkajs producer so kreorg can pause and resume
 * it through the control topic. See docs/control-protocol.md for the protocol and state machine.
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
import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import path from 'node:path'
import type {
  ICustomPartitioner,
  KafkaClient,
  Message,
  PartitionMetadata,
  PartitionerArgs,
  Producer,
  ProducerBatch,
  ProducerConfig,
  ProducerRecord,
  RecordMetadata,
  Transaction,
} from '../kafka/client.js'
import {Partitioners} from '../kafka/client.js'
import {ControlLog, type RawControlRecord} from '../kafka/control-log.js'
import {createTrackedProducer, type ProducerMetadataHandle} from '../kafka/producer-metadata.js'
import {decode, encode} from '../control/codec.js'
import {
  CONTROL_TOPIC_CONFIG,
  DEFAULT_CONTROL_TOPIC,
  PROTOCOL_VERSION,
  agentIdSchema,
  keys,
  type Ack,
  type AckState,
  type AgentTopicState,
  type Command,
  type Heartbeat,
} from '../control/schema.js'
import {ControlState, type CommandEntry, type StateChange} from '../control/state.js'

export type {AgentTopicState, Ack, Command} from '../control/schema.js'

export interface AgentLogger {
  warn(message: string): void
  info?(message: string): void
  debug?(message: string): void
}

export interface ProducerAgentOptions {
  /** The application's kafkajs client (`new Kafka({...})`). */
  kafka: KafkaClient
  /** kafkajs producer config. `createPartitioner` defaults to the Java-compatible murmur2 DefaultPartitioner. */
  producer?: ProducerConfig
  /** Topics this producer writes and kreorg may pause. */
  topics: string[]
  controlTopic?: string
  /** Stable id for this producer instance; default `<host>-<pid>-<random>`. */
  agentId?: string
  /** Shown by `kreorg producers`. */
  clientId?: string
  /** Shared HMAC secret (e.g. from KREORG_CONTROL_SECRET): unsigned or badly signed commands are ignored. */
  secret?: string
  heartbeatMs?: number
  /** Records held in order while paused before a warning that callers are being held back. */
  bufferLimit?: number
  /** How long a refresh/resume keeps re-reading metadata until the producer sees the target partition count. */
  refreshTimeoutMs?: number
  /** Name reported for the partitioner (default: murmur2 / legacy for kafkajs's own, custom otherwise). */
  partitionerName?: string
  /** Create the control topic if missing (1 partition, compacted). Default true. */
  createControlTopic?: boolean
  logger?: AgentLogger
}

interface Waiter {
  topics: string[]
  records: number
  resolve: () => void
  reject: (error: Error) => void
}

interface TopicGate {
  topic: string
  /** Closed while starting, paused, or refreshing metadata. */
  open: boolean
  paused: boolean
  runId: string | undefined
  epoch: number | undefined
  /** Fallback lapse time from the command; renewals in lease records extend it. */
  leaseExpiresAt: number | undefined
  /**
   * Partition count keyed records keep using until a resume, even after a lapse: partitions added
   * under a pause must not receive writes before kreorg has drained and primed consumers for them.
   */
  pinned: number | undefined
  inFlight: Set<Promise<unknown>>
}

const consoleLogger: AgentLogger = {warn: (message) => console.warn(`[kreorg-agent] ${message}`)}

function packageVersion(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(here, candidate), 'utf8')) as {name?: string; version?: string}
      if (pkg.name === 'kreorg' && pkg.version) return pkg.version
    } catch {
      // try the next layout (src/ under ts, dist/src/ when built)
    }
  }
  return '0.0.0'
}

function defaultAgentId(): string {
  const host = hostname().replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 100)
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`
}

function partitionerNameOf(create: ICustomPartitioner): string {
  if (create === Partitioners.DefaultPartitioner) return 'murmur2'
  if (create === Partitioners.LegacyPartitioner) return 'legacy'
  return 'custom'
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.())

/**
 * A kafkajs producer that kreorg can pause. Use `send`, `sendBatch` and `transaction` instead of the
 * producer's own; they wait while a topic is paused (in call order; nothing is dropped).
 */
export class ProducerAgent extends EventEmitter {
  readonly agentId: string
  readonly topics: readonly string[]
  readonly partitionerName: string
  private readonly kafka: KafkaClient
  private readonly secret: string | undefined
  private readonly logger: AgentLogger
  private readonly heartbeatMs: number
  private readonly bufferLimit: number
  private readonly refreshTimeoutMs: number
  private readonly state = new ControlState()
  private readonly log: ControlLog
  private readonly gates = new Map<string, TopicGate>()
  private readonly waiting: Waiter[] = []
  private readonly openTransactions = new Set<Promise<void>>()
  /** Per topic, partition → highest base offset written in an ended transaction whose markers were not yet seen. */
  private readonly unsettledTransactions = new Map<string, Map<number, number>>()
  private readonly markerTimeoutMs: number
  private readonly partition: (args: PartitionerArgs) => number
  private readonly producerConfig: ProducerConfig
  private producer!: Producer
  private metadata: ProducerMetadataHandle | undefined
  private work: Promise<void> = Promise.resolve()
  private ready = false
  private closed = false
  private heartbeatTimer: NodeJS.Timeout | undefined
  private lapseTimer: NodeJS.Timeout | undefined
  private bufferWarned = false
  private readonly startedAt = Date.now()
  private readonly version = packageVersion()
  private readonly clientId: string | undefined

  constructor(private readonly options: ProducerAgentOptions) {
    super()
    if (options.topics.length === 0) throw new Error('kreorg agent: topics must name at least one topic')
    this.agentId = options.agentId ?? defaultAgentId()
    const id = agentIdSchema.safeParse(this.agentId)
    if (!id.success) throw new Error(`kreorg agent: invalid agentId ${JSON.stringify(this.agentId)}: use [a-zA-Z0-9._:-]`)
    this.kafka = options.kafka
    this.topics = [...new Set(options.topics)]
    this.secret = options.secret || undefined
    this.logger = options.logger ?? consoleLogger
    this.heartbeatMs = options.heartbeatMs ?? 5_000
    this.bufferLimit = options.bufferLimit ?? 10_000
    this.refreshTimeoutMs = options.refreshTimeoutMs ?? 30_000
    this.markerTimeoutMs = 10_000
    this.clientId = options.clientId
    const createPartitioner = options.producer?.createPartitioner ?? Partitioners.DefaultPartitioner
    this.partitionerName = options.partitionerName ?? partitionerNameOf(createPartitioner)
    // One partitioner instance shared by the producer and canary computation: the canary answer is
    // what the producer's next send does, whatever partitioner the application chose.
    this.partition = createPartitioner()
    // The producer partitions through the pin: while a topic is pinned, partitions at or above the pinned
    // count are invisible to the application's partitioner, so keys map exactly as before the grow.
    this.producerConfig = {
      ...options.producer,
      createPartitioner: () => (args) => this.partition({...args, partitionMetadata: this.visiblePartitions(args.topic, args.partitionMetadata)}),
    }
    for (const topic of this.topics) {
      this.gates.set(topic, {topic, open: false, paused: false, runId: undefined, epoch: undefined, leaseExpiresAt: undefined, pinned: undefined, inFlight: new Set()})
    }
    this.log = new ControlLog(this.kafka, {topic: options.controlTopic ?? DEFAULT_CONTROL_TOPIC, role: 'agent', topicConfig: CONTROL_TOPIC_CONFIG})
  }

  /** Connects the producer, reads the control topic to its end (so it starts paused during a pause), then heartbeats. */
  async start(): Promise<void> {
    const tracked = createTrackedProducer(this.kafka, this.producerConfig)
    this.producer = tracked.producer
    this.metadata = tracked.metadata
    await this.producer.connect()
    await this.refreshMetadata(undefined)
    await this.log.ensureTopic(this.options.createControlTopic ?? true)
    await this.log.start((record) => this.onRecord(record))
    this.ready = true
    for (const topic of this.topics) {
      const entry = this.state.command(topic)
      if (entry) this.enqueue(() => this.applyCommand(entry, true))
      // Whatever the command in force was (none, ignored, lapsed), a topic that is not paused opens.
      this.enqueue(async () => {
        if (!this.gates.get(topic)!.paused) this.openGate(topic)
      })
    }
    await this.work
    await this.heartbeat()
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs)
    this.heartbeatTimer.unref?.()
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => this.logger.warn(`control command failed: ${error instanceof Error ? error.message : String(error)}`))
  }

  private onRecord(record: RawControlRecord): void {
    const decoded = decode(record.key, record.value, this.secret ? {secret: this.secret} : {})
    if (!decoded.ok) {
      // Other agents' acks and heartbeats failing our secret, and run state records, are noise; everything else is worth a warning.
      if (!/^(ack|agent|run)\//.test(decoded.reason)) this.logger.warn(`control topic offset ${record.offset}: ignored: ${decoded.reason}`)
    }
    const change = this.state.apply(decoded, {offset: record.offset, timestamp: record.timestamp})
    if (change && this.ready) this.onChange(change)
  }

  private onChange(change: StateChange): void {
    if (change.kind === 'cmd' && this.gates.has(change.topic)) {
      const entry = change.entry
      this.enqueue(() => this.applyCommand(entry, false))
    } else if (change.kind === 'lease' && this.gates.has(change.topic) && change.outcome.op === 'release' && change.outcome.granted) {
      const gate = this.gates.get(change.topic)!
      const runId = change.record.lease.runId
      if (gate.paused && gate.runId === runId) {
        this.enqueue(() => this.lapse(gate, `run ${runId} released its lease without resuming`, true))
      }
    }
  }

  /** When the pause stops being valid: the lease holder's expiry while it is the pausing run, else the command's. */
  private pauseDeadline(gate: TopicGate): number {
    const holder = this.state.holder(gate.topic)
    const fromLease = holder && holder.runId === gate.runId ? holder.expiresAt : 0
    return Math.max(fromLease, gate.leaseExpiresAt ?? 0)
  }

  private async applyCommand(entry: CommandEntry, initial: boolean): Promise<void> {
    if (this.closed) return
    const command = entry.command
    const gate = this.gates.get(command.topic)
    if (!gate) return
    if (command.action === 'resume') {
      if (!entry.authorized && gate.paused && gate.runId !== command.runId) {
        this.logger.warn(`ignored resume of ${command.topic} from run ${command.runId}: it did not pause it and does not hold the lease`)
        return
      }
      await this.closeGate(gate)
      const count = await this.refreshMetadata(command.targetPartitions === undefined ? undefined : {topic: gate.topic, target: command.targetPartitions})
      gate.pinned = undefined
      gate.paused = false
      gate.runId = command.runId
      gate.epoch = command.epoch
      gate.leaseExpiresAt = undefined
      this.openGate(gate.topic)
      // A resume read at start-up was meant for agents that were paused; nobody waits for our ack.
      if (!initial) await this.ack(gate, 'resumed', command, count)
      this.emit('resumed', {topic: gate.topic, runId: command.runId})
      return
    }
    // pause / refresh: only from the run holding the lease, and only while it is valid.
    if (!entry.authorized) {
      this.logger.warn(`ignored ${command.action} of ${command.topic} from run ${command.runId}: it does not hold the topic's lease`)
      return
    }
    gate.runId = command.runId
    gate.epoch = command.epoch
    gate.leaseExpiresAt = command.leaseExpiresAt
    // The pin outlives the lease: it holds until a resume, also for an agent that starts after a lapse.
    const pin = command.pinPartitions ?? (gate.pinned || this.partitionCount(gate.topic) || undefined)
    if (pin !== undefined && pin !== gate.pinned) {
      gate.pinned = pin
      if (initial) this.logger.warn(`${command.topic} is pinned to ${pin} partitions by run ${command.runId} until it resumes`)
    }
    if (this.pauseDeadline(gate) <= Date.now()) {
      if (!initial) this.logger.warn(`ignored ${command.action} of ${command.topic} from run ${command.runId}: its lease already lapsed`)
      if (!gate.paused) this.openGate(gate.topic)
      return
    }
    const wasPaused = gate.paused
    gate.paused = true
    await this.closeGate(gate)
    this.scheduleLapseCheck()
    if (!wasPaused) {
      if (initial) this.logger.warn(`started while ${command.topic} is paused by run ${command.runId}: sends wait until it resumes`)
      this.emit('paused', {topic: gate.topic, runId: command.runId})
    }
    if (command.action === 'pause') {
      await this.ack(gate, 'paused', command, this.partitionCount(gate.topic))
    } else {
      const count = await this.refreshMetadata({topic: gate.topic, target: command.targetPartitions ?? 0})
      await this.ack(gate, 'refreshed', command, count)
    }
    void this.heartbeat()
  }

  /** Stops new sends on the topic and waits for in-flight ones (and open transactions) to finish. */
  private async closeGate(gate: TopicGate): Promise<void> {
    gate.open = false
    while (gate.inFlight.size > 0 || this.openTransactions.size > 0) {
      await Promise.allSettled([...gate.inFlight, ...this.openTransactions])
    }
    await this.waitForTransactionMarkers(gate.topic)
  }

  private noteTransactionWrites(metadata: readonly RecordMetadata[]): void {
    for (const m of metadata) {
      const offset = Number(m.baseOffset)
      if (!Number.isFinite(offset) || offset < 0 || !this.gates.has(m.topicName)) continue
      const partitions = this.unsettledTransactions.get(m.topicName) ?? new Map<number, number>()
      partitions.set(m.partition, Math.max(offset, partitions.get(m.partition) ?? -1))
      this.unsettledTransactions.set(m.topicName, partitions)
    }
  }

  /**
   * A committed (or aborted) transaction is not finished on the partitions when commit() returns:
   * the broker answers EndTxn once the decision is in its transaction log and writes the COMMIT/ABORT
   * markers to each partition afterwards. Until then the partition's last stable offset (the end
   * offset consumers and kreorg see) sits below the transaction, and it jumps past records and
   * marker later. An ack sent before that would let end offsets move after every agent said
   * "paused", which the grow runbook's quiet-period check rightly calls an unknown writer. So the
   * pause ack waits until the last stable offset of every partition this agent's ended
   * transactions wrote is past their records (bounded: a foreign open transaction below ours holds
   * it back, and that is for the quiet-period check to report, not for this agent to hang on).
   */
  private async waitForTransactionMarkers(topic: string): Promise<void> {
    const partitions = this.unsettledTransactions.get(topic)
    if (!partitions || partitions.size === 0) return
    const admin = this.kafka.admin()
    const deadline = Date.now() + this.markerTimeoutMs
    let problem = 'markers not visible yet'
    try {
      await admin.connect()
      for (;;) {
        try {
          // fetchTopicOffsets lists read_committed offsets: `high` is the last stable offset.
          const offsets = await admin.fetchTopicOffsets(topic)
          for (const o of offsets) {
            const written = partitions.get(o.partition)
            if (written !== undefined && Number(o.high) > written) partitions.delete(o.partition)
          }
          if (partitions.size === 0) return
          problem = `partitions ${[...partitions.keys()].join(', ')} still end below this agent's last transaction`
        } catch (error) {
          problem = error instanceof Error ? error.message : String(error)
        }
        if (Date.now() >= deadline || this.closed) break
        await sleep(50)
      }
      this.logger.warn(`${topic}: acking the pause without seeing the transaction markers within ${this.markerTimeoutMs}ms (${problem})`)
    } catch (error) {
      this.logger.warn(`${topic}: cannot check the transaction markers before acking the pause: ${error instanceof Error ? error.message : String(error)}`)
    } finally {
      partitions.clear()
      await admin.disconnect().catch(() => {})
    }
  }

  private openGate(topic: string): void {
    const gate = this.gates.get(topic)
    if (!gate || this.closed) return
    gate.open = true
    this.releaseWaiters()
    void this.heartbeat()
  }

  private isOpen(topics: string[]): boolean {
    return this.ready && topics.every((topic) => this.gates.get(topic)?.open ?? true)
  }

  /** Lets waiting calls through in the order they were made; a call stays queued while any of its topics is closed. */
  private releaseWaiters(): void {
    const blockedTopics = new Set<string>()
    for (let i = 0; i < this.waiting.length; ) {
      const waiter = this.waiting[i]!
      // A queued call must not be overtaken by a later call to the same topic.
      if (this.isOpen(waiter.topics) && !waiter.topics.some((t) => blockedTopics.has(t))) {
        this.waiting.splice(i, 1)
        waiter.resolve()
      } else {
        for (const topic of waiter.topics) blockedTopics.add(topic)
        i++
      }
    }
    if (this.buffered < this.bufferLimit) this.bufferWarned = false
  }

  /** Records held while paused. */
  get buffered(): number {
    return this.waiting.reduce((sum, waiter) => sum + waiter.records, 0)
  }

  private async admit(topics: string[], records: number): Promise<void> {
    if (this.closed) throw new Error('kreorg agent is closed')
    const queuedForTopic = this.waiting.some((waiter) => waiter.topics.some((t) => topics.includes(t)))
    if (this.isOpen(topics) && !queuedForTopic) return
    if (!this.bufferWarned && this.buffered + records > this.bufferLimit) {
      this.bufferWarned = true
      this.logger.warn(`${this.buffered + records} records held while paused (limit ${this.bufferLimit}): callers are held back until resume`)
    }
    await new Promise<void>((resolve, reject) => this.waiting.push({topics, records, resolve, reject}))
  }

  private track<T>(topics: string[], work: () => Promise<T>): Promise<T> {
    const promise = work()
    for (const topic of topics) {
      const gate = this.gates.get(topic)
      if (!gate) continue
      gate.inFlight.add(promise)
      void promise.then(
        () => gate.inFlight.delete(promise),
        () => gate.inFlight.delete(promise),
      )
    }
    return promise
  }

  /** Like kafkajs `producer.send`; waits while the topic is paused. */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    await this.admit([record.topic], record.messages.length)
    return this.track([record.topic], () => this.producer.send(record))
  }

  /** Like kafkajs `producer.sendBatch`; waits while any of its topics is paused. */
  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    const topics = [...new Set((batch.topicMessages ?? []).map((t) => t.topic))]
    const records = (batch.topicMessages ?? []).reduce((sum, t) => sum + t.messages.length, 0)
    await this.admit(topics, records)
    return this.track(topics, () => this.producer.sendBatch(batch))
  }

  /**
   * Starts a transaction once none of the agent's topics is paused. A pause is acked only after
   * open transactions commit or abort (so keep them short); sends inside an open transaction are
   * not held, or the transaction could never finish.
   */
  async transaction(): Promise<Transaction> {
    await this.admit([...this.topics], 0)
    const transaction = await this.producer.transaction()
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))
    this.openTransactions.add(finished)
    const end = () => {
      this.openTransactions.delete(finished)
      done()
    }
    const commit = transaction.commit.bind(transaction)
    const abort = transaction.abort.bind(transaction)
    const send = transaction.send.bind(transaction)
    const sendBatch = transaction.sendBatch.bind(transaction)
    // Where the transaction wrote, so a pause ack can wait for its markers (see waitForTransactionMarkers).
    transaction.send = async (record) => {
      const metadata = await send(record)
      this.noteTransactionWrites(metadata)
      return metadata
    }
    transaction.sendBatch = async (batch) => {
      const metadata = await sendBatch(batch)
      this.noteTransactionWrites(metadata)
      return metadata
    }
    transaction.commit = async () => {
      try {
        return await commit()
      } finally {
        end()
      }
    }
    transaction.abort = async () => {
      try {
        return await abort()
      } finally {
        end()
      }
    }
    return transaction
  }

  /** Partition count the producer's next send to `topic` would use (0 when not loaded yet). */
  partitionCount(topic: string): number {
    return this.metadata?.partitions(topic).length ?? this.fallbackCounts.get(topic) ?? 0
  }

  /** The partition this producer would choose for a keyed record right now (a pin included). */
  partitionFor(topic: string, key: string | Buffer, count = this.effectivePartitionCount(topic)): number {
    return this.partitionWith(topic, key, this.partitionMetadataFor(topic, count))
  }

  /** The count keyed records are partitioned with: the producer's, or less while a pin holds. */
  effectivePartitionCount(topic: string): number {
    const count = this.partitionCount(topic)
    const pinned = this.gates.get(topic)?.pinned
    return pinned !== undefined && pinned < count ? pinned : count
  }

  private visiblePartitions(topic: string, partitions: PartitionMetadata[]): PartitionMetadata[] {
    const pinned = this.gates.get(topic)?.pinned
    return pinned === undefined ? partitions : partitions.filter((p) => p.partitionId < pinned)
  }

  private partitionMetadataFor(topic: string, count: number): PartitionMetadata[] {
    const known = this.metadata?.partitions(topic) ?? []
    if (known.length === count) return known
    return Array.from({length: count}, (_, partitionId) => ({partitionErrorCode: 0, partitionId, leader: 0, replicas: [0], isr: [0]}))
  }

  private partitionWith(topic: string, key: string | Buffer, partitionMetadata: PartitionMetadata[]): number {
    const message: Message = {key, value: null}
    return this.partition({topic, partitionMetadata, message})
  }

  private readonly fallbackCounts = new Map<string, number>()

  /**
   * Makes the producer's own metadata current. With a target, re-reads until the producer sees at
   * least that many partitions (new partitions reach every broker's metadata shortly after they are
   * created) or refreshTimeoutMs passes. Returns the count for the target topic.
   */
  private async refreshMetadata(target: {topic: string; target: number} | undefined): Promise<number> {
    const deadline = Date.now() + this.refreshTimeoutMs
    for (;;) {
      try {
        if (this.metadata) await this.metadata.refresh([...this.topics])
        else await this.recreateProducer()
      } catch (error) {
        this.logger.warn(`metadata refresh failed: ${error instanceof Error ? error.message : String(error)}`)
      }
      if (!target) return 0
      const count = this.partitionCount(target.topic)
      if (count >= target.target || Date.now() >= deadline) return count
      await sleep(200)
    }
  }

  /** Fallback when the producer's metadata cache is out of reach: a new producer starts with fresh metadata. */
  private async recreateProducer(): Promise<void> {
    const old = this.producer
    const fresh = this.kafka.producer(this.producerConfig)
    await fresh.connect()
    this.producer = fresh
    await old.disconnect().catch(() => {})
    const admin = this.kafka.admin()
    await admin.connect()
    try {
      const {topics} = await admin.fetchTopicMetadata({topics: [...this.topics]})
      for (const t of topics) this.fallbackCounts.set(t.name, t.partitions.length)
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  private async ack(gate: TopicGate, state: AckState, command: Command, partitionCount: number): Promise<void> {
    const canary: Record<string, number> = {}
    const partitionMetadata = this.partitionMetadataFor(gate.topic, partitionCount)
    if (partitionCount > 0) for (const key of command.canaryKeys ?? []) canary[key] = this.partitionWith(gate.topic, key, partitionMetadata)
    const warning =
      command.targetPartitions !== undefined && partitionCount < command.targetPartitions
        ? `producer sees ${partitionCount} partitions, expected ${command.targetPartitions}`
        : undefined
    if (warning) this.logger.warn(`${gate.topic}: ${warning}`)
    const ack: Ack = {
      v: PROTOCOL_VERSION,
      type: 'ack',
      topic: gate.topic,
      agentId: this.agentId,
      state,
      runId: command.runId,
      epoch: command.epoch,
      partitionCount,
      ...(command.canaryKeys ? {canary} : {}),
      partitioner: this.partitionerName,
      ...(warning ? {warning} : {}),
      at: Date.now(),
    }
    const key = keys.ack(gate.topic, this.agentId)
    await this.log.append(key, encode(key, ack, this.secret))
  }

  private scheduleLapseCheck(): void {
    if (this.lapseTimer || this.closed) return
    this.lapseTimer = setInterval(() => {
      let anyPaused = false
      for (const gate of this.gates.values()) {
        if (!gate.paused) continue
        anyPaused = true
        const deadline = this.pauseDeadline(gate)
        if (deadline <= Date.now()) {
          gate.leaseExpiresAt = 0
          this.enqueue(() => this.lapse(gate, `the lease of run ${gate.runId} lapsed at ${new Date(deadline).toISOString()}`))
        }
      }
      if (!anyPaused) {
        clearInterval(this.lapseTimer)
        this.lapseTimer = undefined
      }
    }, 100)
    this.lapseTimer.unref?.()
  }

  /** Resumes on our own: the orchestrator is gone, and holding the application's writes forever is worse. */
  private async lapse(gate: TopicGate, reason: string, force = false): Promise<void> {
    if (!gate.paused || this.closed) return
    // A renewal may have arrived since the timer fired.
    if (!force && this.pauseDeadline(gate) > Date.now()) return
    this.logger.warn(
      `resuming ${gate.topic} by itself: ${reason}` +
        (gate.pinned ? `; keyed records keep the ${gate.pinned}-partition layout until \`kreorg resume ${gate.runId}\` (or \`kreorg unpause ${gate.topic}\`) switches them` : ''),
    )
    // Partitions may have been added before the orchestrator vanished: never resume with stale metadata.
    await this.refreshMetadata(undefined)
    gate.paused = false
    this.openGate(gate.topic)
    this.emit('lapsed', {topic: gate.topic, runId: gate.runId, reason})
  }

  /** What this agent reports for a topic (also in its heartbeats). */
  topicState(topic: string): AgentTopicState {
    const gate = this.gates.get(topic)
    if (!gate) throw new Error(`kreorg agent does not manage ${topic}`)
    return {
      state: !this.ready ? 'starting' : gate.paused ? 'paused' : 'running',
      ...(gate.runId !== undefined ? {runId: gate.runId} : {}),
      ...(gate.epoch !== undefined ? {epoch: gate.epoch} : {}),
      partitionCount: this.partitionCount(topic),
      ...(gate.pinned !== undefined ? {pinnedPartitions: gate.pinned} : {}),
      buffered: this.waiting.filter((w) => w.topics.includes(topic)).reduce((sum, w) => sum + w.records, 0),
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || !this.ready) return
    const heartbeat: Heartbeat = {
      v: PROTOCOL_VERSION,
      type: 'agent',
      agentId: this.agentId,
      host: hostname(),
      pid: process.pid,
      ...(this.clientId ? {clientId: this.clientId} : {}),
      topics: [...this.topics],
      version: this.version,
      partitioner: this.partitionerName,
      heartbeatMs: this.heartbeatMs,
      startedAt: this.startedAt,
      states: Object.fromEntries(this.topics.map((topic) => [topic, this.topicState(topic)])),
      at: Date.now(),
    }
    const key = keys.agent(this.agentId)
    try {
      await this.log.append(key, encode(key, heartbeat, this.secret))
    } catch (error) {
      this.logger.warn(`heartbeat failed: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  /**
   * Waits for in-flight sends, deregisters (a tombstone on `agent/<id>`) and disconnects. Calls
   * still held by a pause are rejected: their records were never sent.
   */
  async close(): Promise<void> {
    if (this.closed) return
    clearInterval(this.heartbeatTimer)
    clearInterval(this.lapseTimer)
    await Promise.allSettled([...this.gates.values()].flatMap((gate) => [...gate.inFlight]))
    this.closed = true
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('kreorg agent closed while the send was held by a pause; the records were not sent'))
    if (this.ready) await this.log.append(keys.agent(this.agentId), null).catch(() => {})
    await this.log.stop()
    await this.producer?.disconnect().catch(() => {})
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

/**
 * Conformance harness: runs an agent implementation's conformance driver (test/conformance/README.md)
 * as a child process and talks NDJSON to it; plays the orchestrator on the control topic with the
 * project's codec (src/control); reads acks, heartbeats and the data topic back from the broker.
 *
 * Every wait is for an event (a driver line, a record) with a generous deadline, never a sleep: the
 * suite runs on small, loaded CI machines.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {createInterface} from 'node:readline'
import {z} from 'zod'

import type {Consumer, KafkaClient, Producer} from '../../src/kafka/client.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {decode, sign, verify} from '../../src/control/codec.js'
import {ackSchema, ackStates, type Command, heartbeatSchema, keys, PROTOCOL_VERSION} from '../../src/control/schema.js'

// ---------------------------------------------------------------------------------------------
// Waiting for events

export class WaitTimeout extends Error {}

/** An append-only list that can be waited on: `waitFor` looks at what is there, then at what comes. */
export class Stream<T> {
  readonly items: T[] = []
  private readonly listeners = new Set<(item: T, index: number) => void>()

  /** Calls `listener` for every item, those already there first. */
  subscribe(listener: (item: T, index: number) => void): void {
    for (const [index, item] of this.items.entries()) listener(item, index)
    this.listeners.add(listener)
  }

  push(item: T): void {
    this.items.push(item)
    for (const listener of this.listeners) listener(item, this.items.length - 1)
  }

  /**
   * Resolves with the first non-undefined `match` among items from index `from` on. `abort` (e.g. the
   * driver dying) rejects at once instead of running into the deadline.
   */
  waitFor<R>(
    match: (item: T, index: number) => R | undefined,
    options: {timeoutMs: number; what: string; from?: number; abort?: Promise<never>},
  ): Promise<R> {
    const from = options.from ?? 0
    for (let i = from; i < this.items.length; i++) {
      const found = match(this.items[i]!, i)
      if (found !== undefined) return Promise.resolve(found)
    }
    return new Promise<R>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        this.listeners.delete(listener)
      }
      const listener = (item: T, index: number): void => {
        if (index < from) return
        let found: R | undefined
        try {
          found = match(item, index)
        } catch (error) {
          done()
          reject(error)
          return
        }
        if (found !== undefined) {
          done()
          resolve(found)
        }
      }
      const timer = setTimeout(() => {
        done()
        reject(new WaitTimeout(`timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${options.what}`))
      }, options.timeoutMs)
      this.listeners.add(listener)
      options.abort?.catch((error: unknown) => {
        done()
        reject(error)
      })
    })
  }
}

// ---------------------------------------------------------------------------------------------
// The driver process

export interface DriverEnv {
  brokers: string
  topic: string
  controlTopic: string
  agentId: string
  secret?: string
  heartbeatMs?: number
  transactionalId?: string
  partitioner?: string
}

export interface DriverCommand {
  name: string
  command: string[]
  cwd: string
  env?: Record<string, string>
}

export interface DriverLine {
  op: string
  id?: number
  [field: string]: unknown
}

export interface SendReply {
  op: 'sent' | 'error'
  partition?: number
  offset?: number
  error?: string
  code?: string
}

/** One `send` request and what became of it. */
export interface SendHandle {
  index: number
  id: number
  key: string | null
  value: string
  requestedAt: number
  reply: Promise<SendReply>
  /** Set once the driver answered. */
  result?: SendReply & {at: number}
}

export interface DriverState {
  state: 'running' | 'paused' | 'starting'
  partitionCount: number
  pinnedPartitions: number | null
  held: number
}

const DRIVER_ENV_NAMES = [
  'KREORG_BROKERS',
  'KREORG_TOPIC',
  'KREORG_CONTROL_TOPIC',
  'KREORG_AGENT_ID',
  'KREORG_CONTROL_SECRET',
  'KREORG_HEARTBEAT_MS',
  'KREORG_TRANSACTIONAL_ID',
  'KREORG_PARTITIONER',
]

/** A running conformance driver: requests in on stdin, NDJSON replies out on stdout, stderr kept for failure messages. */
export class Driver {
  readonly lines = new Stream<DriverLine>()
  readonly sends: SendHandle[] = []
  /** Protocol violations seen on stdout (not JSON, unknown reply ids, a request answered twice). */
  readonly violations: string[] = []
  /** Rejects when the process exits before `close()` asked it to. */
  readonly died: Promise<never>
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  private readonly stderrLines: string[] = []
  private readonly pending = new Map<number, {op: string; resolve: (line: DriverLine) => void; reject: (error: Error) => void}>()
  /** How long the driver took to print ready (start-up cost, reported in the summary). */
  readyMs = 0
  private nextId = 1
  private closing = false
  private exit: {code: number | null; signal: NodeJS.Signals | null} | undefined

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readonly startedAt: number,
  ) {
    let rejectDied: (error: Error) => void = () => {}
    this.died = new Promise<never>((_, reject) => {
      rejectDied = reject
    })
    this.died.catch(() => {})
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = {code, signal}
        const error = new Error(
          `driver ${name} exited (code ${code}, signal ${signal})${this.closing ? '' : ' unexpectedly'}\n${this.stderrTail()}`,
        )
        for (const waiter of this.pending.values()) waiter.reject(error)
        this.pending.clear()
        if (!this.closing) rejectDied(error)
        resolve({code, signal})
      })
    })
    child.on('error', (error) => rejectDied(new Error(`driver ${name} could not be started: ${error.message}`)))
    createInterface({input: child.stdout!}).on('line', (line) => this.onLine(line))
    createInterface({input: child.stderr!}).on('line', (line) => {
      this.stderrLines.push(line)
      if (this.stderrLines.length > 400) this.stderrLines.splice(0, 100)
      if (process.env.KREORG_CONFORMANCE_VERBOSE) process.stderr.write(`[${name}] ${line}\n`)
    })
  }

  static async start(command: DriverCommand, env: DriverEnv, options: {readyTimeoutMs?: number} = {}): Promise<Driver> {
    const inherited = {...process.env}
    for (const name of DRIVER_ENV_NAMES) delete inherited[name]
    const child = spawn(command.command[0]!, command.command.slice(1), {
      cwd: command.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...inherited,
        ...command.env,
        KREORG_BROKERS: env.brokers,
        KREORG_TOPIC: env.topic,
        KREORG_CONTROL_TOPIC: env.controlTopic,
        KREORG_AGENT_ID: env.agentId,
        KREORG_HEARTBEAT_MS: String(env.heartbeatMs ?? 1000),
        ...(env.secret ? {KREORG_CONTROL_SECRET: env.secret} : {}),
        ...(env.transactionalId ? {KREORG_TRANSACTIONAL_ID: env.transactionalId} : {}),
        ...(env.partitioner ? {KREORG_PARTITIONER: env.partitioner} : {}),
      },
    })
    const driver = new Driver(command.name, child, Date.now())
    try {
      await driver.lines.waitFor((line) => (line.op === 'ready' ? line : undefined), {
        timeoutMs: options.readyTimeoutMs ?? 90_000,
        what: `${command.name} to print {"op":"ready"}`,
        abort: driver.died,
      })
    } catch (error) {
      driver.kill()
      throw error
    }

    driver.readyMs = Date.now() - driver.startedAt
    return driver
  }

  private onLine(raw: string): void {
    if (!raw.trim()) return
    let line: DriverLine
    try {
      line = JSON.parse(raw) as DriverLine
      if (line === null || typeof line !== 'object' || typeof line.op !== 'string') throw new Error('not an object with an "op"')
    } catch (error) {
      this.violations.push(
        `stdout line is not a protocol message (${error instanceof Error ? error.message : String(error)}): ${raw.slice(0, 200)}`,
      )
      return
    }
    this.lines.push(line)
    if (typeof line.id !== 'number') {
      if (line.op !== 'ready') this.violations.push(`reply without an id: ${raw.slice(0, 200)}`)
      return
    }
    const waiter = this.pending.get(line.id)
    if (!waiter) {
      this.violations.push(`reply to an unknown or already answered request: ${raw.slice(0, 200)}`)
      return
    }
    this.pending.delete(line.id)
    waiter.resolve(line)
  }

  /** The last lines the driver wrote to stderr, for failure messages. */
  stderrTail(lines = 60): string {
    const tail = this.stderrLines.slice(-lines)
    return tail.length > 0
      ? `--- ${this.name} stderr (last ${tail.length} lines) ---\n${tail.join('\n')}`
      : `--- ${this.name} wrote nothing to stderr ---`
  }

  get alive(): boolean {
    return this.exit === undefined
  }

  /** Sends a request; resolves with the reply carrying its id (whenever it comes). */
  request(op: string, fields: Record<string, unknown> = {}): {id: number; reply: Promise<DriverLine>} {
    const id = this.nextId++
    const reply = new Promise<DriverLine>((resolve, reject) => {
      if (!this.alive) {
        reject(new Error(`driver ${this.name} is not running\n${this.stderrTail()}`))
        return
      }
      this.pending.set(id, {op, resolve, reject})
      this.child.stdin!.write(`${JSON.stringify({op, id, ...fields})}\n`)
    })
    reply.catch(() => {})
    return {id, reply}
  }

  /** Waits for a reply with a deadline (the request may legitimately stay unanswered, e.g. a held send). */
  async call(op: string, fields: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<DriverLine> {
    const {reply} = this.request(op, fields)
    return withTimeout(reply, timeoutMs, `${this.name} to answer ${op}`)
  }

  send(key: string | null, value: string): SendHandle {
    const {id, reply} = this.request('send', {key, value})
    const handle: SendHandle = {
      index: this.sends.length,
      id,
      key,
      value,
      requestedAt: Date.now(),
      reply: reply.then((line) => {
        const result = {...(line as unknown as SendReply), at: Date.now()}
        handle.result = result
        return result
      }),
    }
    handle.reply.catch(() => {})
    this.sends.push(handle)
    return handle
  }

  async state(): Promise<DriverState> {
    const line = await this.call('state', {}, 30_000)
    if (line.op !== 'state') throw new Error(`${this.name} answered state with ${JSON.stringify(line)}`)
    return line as unknown as DriverState
  }

  /** Polls `state` until `match` holds (the driver protocol has no state events). */
  async waitForState(match: (state: DriverState) => boolean, what: string, timeoutMs = 30_000): Promise<DriverState> {
    const deadline = Date.now() + timeoutMs
    let last: DriverState | undefined
    for (;;) {
      last = await this.state()
      if (match(last)) return last
      if (Date.now() > deadline)
        throw new WaitTimeout(`timed out waiting for ${this.name} to report ${what}; last state ${JSON.stringify(last)}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Asks for a clean shutdown: `closed`, then exit 0. */
  async close(timeoutMs = 60_000): Promise<{code: number | null; signal: NodeJS.Signals | null; reply: DriverLine}> {
    this.closing = true
    const {reply} = this.request('close')
    const line = await withTimeout(reply, timeoutMs, `${this.name} to answer close`)
    const exit = await withTimeout(this.exited, timeoutMs, `${this.name} to exit after close`)
    return {...exit, reply: line}
  }

  kill(): void {
    this.closing = true
    if (this.alive) this.child.kill('SIGKILL')
  }
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new WaitTimeout(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}`)),
      timeoutMs,
    )
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

// ---------------------------------------------------------------------------------------------
// Reading topics

export interface TopicRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  value: Buffer | null
  /** Broker append time on topics with message.timestamp.type=LogAppendTime (every topic the suite creates). */
  timestamp: number
}

export const internalGroup = (purpose: string): string => `kreorg-internal-conformance-${purpose}-${randomBytes(5).toString('hex')}`

/** Tails a topic from the beginning with a throwaway, never-committing consumer group. */
export class TopicTail {
  readonly records = new Stream<TopicRecord>()

  private constructor(
    readonly topic: string,
    private readonly consumer: Consumer,
  ) {}

  static async start(kafka: KafkaClient, topic: string): Promise<TopicTail> {
    const consumer = kafka.consumer({
      groupId: internalGroup('tail'),
      maxWaitTimeInMs: 100,
      allowAutoTopicCreation: false,
      retry: {retries: 10},
    })
    const tail = new TopicTail(topic, consumer)
    await consumer.connect()
    await consumer.subscribe({topic, fromBeginning: true})
    await consumer.run({
      autoCommit: false,
      async eachMessage({partition, message}) {
        tail.records.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value,
          timestamp: Number(message.timestamp),
        })
      },
    })
    return tail
  }

  stop(): Promise<void> {
    return this.consumer.disconnect().catch(() => {})
  }
}

/**
 * Every committed record of a topic, read with a fresh consumer up to the end offsets (last stable
 * offsets) at the time of the call. Transaction markers are not delivered as records, so positions
 * advance through the consumer's batch events too.
 */
export async function readTopic(kafka: KafkaClient, cluster: KafkaCluster, topic: string, timeoutMs = 60_000): Promise<TopicRecord[]> {
  const ends = await cluster.endOffsets(topic)
  const records: TopicRecord[] = []
  const position = new Map<number, number>(ends.map((end) => [end.partition, end.low]))
  const caughtUp = (): boolean => ends.every((end) => (position.get(end.partition) ?? 0) >= end.high)
  if (caughtUp()) return []
  const consumer = kafka.consumer({
    groupId: internalGroup('read'),
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: false,
    readUncommitted: false,
  })
  let finish: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  const advance = (partition: number, next: number): void => {
    if (next > (position.get(partition) ?? 0)) position.set(partition, next)
    if (caughtUp()) finish()
  }
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    const payload = event.payload as {partition: number; lastOffset: string}
    advance(payload.partition, Number(payload.lastOffset) + 1)
  })
  try {
    await consumer.connect()
    await consumer.subscribe({topic, fromBeginning: true})
    await consumer.run({
      autoCommit: false,
      async eachMessage({partition, message}) {
        const offset = Number(message.offset)
        records.push({
          topic,
          partition,
          offset,
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value,
          timestamp: Number(message.timestamp),
        })
        advance(partition, offset + 1)
      },
    })
    await withTimeout(
      done,
      timeoutMs,
      `reading ${topic} to its end offsets ${JSON.stringify(ends.map((e) => e.high))} (at ${JSON.stringify([...position.values()])})`,
    )
  } finally {
    await consumer.disconnect().catch(() => {})
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
}

// ---------------------------------------------------------------------------------------------
// What agents write: acks and heartbeats

/** Protocol 1.1 adds the `pinned` ack state; the v1 schema (src/control) does not know it yet. */
const ack11Schema = ackSchema.extend({state: z.enum([...ackStates, 'pinned'])})
export type AgentAck = z.infer<typeof ack11Schema>

/** Protocol 1.1 heartbeat fields (section B), on top of the v1 heartbeat. */
const heartbeat11Schema = heartbeatSchema.extend({
  capabilities: z.array(z.string()).optional(),
  language: z.string().optional(),
  producerId: z.number().int().optional(),
  lastWrite: z.record(z.string(), z.object({partition: z.number().int().nonnegative(), offset: z.number().int().nonnegative()})).optional(),
})
export type AgentHeartbeat = z.infer<typeof heartbeat11Schema>

export interface AckEntry {
  offset: number
  timestamp: number
  ack: AgentAck
}

export interface HeartbeatEntry {
  /** `control` (protocol v1) or `heartbeats` (`<control>-heartbeats`, protocol 1.1). */
  where: 'control' | 'heartbeats'
  offset: number
  timestamp: number
  /** undefined: a tombstone. */
  heartbeat: AgentHeartbeat | undefined
}

/**
 * The records one agent writes, decoded as kreorg reads them: with the project's codec (so what the
 * agent writes is what kreorg's orchestrator accepts), with the secret when there is one. A record
 * under the agent's keys that kreorg would skip is a conformance failure (`invalid`).
 */
export class AgentRecords {
  readonly acks = new Stream<AckEntry>()
  readonly heartbeats = new Stream<HeartbeatEntry>()
  readonly invalid: string[] = []

  constructor(
    readonly topic: string,
    readonly agentId: string,
    private readonly secret: string | undefined,
  ) {}

  /** Feeds every record of the control topic and of the heartbeat topic through here. */
  onRecord(where: 'control' | 'heartbeats', record: TopicRecord): void {
    const ackKey = keys.ack(this.topic, this.agentId)
    const agentKey = keys.agent(this.agentId)
    if (record.key === ackKey) {
      if (where !== 'control') {
        this.invalid.push(`ack on the heartbeat topic at offset ${record.offset}: acks belong on the control topic`)
        return
      }
      const ack = this.decodeAck(record)
      if (ack) this.acks.push({offset: record.offset, timestamp: record.timestamp, ack})
    } else if (record.key === agentKey) {
      if (record.value === null) {
        this.heartbeats.push({where, offset: record.offset, timestamp: record.timestamp, heartbeat: undefined})
        return
      }
      const decoded = decode(record.key, record.value, this.secret ? {secret: this.secret} : {})
      if (!decoded.ok) {
        this.invalid.push(`heartbeat at ${where} offset ${record.offset} is skipped by kreorg's reader: ${decoded.reason}`)
        return
      }
      const parsed = heartbeat11Schema.safeParse(JSON.parse(record.value.toString('utf8')))
      if (!parsed.success) {
        this.invalid.push(
          `heartbeat at ${where} offset ${record.offset}: protocol 1.1 fields: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        )
        return
      }
      this.heartbeats.push({where, offset: record.offset, timestamp: record.timestamp, heartbeat: parsed.data})
    }
  }

  private decodeAck(record: TopicRecord): AgentAck | undefined {
    const where = `ack at control offset ${record.offset}`
    if (record.value === null) {
      this.invalid.push(`${where} is a tombstone`)
      return undefined
    }
    let json: unknown
    try {
      json = JSON.parse(record.value.toString('utf8'))
    } catch {
      this.invalid.push(`${where} is not JSON`)
      return undefined
    }
    const state = (json as {state?: unknown})?.state
    if (state !== 'pinned') {
      // v1 states: kreorg's own decoder (schema, key match, signature) must accept the ack.
      const decoded = decode(record.key, record.value, this.secret ? {secret: this.secret} : {})
      if (!decoded.ok) {
        this.invalid.push(`${where} is skipped by kreorg's reader: ${decoded.reason}`)
        return undefined
      }
    } else if (this.secret && !verify(record.key!, json as Record<string, unknown>, this.secret)) {
      this.invalid.push(`${where} (pinned) is ${(json as {sig?: unknown}).sig === undefined ? 'unsigned' : 'badly signed'}`)
      return undefined
    }
    const parsed = ack11Schema.safeParse(json)
    if (!parsed.success) {
      this.invalid.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`)
      return undefined
    }
    if (parsed.data.topic !== this.topic || parsed.data.agentId !== this.agentId) {
      this.invalid.push(`${where}: topic/agentId do not match its key`)
      return undefined
    }
    return parsed.data
  }

  waitForAck(
    match: Partial<Pick<AgentAck, 'state' | 'runId' | 'epoch'>>,
    options: {timeoutMs?: number; abort?: Promise<never>; from?: number} = {},
  ): Promise<AckEntry> {
    return this.acks.waitFor((entry) => (matches(entry.ack, match) ? entry : undefined), {
      timeoutMs: options.timeoutMs ?? 60_000,
      what: `ack ${JSON.stringify(match)} from ${this.agentId} (acks so far: ${this.describeAcks()})`,
      abort: options.abort,
      from: options.from,
    })
  }

  /** Waits for `count` heartbeats (not tombstones) written after `after` (broker time). */
  waitForHeartbeats(
    count: number,
    after: number,
    options: {timeoutMs?: number; abort?: Promise<never>; accept?: (heartbeat: AgentHeartbeat) => boolean} = {},
  ): Promise<HeartbeatEntry> {
    let seen = 0
    return this.heartbeats.waitFor(
      (entry) => {
        if (!entry.heartbeat || entry.timestamp <= after) return
        if (options.accept && !options.accept(entry.heartbeat)) return
        return ++seen >= count ? entry : undefined
      },
      {
        timeoutMs: options.timeoutMs ?? 30_000,
        what: `${count} heartbeat(s) from ${this.agentId} after ${new Date(after).toISOString()}`,
        abort: options.abort,
      },
    )
  }

  describeAcks(): string {
    return this.acks.items.length > 0
      ? this.acks.items.map((a) => `${a.ack.state}(${a.ack.runId}#${a.ack.epoch}, ${a.ack.partitionCount}p)@${a.offset}`).join(', ')
      : 'none'
  }
}

function matches(ack: AgentAck, match: Partial<Pick<AgentAck, 'state' | 'runId' | 'epoch'>>): boolean {
  return (
    (match.state === undefined || ack.state === match.state) &&
    (match.runId === undefined || ack.runId === match.runId) &&
    (match.epoch === undefined || ack.epoch === match.epoch)
  )
}

// ---------------------------------------------------------------------------------------------
// The orchestrator's side: leases and commands

export type Action = Command['action'] | 'pin'

export interface CommandFields {
  runId: string
  epoch: number
  leaseExpiresAt?: number
  targetPartitions?: number
  canaryKeys?: string[]
  pinPartitions?: number
}

/**
 * How a record is signed. Default: with the scenario's secret (unsigned without one). `secret: null`
 * writes it unsigned; another secret signs it badly; `key` signs it as if it were another key's.
 */
export interface Signing {
  secret?: string | null
  key?: string
  /** Changes the value after signing (a tampered record). */
  tamper?: (value: Record<string, unknown>) => void
}

export interface Written {
  key: string
  offset: number
  /** Broker append time of the record. */
  timestamp: number
}

export interface LeaseGrant extends Written {
  runId: string
  expiresAt: number
}

/** Writes lease and command records to the control topic as kreorg's orchestrator does (acks=all, partition 0). */
export class Orchestrator {
  private producer: Producer | undefined

  constructor(
    private readonly kafka: KafkaClient,
    readonly controlTopic: string,
    readonly topic: string,
    private readonly secret: string | undefined,
    /** The control record at an offset, once the suite's tail has read it. */
    private readonly readBack: (offset: number) => Promise<TopicRecord>,
  ) {}

  /** Appends a raw record and waits until the control tail reads it back (for its broker timestamp). */
  async writeRaw(key: string | null, value: Buffer | string | null): Promise<Written> {
    if (!this.producer) {
      this.producer = this.kafka.producer({allowAutoTopicCreation: false, maxInFlightRequests: 1, retry: {retries: 5}})
      await this.producer.connect()
    }
    const [meta] = await this.producer.send({topic: this.controlTopic, acks: -1, messages: [{key, value, partition: 0}]})
    const offset = Number(meta!.baseOffset ?? meta!.offset)
    const record = await this.readBack(offset)
    return {key: key ?? '', offset, timestamp: record.timestamp}
  }

  /** A JSON record, signed with the project's codec as `signing` says. */
  write(key: string, body: Record<string, unknown>, signing: Signing = {}): Promise<Written> {
    const secret = signing.secret === undefined ? this.secret : signing.secret
    const value: Record<string, unknown> = {...body}
    if (secret) value.sig = sign(signing.key ?? key, body, secret)
    signing.tamper?.(value)
    return this.writeRaw(key, JSON.stringify(value))
  }

  async lease(op: 'claim' | 'renew' | 'release', runId: string, leaseMs: number, signing: Signing = {}): Promise<LeaseGrant> {
    const written = await this.write(
      keys.lease(this.topic),
      {
        v: PROTOCOL_VERSION,
        type: 'lease',
        op,
        topic: this.topic,
        runId,
        host: 'kreorg-conformance',
        pid: process.pid,
        leaseMs,
        at: Date.now(),
      },
      signing,
    )
    return {...written, runId, expiresAt: written.timestamp + leaseMs}
  }

  claim(runId: string, leaseMs = 120_000, signing: Signing = {}): Promise<LeaseGrant> {
    return this.lease('claim', runId, leaseMs, signing)
  }

  command(action: Action, fields: CommandFields, signing: Signing = {}, extra: Record<string, unknown> = {}): Promise<Written> {
    const body: Record<string, unknown> = {
      v: PROTOCOL_VERSION,
      type: 'cmd',
      action,
      topic: this.topic,
      runId: fields.runId,
      epoch: fields.epoch,
      ...(fields.leaseExpiresAt === undefined ? {} : {leaseExpiresAt: fields.leaseExpiresAt}),
      ...(fields.targetPartitions === undefined ? {} : {targetPartitions: fields.targetPartitions}),
      ...(fields.canaryKeys === undefined ? {} : {canaryKeys: fields.canaryKeys}),
      ...(fields.pinPartitions === undefined ? {} : {pinPartitions: fields.pinPartitions}),
      ...extra,
      at: Date.now(),
    }
    return this.write(keys.cmd(this.topic), body, signing)
  }

  /** `pause` under a lease (leaseExpiresAt from it), the way kreorg publishes one. */
  pause(lease: LeaseGrant, epoch: number, fields: Partial<CommandFields> = {}, signing: Signing = {}): Promise<Written> {
    return this.command('pause', {runId: lease.runId, epoch, leaseExpiresAt: lease.expiresAt, ...fields}, signing)
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect().catch(() => {})
  }
}

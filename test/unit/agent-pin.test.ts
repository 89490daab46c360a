import {EventEmitter} from 'node:events'
import {describe, expect, it} from 'vitest'

import type {Heartbeats} from '../../src/agent/heartbeat.js'
import type {AgentProducer} from '../../src/agent/producer.js'
import type {TransactionTracker} from '../../src/agent/transactions.js'
import type {ControlFeed} from '../../src/control/feed.js'

import {CommandFollower} from '../../src/agent/commands.js'
import {type AgentEventMap, AgentEvents} from '../../src/agent/events.js'
import {PauseGates} from '../../src/agent/gate.js'
import {HeldSends} from '../../src/agent/held-sends.js'
import {AgentLifecycle} from '../../src/agent/options.js'
import {syntheticPartitions} from '../../src/agent/pin.js'
import {decode, encode} from '../../src/control/codec.js'
import {type Ack, type Command, type ControlMessage, keys, type LeaseRecord} from '../../src/control/schema.js'
import {ControlState} from '../../src/control/state.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'

// The agent's command follower (pin, pause, resume, fencing) on a fake feed and a fake producer: the
// control topic is a ControlState we append to, acks are captured, the producer only knows its count.

const TOPIC = 'orders'

class World {
  readonly state = new ControlState()
  readonly acks: Ack[] = []
  readonly warnings: string[] = []
  readonly events: Array<{name: string; payload: unknown}> = []
  readonly lifecycle = new AgentLifecycle()
  /** Partitions the producer sees. */
  count = 8
  private offset = 0
  readonly gates: PauseGates
  readonly follower: CommandFollower

  constructor() {
    const transactions = {openCount: 0, openTransactions: [], async waitForMarkers() {}} as unknown as TransactionTracker
    this.gates = new PauseGates({
      topics: [TOPIC],
      lifecycle: this.lifecycle,
      transactions,
      held: new HeldSends({limit: 1000, warn: (message) => this.warnings.push(message)}),
      onOpened() {},
    })
    const producer = {
      partitionerName: 'murmur2',
      partitionCount: () => this.count,
      effectivePartitionCount: () => Math.min(this.count, this.gates.pinned(TOPIC) ?? this.count),
      refresh: async (target: {topic: string; target: number} | undefined) => (target ? this.count : 0),
      partitionsFor: (_topic: string, count: number) => syntheticPartitions(count),
      partitionsOfKeys: (_topic: string, keyList: readonly string[], metadata: unknown[]) =>
        Object.fromEntries(keyList.map((key) => [key, partitionForKey(key, metadata.length)])),
    } as unknown as AgentProducer
    const feed = {
      state: this.state,
      write: async (_key: string, message: ControlMessage) => (this.acks.push(message as Ack), 0),
    } as unknown as ControlFeed
    const emitter = new EventEmitter<AgentEventMap>()
    for (const name of ['paused', 'resumed', 'pinned', 'lapsed'] as const)
      emitter.on(name, (payload: unknown) => this.events.push({name, payload}))
    const events = new AgentEvents(emitter, {warn: (message) => this.warnings.push(message)})
    const heartbeats = {async beat() {}} as unknown as Heartbeats
    this.follower = new CommandFollower({agentId: 'a1', feed, gates: this.gates, producer, heartbeats, lifecycle: this.lifecycle, events})
  }

  get gate() {
    return this.gates.get(TOPIC)!
  }

  /** Appends a record to the fake control topic (broker time: now). */
  append(message: LeaseRecord | Command) {
    const key = message.type === 'lease' ? keys.lease(TOPIC) : keys.cmd(TOPIC)
    return this.state.apply(decode(key, encode(key, message)), {offset: this.offset++, timestamp: Date.now()})
  }

  async start(): Promise<void> {
    this.lifecycle.ready = true
    this.follower.startUp()
    await this.follower.idle
  }

  /** Appends and lets the running agent apply it. */
  async deliver(message: LeaseRecord | Command): Promise<void> {
    const change = this.append(message)
    if (change) this.follower.onChange(change)
    await this.follower.idle
  }

  claim(runId: string, epoch: number, leaseMs = 60_000): LeaseRecord {
    return {v: 1, type: 'lease', op: 'claim', topic: TOPIC, runId, host: 'h', pid: 1, leaseMs, epoch, at: Date.now()}
  }

  command(action: Command['action'], runId: string, epoch: number, extra: Partial<Command> = {}): Command {
    return {v: 1, type: 'cmd', action, topic: TOPIC, runId, epoch, leaseExpiresAt: Date.now() + 60_000, at: Date.now(), ...extra}
  }

  acked(): string[] {
    return this.acks.map((a) => `${a.state}#${a.epoch}:${a.partitionCount}`)
  }

  stop(): void {
    this.follower.stop()
    this.lifecycle.closed = true
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('agent: pin (protocol 1.1 C)', () => {
  it('pin keeps the agent running on the pinned count and acks pinned; pause keeps the pin; resume without target keeps it, with target lifts it', async () => {
    const w = new World()
    await w.start()
    await w.deliver(w.claim('run', 1))
    await w.deliver(w.command('pin', 'run', 1, {pinPartitions: 4}))
    expect(w.gate).toMatchObject({pinned: 4, paused: false, open: true, runId: 'run', epoch: 1})
    expect(w.events.at(-1)).toEqual({name: 'pinned', payload: {topic: TOPIC, runId: 'run', partitions: 4}})

    await w.deliver(w.command('pause', 'run', 2))
    expect(w.gate).toMatchObject({pinned: 4, paused: true, open: false})
    let sent = false
    const held = (async () => {
      const wait = w.gates.admitSend([TOPIC], 1, undefined, {topicMessages: [{topic: TOPIC, messages: [{key: 'k', value: 'v'}]}]})
      if (wait) await wait
      sent = true
    })()
    await flush()
    expect(sent).toBe(false)

    await w.deliver(w.command('resume', 'run', 3))
    await held
    expect(w.gate).toMatchObject({pinned: 4, paused: false, open: true})

    w.count = 12
    await w.deliver(w.command('resume', 'run', 4, {targetPartitions: 12}))
    expect(w.gate.pinned).toBeUndefined()
    expect(w.acked()).toEqual(['pinned#1:4', 'paused#2:4', 'resumed#3:4', 'resumed#4:12'])
    w.stop()
  })

  it('a pin from a run without the lease is ignored; a pin while paused by the same run stays paused', async () => {
    const w = new World()
    await w.start()
    await w.deliver(w.command('pin', 'intruder', 1, {pinPartitions: 2}))
    expect(w.gate.pinned).toBeUndefined()
    expect(w.warnings.join('\n')).toMatch(/ignored pin of orders from run intruder/)
    await w.deliver(w.claim('run', 1))
    await w.deliver(w.command('pause', 'run', 1))
    // A pause without pinPartitions pins to the count the producer sees.
    expect(w.gate).toMatchObject({paused: true, pinned: 8})
    await w.deliver(w.command('pin', 'run', 2, {pinPartitions: 6}))
    expect(w.gate).toMatchObject({paused: true, pinned: 6, epoch: 1})
    expect(w.acked()).toEqual(['paused#1:8', 'pinned#2:6'])
    w.stop()
  })

  it('an agent that starts while a pin is in force starts pinned (acking only while the lease holds); a resume carrying pinPartitions pins it too', async () => {
    const w = new World()
    w.append(w.claim('run', 1))
    w.append(w.command('pin', 'run', 1, {pinPartitions: 4}))
    await w.start()
    expect(w.gate).toMatchObject({pinned: 4, open: true, paused: false})
    expect(w.acked()).toEqual(['pinned#1:4'])
    w.stop()

    const late = new World()
    late.append(late.command('resume', 'run', 5, {pinPartitions: 4, leaseExpiresAt: undefined}))
    await late.start()
    expect(late.gate).toMatchObject({pinned: 4, open: true})
    // A resume read at start-up is not acked: it was meant for agents that were paused.
    expect(late.acked()).toEqual([])
    late.stop()

    const lifted = new World()
    lifted.append(lifted.command('resume', 'run', 5, {targetPartitions: 8}))
    await lifted.start()
    expect(lifted.gate.pinned).toBeUndefined()
    lifted.stop()
  })

  it('the pin outlives the lease: after a lapse the agent resumes by itself, still pinned', async () => {
    const w = new World()
    await w.start()
    await w.deliver(w.claim('run', 1, 300))
    await w.deliver(w.command('pause', 'run', 1, {pinPartitions: 4, leaseExpiresAt: Date.now() + 300}))
    expect(w.gate.paused).toBe(true)
    const deadline = Date.now() + 5000
    while (w.gate.paused && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    await w.follower.idle
    expect(w.gate).toMatchObject({paused: false, open: true, pinned: 4})
    expect(w.events.map((e) => e.name)).toEqual(['paused', 'lapsed'])
    w.stop()
  })
})

describe('agent: fencing (protocol 1.1 D)', () => {
  it('ignores a command whose epoch is below one already seen for its run, without acking it', async () => {
    const w = new World()
    await w.start()
    await w.deliver(w.claim('run', 5))
    await w.deliver(w.command('pause', 'run', 5, {pinPartitions: 4}))
    const held = (async () => {
      const wait = w.gates.admitSend([TOPIC], 1, undefined, {topicMessages: [{topic: TOPIC, messages: [{key: 'k', value: 'v'}]}]})
      if (wait) await wait
      return 'sent'
    })()
    await w.deliver(w.command('resume', 'run', 3, {targetPartitions: 8}))
    expect(w.gate).toMatchObject({paused: true, pinned: 4})
    expect(w.warnings.join('\n')).toMatch(/ignored stale resume of orders from run run: epoch 3 is below epoch 5/)
    expect(w.gates.held.records).toBe(1)
    await w.deliver(w.command('resume', 'run', 6))
    expect(await held).toBe('sent')
    await w.deliver(w.command('pause', 'run', 4))
    expect(w.gate.paused).toBe(false)
    expect(w.acked()).toEqual(['paused#5:4', 'resumed#6:4'])
    w.stop()
  })
})

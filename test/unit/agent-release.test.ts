import {describe, expect, it, vi} from 'vitest'

import type {TransactionTracker} from '../../src/agent/transactions.js'
import type {Message, ProducerBatch, RecordMetadata} from '../../src/kafka/client.js'

import {HeldSendsFullError, SendDeadlineError} from '../../src/agent/errors.js'
import {PauseGates} from '../../src/agent/gate.js'
import {HeldSends} from '../../src/agent/held-sends.js'
import {AgentLifecycle} from '../../src/agent/options.js'
import {type HeldBatch, MAX_MERGED_MESSAGES, Releaser} from '../../src/agent/release.js'
import {partitionForKey} from '../../src/kafka/murmur2.js'

// Releasing held sends through merged, sequential sendBatch calls (kafkajs reorders concurrent sends):
// call order, each caller's own metadata, a pause in the middle, the cap and the deadline.

const PARTITIONS = 3

class Harness {
  readonly lifecycle = new AgentLifecycle()
  readonly gates: PauseGates
  readonly releaser: Releaser
  /** What the fake broker wrote, per topic/partition, in order. */
  readonly log = new Map<string, string[]>()
  readonly batches: ProducerBatch[] = []
  private readonly captures = new Map<string, Int32Array>()
  /** Set to make the next sendBatch wait for this promise. */
  gate: Promise<void> | undefined
  failNext: Error | undefined
  /** False: the "partitioner" reports nothing to the capture (a producer the agent could not observe). */
  observe = true
  /** Added to every offset the fake broker reports (offsets past 2^53). */
  offsetBase = 0n
  /** The fields of the fake broker's answer: kafkajs's (produce v5+), or v3's, without logStartOffset. */
  produceVersion: 'v5+' | 'v3' = 'v5+'
  readonly warnings: string[] = []
  /** What the releaser reported written, per merged batch. */
  readonly written: Array<readonly RecordMetadata[]> = []

  constructor(maxRecords = 1_000_000) {
    this.lifecycle.ready = true
    this.releaser = new Releaser({
      held: () => this.gates.held,
      isOpen: (topics) => this.gates.isOpen(topics),
      lifecycle: this.lifecycle,
      sendBatch: (batch, topics) => this.gates.track(topics, () => this.sendBatch(batch)),
      capture: (topic, messages) => {
        const partitions = new Int32Array(messages.length).fill(-1)
        this.captures.set(topic, partitions)
        return {partitions, done: () => this.captures.delete(topic)}
      },
      written: (metadata) => this.written.push(metadata),
      warn: (message) => this.warnings.push(message),
    })
    this.gates = new PauseGates({
      topics: ['a', 'b'],
      lifecycle: this.lifecycle,
      transactions: {openCount: 0, openTransactions: [], async waitForMarkers() {}} as unknown as TransactionTracker,
      held: new HeldSends({limit: 1_000_000, maxRecords, warn() {}, release: (sends) => this.releaser.accept(sends)}),
      onOpened() {},
    })
  }

  /** A fake kafkajs sendBatch: partitions every message through the "partitioner" (reporting to the capture), appends per partition. */
  private async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    this.batches.push(batch)
    if (this.gate) await this.gate
    if (this.failNext) {
      const error = this.failNext
      this.failNext = undefined
      throw error
    }
    const metadata: RecordMetadata[] = []
    for (const {topic, messages} of batch.topicMessages ?? []) {
      const capture = this.captures.get(topic)
      const base = new Map<number, number>()
      messages.forEach((message, i) => {
        const partition = partitionForKey(String(message.key), PARTITIONS)
        if (capture && this.observe) capture[i] = partition
        const list = this.log.get(`${topic}/${partition}`) ?? []
        if (!base.has(partition)) base.set(partition, list.length)
        list.push(String(message.value))
        this.log.set(`${topic}/${partition}`, list)
      })
      for (const [partition, offset] of base) {
        metadata.push({
          topicName: topic,
          partition,
          errorCode: 0,
          baseOffset: String(BigInt(offset) + this.offsetBase),
          logAppendTime: '-1',
          ...(this.produceVersion === 'v5+' ? {logStartOffset: '0'} : {}),
        })
      }
    }
    return metadata
  }

  /** What agent.send does. */
  send(topic: string, messages: Message[], timeoutMs?: number): Promise<RecordMetadata[]> {
    const payload: HeldBatch = {topicMessages: [{topic, messages}]}
    const held = this.gates.admitSend([topic], messages.length, timeoutMs, payload)
    if (!held) throw new Error('expected the send to be held')
    return held
  }

  /** What agent.sendBatch does. */
  sendMany(topicMessages: Array<{topic: string; messages: Message[]}>, timeoutMs?: number): Promise<RecordMetadata[]> {
    const topics = [...new Set(topicMessages.map((t) => t.topic))]
    const records = topicMessages.reduce((sum, t) => sum + t.messages.length, 0)
    const held = this.gates.admitSend(topics, records, timeoutMs, {topicMessages})
    if (!held) throw new Error('expected the send to be held')
    return held
  }

  /** The value the fake broker holds at a send's metadata entry. */
  at(metadata: RecordMetadata): string | undefined {
    return this.log.get(`${metadata.topicName}/${metadata.partition}`)?.[Number(BigInt(metadata.baseOffset!) - this.offsetBase)]
  }

  async pause(topic: string): Promise<void> {
    const gate = this.gates.get(topic)!
    gate.paused = true
    await this.gates.close(gate)
  }

  resume(topic: string): void {
    this.gates.get(topic)!.paused = false
    this.gates.open(topic)
  }
}

const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => value,
    (error: Error) => error.name,
  )

describe('Releaser: held sends after a resume', () => {
  it('writes them in call order in merged batches; every caller gets the metadata of its own records', async () => {
    const h = new Harness()
    const count = 12_000
    const sends = Array.from({length: count}, (_, i) => h.send('a', [{key: `k${i % 7}`, value: `v${i}`}]))
    const multi = h.send('a', [
      {key: 'k1', value: 'm0'},
      {key: 'k2', value: 'm1'},
      {key: 'k1', value: 'm2'},
    ])
    h.resume('a')
    const results = await Promise.all([...sends, multi])
    // Sequential batches, each bounded (by bytes here: more than one).
    expect(h.batches.length).toBeGreaterThan(1)
    expect(h.batches.every((b) => b.topicMessages!.every((t) => t.messages.length <= MAX_MERGED_MESSAGES))).toBe(true)
    for (const [key, values] of h.log) {
      const indices = values.map((v) => (v.startsWith('v') ? Number(v.slice(1)) : 1e9 + Number(v.slice(1))))
      expect(indices, key).toEqual([...indices].sort((x, y) => x - y))
    }
    const wrong = results.slice(0, count).flatMap((metadata, i) => {
      const [first] = metadata
      const ok =
        metadata.length === 1 &&
        first!.partition === partitionForKey(`k${i % 7}`, PARTITIONS) &&
        h.log.get(`a/${first!.partition}`)![Number(first!.baseOffset)] === `v${i}`
      return ok ? [] : [`send ${i}: ${JSON.stringify(metadata)}`]
    })
    expect(wrong).toEqual([])
    // A send spanning two partitions: one entry per partition, at its first record there.
    const spanning = results.at(-1)!
    expect(spanning.map((m) => [m.partition, h.log.get(`a/${m.partition}`)![Number(m.baseOffset)]]).sort()).toEqual(
      [
        [partitionForKey('k1', PARTITIONS), 'm0'],
        [partitionForKey('k2', PARTITIONS), 'm1'],
      ].sort(),
    )
    expect(h.gates.held.records).toBe(0)
  })

  it('a release with nothing to write (only a transaction waiting its turn) finishes, and drained() settles', async () => {
    const h = new Harness()
    // What a transaction's begin does while paused: wait its turn, with nothing to send.
    const turn = h.gates.admit(['a'])
    h.resume('a')
    await turn
    // Before the fix this spun the event loop forever: run() finished synchronously and left a settled promise behind.
    const drained = await Promise.race([
      h.releaser.drained().then(() => 'drained'),
      new Promise((resolve) => setTimeout(() => resolve('stuck'), 1000)),
    ])
    expect(drained).toBe('drained')
    expect(h.batches).toHaveLength(0)
  })

  it('new sends made while the release is still writing queue behind it', async () => {
    const h = new Harness()
    let unblock!: () => void
    h.gate = new Promise<void>((resolve) => (unblock = resolve))
    const first = h.send('a', [{key: 'k', value: 'held'}])
    h.resume('a')
    expect(h.batches).toHaveLength(1)
    // The topic is open, but its held send is not written yet: this one must not go around it.
    const later = h.gates.admitSend(['a'], 1, undefined, {topicMessages: [{topic: 'a', messages: [{key: 'k', value: 'later'}]}]})
    expect(later).toBeInstanceOf(Promise)
    h.gate = undefined
    unblock()
    await Promise.all([first, later])
    expect(h.log.get(`a/${partitionForKey('k', PARTITIONS)}`)).toEqual(['held', 'later'])
    // Nothing held any more: sends go straight to the producer again.
    expect(h.gates.admitSend(['a'], 1, undefined, {topicMessages: [{topic: 'a', messages: [{key: 'k', value: 'direct'}]}]})).toBeUndefined()
  })

  it('a pause in the middle of a release: what is not written yet waits for the next resume, in order', async () => {
    const h = new Harness()
    let unblock!: () => void
    h.gate = new Promise<void>((resolve) => (unblock = resolve))
    const sends = Array.from({length: MAX_MERGED_MESSAGES + 5}, (_, i) => h.send('a', [{key: 'k', value: `v${i}`}]))
    h.resume('a')
    const paused = h.pause('a')
    h.gate = undefined
    unblock()
    await paused
    // The first batch was in flight (the pause waited for it); the rest went back to the queue.
    expect(h.batches).toHaveLength(1)
    const first = h.batches[0]!.topicMessages![0]!.messages.length
    expect(first).toBeLessThan(MAX_MERGED_MESSAGES + 5)
    expect(h.gates.held.records).toBe(MAX_MERGED_MESSAGES + 5 - first)
    h.resume('a')
    await Promise.all(sends)
    expect(h.log.get(`a/${partitionForKey('k', PARTITIONS)}`)).toEqual(Array.from({length: MAX_MERGED_MESSAGES + 5}, (_, i) => `v${i}`))
  })

  it('a failed batch fails the sends merged into it, and the release goes on', async () => {
    const h = new Harness()
    const sends = Array.from({length: MAX_MERGED_MESSAGES + 1}, (_, i) => settle(h.send('a', [{key: 'k', value: `v${i}`}])))
    h.failNext = Object.assign(new Error('broker gone'), {name: 'KafkaJSError'})
    h.resume('a')
    const results = await Promise.all(sends)
    const failed = h.batches[0]!.topicMessages![0]!.messages.length
    expect(results.slice(0, failed).every((r) => r === 'KafkaJSError')).toBe(true)
    expect(results.slice(failed).map((r) => (Array.isArray(r) ? Number(r[0]!.baseOffset) : r))).toEqual(
      results.slice(failed).map((_, i) => i),
    )
  })

  it('the cap fails a send fast; a deadline drops one held send and keeps the others in order', async () => {
    const h = new Harness(3)
    const a = h.send('a', [{key: 'k', value: 'a'}])
    const expiring = settle(h.send('a', [{key: 'k', value: 'expiring'}], 20))
    const b = h.send('a', [{key: 'k', value: 'b'}])
    await expect(h.send('a', [{key: 'k', value: 'c'}])).rejects.toBeInstanceOf(HeldSendsFullError)
    expect(await expiring).toBe('SendDeadlineError')
    expect(h.gates.held.records).toBe(2)
    await expect(h.send('a', [{key: 'k', value: 'late'}], 1)).rejects.toBeInstanceOf(SendDeadlineError)
    h.resume('a')
    await Promise.all([a, b])
    expect(h.log.get(`a/${partitionForKey('k', PARTITIONS)}`)).toEqual(['a', 'b'])
  })

  it('a waiter without payload (a transaction begin) is let through once everything before it is written', async () => {
    const h = new Harness()
    const order: string[] = []
    void h.send('a', [{key: 'k', value: 'v'}]).then(() => order.push('send'))
    void h.gates.admit(['a', 'b']).then(() => order.push('begin'))
    h.resume('b')
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual([])
    h.resume('a')
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(order).toEqual(['send', 'begin'])
  })

  it('a sendBatch over several topics gets one entry per topic and partition, at its own first record there', async () => {
    const h = new Harness()
    const before = h.send('a', [{key: 'k1', value: 'a-before'}])
    const batch = h.sendMany([
      {
        topic: 'a',
        messages: [
          {key: 'k1', value: 'a0'},
          {key: 'k2', value: 'a1'},
          {key: 'k1', value: 'a2'},
        ],
      },
      {topic: 'b', messages: [{key: 'k3', value: 'b0'}]},
    ])
    const after = h.send('b', [{key: 'k3', value: 'b-after'}])
    h.resume('b')
    h.resume('a')
    const [first, own, last] = await Promise.all([before, batch, after])
    expect(first.map((m) => h.at(m))).toEqual(['a-before'])
    expect(own.map((m) => `${m.topicName}:${h.at(m)}`).sort()).toEqual(['a:a0', 'a:a1', 'b:b0'])
    expect(last.map((m) => h.at(m))).toEqual(['b-after'])
    // The broker's other fields come through on every caller's copy.
    expect(own.every((m) => m.logAppendTime === '-1')).toBe(true)
    expect(h.batches).toHaveLength(1)
    expect(h.gates.held.records).toBe(0)
  })

  it("each one-record send gets an answer of its own, in kafkajs's fields, and the batch is reported written", async () => {
    const h = new Harness()
    const sends = Array.from({length: 6}, (_, i) => h.send('a', [{key: `k${i % 2}`, value: `v${i}`}]))
    h.resume('a')
    const results = await Promise.all(sends)
    for (const [i, result] of results.entries()) {
      expect(result).toHaveLength(1)
      const [own] = result
      expect(Object.keys(own!).sort()).toEqual(['baseOffset', 'errorCode', 'logAppendTime', 'logStartOffset', 'partition', 'topicName'])
      expect(own).toMatchObject({topicName: 'a', partition: partitionForKey(`k${i % 2}`, PARTITIONS), errorCode: 0, logStartOffset: '0'})
      expect(h.at(own!)).toBe(`v${i}`)
    }
    // Answers are not shared: a caller changing its own leaves the others alone.
    expect(new Set(results.map(([own]) => own)).size).toBe(6)
    results[0]![0]!.baseOffset = '999'
    expect(h.at(results[2]![0]!)).toBe('v2')
    expect(h.written).toHaveLength(1)
    expect(h.written[0]!.map((m) => m.partition).sort()).toEqual([...new Set(results.map(([own]) => own!.partition))].sort())
  })

  it("an answer in other fields than kafkajs's (produce v3) is copied field for field", async () => {
    const h = new Harness()
    h.produceVersion = 'v3'
    const sends = Array.from({length: 3}, (_, i) => h.send('a', [{key: 'k', value: `v${i}`}]))
    h.resume('a')
    const results = await Promise.all(sends)
    for (const [i, [own]] of results.entries()) {
      expect(Object.keys(own!).sort()).toEqual(['baseOffset', 'errorCode', 'logAppendTime', 'partition', 'topicName'])
      expect(h.at(own!)).toBe(`v${i}`)
    }
  })

  it('offsets past 2^53 are counted exactly', async () => {
    const h = new Harness()
    h.offsetBase = 2n ** 60n
    const sends = Array.from({length: 5}, (_, i) => h.send('a', [{key: 'k', value: `v${i}`}]))
    h.resume('a')
    const results = await Promise.all(sends)
    expect(results.map(([m]) => BigInt(m!.baseOffset!) - 2n ** 60n)).toEqual([0n, 1n, 2n, 3n, 4n])
  })

  it('without the partitioner observed, callers get the merged batch metadata and one warning', async () => {
    const h = new Harness()
    h.observe = false
    const sends = Array.from({length: 3}, (_, i) => h.send('a', [{key: `k${i}`, value: `v${i}`}]))
    h.resume('a')
    const results = await Promise.all(sends)
    expect(results.every((metadata) => metadata.length > 0 && metadata.every((m) => m.topicName === 'a'))).toBe(true)
    expect(h.warnings).toHaveLength(1)
  })

  it('sends a pause gives back to the queue keep the deadline of their call', async () => {
    // Fake deadline clock: the test decides when the deadline passes, however slow the machine.
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'performance']})
    try {
      const h = new Harness()
      let unblock!: () => void
      h.gate = new Promise<void>((resolve) => (unblock = resolve))
      const sends = Array.from({length: MAX_MERGED_MESSAGES + 2}, (_, i) => settle(h.send('a', [{key: 'k', value: `v${i}`}], 1000)))
      h.resume('a')
      const paused = h.pause('a')
      h.gate = undefined
      unblock()
      await paused
      const requeued = h.gates.held.records
      expect(requeued).toBeGreaterThan(0)
      expect(vi.getTimerCount()).toBe(1)
      // Still paused past their deadline: they fail; those written before the pause keep their metadata.
      vi.advanceTimersByTime(1000)
      const results = await Promise.all(sends)
      expect(results.slice(0, results.length - requeued).every((r) => Array.isArray(r))).toBe(true)
      expect(results.slice(results.length - requeued)).toEqual(Array.from({length: requeued}, () => 'SendDeadlineError'))
      expect(h.gates.held.records).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it('a failed batch leaves nothing counted and later sends go straight to the producer', async () => {
    const h = new Harness()
    const sends = Array.from({length: 10}, (_, i) => settle(h.send('a', [{key: 'k', value: `v${i}`}])))
    h.failNext = new Error('broker gone')
    h.resume('a')
    expect(await Promise.all(sends)).toEqual(Array.from({length: 10}, () => 'Error'))
    expect(h.gates.held.records).toBe(0)
    expect(h.gates.held.holdsAny(['a'])).toBe(false)
  })
})

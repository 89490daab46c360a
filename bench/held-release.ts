/**
 * Benchmark (not a test, no broker): how long the kafkajs agent takes to release sends held by a
 * pause once the resume opens the topic (issue 14: 100k held sends released in < 100 ms).
 *
 *   node dist/bench/held-release.js [--counts 10000,100000] [--reps 15]
 *
 * One repetition: N sends of one record each are made while the topic is paused (through the agent's
 * own gate, held-send queue and releaser, as `agent.send` does), then the gate opens. Measured from
 * the open until every held send has been answered with its own record metadata; the producer is a
 * stub whose sendBatch answers at once (the releaser merges held sends into bounded batches written
 * one after another), so Kafka's own time is not part of it. Wall clock and this process's CPU time,
 * which a loaded shared machine distorts much less. Variants: without and with a per-send deadline
 * (`sendTimeoutMs`; the agent keeps one timer for all held sends' deadlines), and the floor: the
 * same callers awaiting bare promises answered with fresh metadata, no agent, which is what any API
 * returning a promise per send (kafkajs's included) pays on this machine. Variants are interleaved
 * per repetition; `overFloor` is the agent's median over the floor's. Results:
 * bench/results/held-release.json.
 */
import {performance} from 'node:perf_hooks'

import type {TransactionTracker} from '../src/agent/transactions.js'
import type {ProducerBatch, RecordMetadata} from '../src/kafka/client.js'

import {PauseGates} from '../src/agent/gate.js'
import {HeldSends} from '../src/agent/held-sends.js'
import {AgentLifecycle} from '../src/agent/options.js'
import {Releaser} from '../src/agent/release.js'
import {arg, isMain, machine, median, round, writeResult} from './common.js'

const TOPIC = 'orders'
/** Issue 14's target for 100k held sends. */
const TARGET_MS = 100

interface Sample {
  wallMs: number
  cpuMs: number
  /** Merged sendBatch calls the release took (0 for the floor). */
  batches: number
}

/**
 * Between the pause and the resume a grow drains, alters and primes (seconds): by the resume the
 * heap has settled. A benchmark that opened the gate the instant the last send was held would time
 * the garbage collector finishing the hold instead of the release.
 */
const SETTLE_MS = 200

/** No transactions are open: closing and opening a gate never waits on them. */
const noTransactions = {openCount: 0, openTransactions: [], async waitForMarkers() {}} as unknown as TransactionTracker

/** What kafkajs answers for a partition (produce v7): the agent hands each caller these fields. */
const producedAt = (baseOffset: string): RecordMetadata => ({
  topicName: TOPIC,
  partition: 0,
  errorCode: 0,
  baseOffset,
  logAppendTime: '-1',
  logStartOffset: '0',
})

/**
 * The callers: `count` sends of one record, each awaiting its own record metadata and checking it
 * is its own (offsets in call order). `call` makes the i-th send's promise; `open` answers them all.
 */
async function timeCallers(
  count: number,
  call: (i: number) => Promise<RecordMetadata[]>,
  open: () => void,
): Promise<Omit<Sample, 'batches'>> {
  let written = 0
  let allWritten!: () => void
  const done = new Promise<void>((resolve) => (allWritten = resolve))
  const caller = async (i: number) => {
    const [meta] = await call(i)
    if (Number(meta!.baseOffset) !== i) throw new Error(`send ${i} was written at offset ${meta!.baseOffset}`)
    if (++written === count) allWritten()
  }
  for (let i = 0; i < count; i++) void caller(i)
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const cpu = process.cpuUsage()
  const started = performance.now()
  open()
  await done
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {wallMs, cpuMs: (used.user + used.system) / 1000}
}

/** The held sends released through the agent's own gate, held-send queue and releaser. */
async function agentOnce(count: number, deadlineMs: number | undefined): Promise<Sample> {
  const lifecycle = new AgentLifecycle()
  lifecycle.ready = true
  // The agent's own pieces (src/agent/index.ts wires them the same way); only the producer is a stub.
  const releaser: Releaser = new Releaser({
    held: () => gates.held,
    isOpen: (topics) => gates.isOpen(topics),
    lifecycle,
    sendBatch: (batch, topics) => gates.track(topics, () => producerSendBatch(batch)),
    // The stub has one partition: what the producer's partitioner would report.
    capture: (_topic, messages) => ({partitions: new Int32Array(messages.length), done() {}}),
    warn() {},
  })
  const gates: PauseGates = new PauseGates({
    topics: [TOPIC],
    lifecycle,
    transactions: noTransactions,
    held: new HeldSends({
      limit: Number.MAX_SAFE_INTEGER,
      maxRecords: Number.MAX_SAFE_INTEGER,
      warn() {},
      release: (sends) => releaser.accept(sends),
    }),
    onOpened() {},
  })
  let nextOffset = 0
  let batches = 0
  const producerSendBatch = async (batch: ProducerBatch): Promise<RecordMetadata[]> => {
    batches++
    const messages = (batch.topicMessages ?? []).reduce((sum, t) => sum + t.messages.length, 0)
    const baseOffset = String(nextOffset)
    nextOffset += messages
    return [producedAt(baseOffset)]
  }
  // What `agent.send` does while the topic is paused.
  const send = (i: number) => {
    const held = gates.admitSend([TOPIC], 1, deadlineMs, {topicMessages: [{topic: TOPIC, messages: [{key: `k${i % 64}`, value: 'v'}]}]})
    if (!held) throw new Error('the topic was expected to be paused')
    return held
  }
  const timing = await timeCallers(count, send, () => {
    if (gates.held.records !== count) throw new Error(`expected ${count} held records, got ${gates.held.records}`)
    gates.open(TOPIC)
  })
  return {...timing, batches}
}

/**
 * The floor under any API that answers each send with a promise, as kafkajs's does: the same callers
 * await bare promises, answered in call order with fresh metadata of their own. No agent, no queue.
 */
async function floorOnce(count: number): Promise<Sample> {
  const answers: Array<(metadata: RecordMetadata[]) => void> = new Array(count)
  const call = (i: number) => new Promise<RecordMetadata[]>((resolve) => (answers[i] = resolve))
  const timing = await timeCallers(count, call, () => {
    for (let i = 0; i < count; i++) answers[i]!([producedAt(String(i))])
  })
  return {...timing, batches: 0}
}

const FLOOR = 'floor: bare promises answered with their own metadata (no agent)'

export async function heldReleaseBench(options: {counts: number[]; reps: number; log: (line: string) => void}): Promise<object> {
  const variants: Array<{name: string; run: (count: number) => Promise<Sample>}> = [
    {name: 'no deadline', run: (count) => agentOnce(count, undefined)},
    {name: 'sendTimeoutMs 60000 (one timer for all held sends)', run: (count) => agentOnce(count, 60_000)},
    {name: FLOOR, run: floorOnce},
  ]
  // One throwaway round so the first measured repetition does not pay for JIT compilation.
  for (const variant of variants) await variant.run(Math.min(...options.counts))
  const results = []
  for (const count of options.counts) {
    // Interleaved: each repetition runs every variant, so a slow moment of a shared machine hits all of them.
    const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]))
    for (let rep = 0; rep < options.reps; rep++) {
      for (const variant of variants) samples.get(variant.name)!.push(await variant.run(count))
    }
    const floor = median(samples.get(FLOOR)!.map((s) => s.wallMs))
    for (const variant of variants) {
      const taken = samples.get(variant.name)!
      const wall = taken.map((s) => s.wallMs)
      const cpu = taken.map((s) => s.cpuMs)
      const result = {
        heldSends: count,
        variant: variant.name,
        median: {wallMs: round(median(wall)), cpuMs: round(median(cpu))},
        min: {wallMs: round(Math.min(...wall)), cpuMs: round(Math.min(...cpu))},
        max: {wallMs: round(Math.max(...wall)), cpuMs: round(Math.max(...cpu))},
        n: taken.length,
        mergedBatches: taken[0]!.batches,
        ...(variant.name === FLOOR ? {} : {overFloor: round(median(wall) / floor)}),
      }
      options.log(`held=${count} ${variant.name}: median ${result.median.wallMs} ms wall, ${result.median.cpuMs} ms CPU`)
      results.push(result)
    }
  }
  return {
    machine: machine(),
    params: {
      counts: options.counts,
      repetitions: options.reps,
      warmup: 1,
      recordsPerSend: 1,
      settleMs: SETTLE_MS,
      targetMs: {heldSends: 100_000, ms: TARGET_MS},
    },
    definition:
      "from the gate opening (the resume) until every held send is answered with its own record metadata, in call order (checked), through merged sendBatch calls to a producer stub answering at once as kafkajs does; the sends are held, then the process idles settleMs (a grow drains and alters between pause and resume); wall clock and this process CPU time; median over interleaved repetitions. overFloor: the median over the floor variant's, the same callers awaiting bare promises answered with fresh metadata, the cost of any promise-per-send API",
    results,
  }
}

if (isMain(import.meta.url)) {
  const counts = arg('counts', '10000,100000').split(',').map(Number)
  const reps = Math.max(3, Number(arg('reps', '15')))
  const report = await heldReleaseBench({counts, reps, log: (line) => process.stderr.write(`${line}\n`)})
  process.stdout.write(`${writeResult('held-release', report)}\n`)
  process.exit(0)
}

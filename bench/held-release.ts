/**
 * Benchmark (not a test, no broker): how long the kafkajs agent takes to release sends held by a
 * pause once the resume opens the topic (issue 14: 100k held sends released in < 100 ms).
 *
 *   node dist/bench/held-release.js [--counts 10000,100000] [--reps 9]
 *
 * One repetition: N sends of one record each are made while the topic is paused (through the agent's
 * own gate, held-send queue and releaser, as `agent.send` does), then the gate opens. Measured from
 * the open until every held send has been answered with its own record metadata; the producer is a
 * stub whose sendBatch answers at once (the releaser merges held sends into bounded batches written
 * one after another), so Kafka's own time is not part of it. Wall clock and this process's CPU time,
 * which a loaded shared machine distorts much less. Variants: without and with a per-send deadline
 * (`sendTimeoutMs`; the agent keeps one timer for all held sends' deadlines). Results:
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
  /** Merged sendBatch calls the release took. */
  batches: number
}

/** No transactions are open: closing and opening a gate never waits on them. */
const noTransactions = {openCount: 0, openTransactions: [], async waitForMarkers() {}} as unknown as TransactionTracker

async function once(count: number, deadlineMs: number | undefined): Promise<Sample> {
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
    return [{topicName: TOPIC, partition: 0, errorCode: 0, baseOffset}]
  }
  let written = 0
  let allWritten!: () => void
  const done = new Promise<void>((resolve) => (allWritten = resolve))
  // What `agent.send` does: a held send resolves with its own record metadata once written.
  const agentSend = async (i: number) => {
    const held = gates.admitSend([TOPIC], 1, deadlineMs, {topicMessages: [{topic: TOPIC, messages: [{key: `k${i % 64}`, value: 'v'}]}]})
    if (!held) throw new Error('the topic was expected to be paused')
    const [meta] = await held
    if (Number(meta!.baseOffset) !== i) throw new Error(`send ${i} was written at offset ${meta!.baseOffset}`)
    if (++written === count) allWritten()
  }
  for (let i = 0; i < count; i++) void agentSend(i)
  if (gates.held.records !== count) throw new Error(`expected ${count} held records, got ${gates.held.records}`)
  const cpu = process.cpuUsage()
  const started = performance.now()
  gates.open(TOPIC)
  await done
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return {wallMs, cpuMs: (used.user + used.system) / 1000, batches}
}

export async function heldReleaseBench(options: {counts: number[]; reps: number; log: (line: string) => void}): Promise<object> {
  const variants = [
    {name: 'no deadline', deadlineMs: undefined},
    {name: 'sendTimeoutMs 60000 (one timer for all held sends)', deadlineMs: 60_000},
  ]
  // One throwaway round so the first measured repetition does not pay for JIT compilation.
  for (const variant of variants) await once(Math.min(...options.counts), variant.deadlineMs)
  const results = []
  for (const count of options.counts) {
    for (const variant of variants) {
      const samples: Sample[] = []
      for (let rep = 0; rep < options.reps; rep++) {
        samples.push(await once(count, variant.deadlineMs))
        await new Promise((resolve) => setImmediate(resolve))
      }
      const wall = samples.map((s) => s.wallMs)
      const cpu = samples.map((s) => s.cpuMs)
      const result = {
        heldSends: count,
        variant: variant.name,
        median: {wallMs: round(median(wall)), cpuMs: round(median(cpu))},
        min: {wallMs: round(Math.min(...wall)), cpuMs: round(Math.min(...cpu))},
        max: {wallMs: round(Math.max(...wall)), cpuMs: round(Math.max(...cpu))},
        n: samples.length,
        mergedBatches: samples[0]!.batches,
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
      targetMs: {heldSends: 100_000, ms: TARGET_MS},
    },
    definition:
      'from the gate opening (the resume) until every held send is answered with its own record metadata, in call order (checked), through merged sendBatch calls to a producer stub answering at once; wall clock and this process CPU time; median over repetitions',
    results,
  }
}

if (isMain(import.meta.url)) {
  const counts = arg('counts', '10000,100000').split(',').map(Number)
  const reps = Math.max(3, Number(arg('reps', '9')))
  const report = await heldReleaseBench({counts, reps, log: (line) => process.stderr.write(`${line}\n`)})
  process.stdout.write(`${writeResult('held-release', report)}\n`)
  process.exit(0)
}

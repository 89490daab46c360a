import {mkdirSync, writeFileSync} from 'node:fs'
/**
 * Benchmark (not a test): pause-ack latency for 1, 10 and 50 producer agents on a real broker.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 node dist/bench/pause-ack.js [--agents 1,10,50] [--reps 7]
 *
 * Latency of one agent = from just before the orchestrator appends `pause` to the moment its ack
 * is read back from the control topic (what `grow` waits for). Each agent sends keyed records at a
 * steady rate, so the pause includes flushing in-flight sends. Results: bench/results/pause-ack.json.
 */
import {cpus, hostname, release, totalmem} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

import {createProducerAgent, type ProducerAgent} from '../src/agent/index.js'
import {ControlChannel, localHolder} from '../src/control/channel.js'
import {createKafkaClient} from '../src/kafka/client.js'
import {KafkajsCluster} from '../src/kafka/kafkajs-cluster.js'
import {KAFKA_VERSION} from '../src/local-kafka/index.js'

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`)
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1]! : fallback
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
const round = (n: number) => Math.round(n * 100) / 100
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function main(): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS
  if (!brokers) throw new Error('set KAFKA_BROKERS=host:port')
  const agentCounts = arg('agents', '1,10,50').split(',').map(Number)
  const reps = Math.max(5, Number(arg('reps', '7')))
  const sendIntervalMs = Number(arg('send-interval', '10'))
  const connection = {brokers: brokers.split(','), clientId: 'kreorg-bench', connectTimeoutMs: 10_000}
  const suffix = Math.random().toString(16).slice(2, 8)
  const controlTopic = `kreorg-bench-control-${suffix}`
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  const channel = await ControlChannel.open(connection, {controlTopic, create: true})
  const results = []
  try {
    for (const count of agentCounts) {
      const topic = `kreorg-bench-${count}-${suffix}`
      await cluster.createTopic({topic, partitions: 6, replicationFactor: 1})
      const kafka = createKafkaClient(connection)
      const agents: ProducerAgent[] = []
      for (let i = 0; i < count; i++)
        agents.push(await createProducerAgent({kafka, topics: [topic], controlTopic, heartbeatMs: 2000, logger: {warn() {}}}))
      let running = true
      const traffic = agents.map(async (agent, i) => {
        for (let seq = 0; running; seq++) {
          void agent.send({topic, messages: [{key: `a${i}-k${seq % 8}`, value: String(seq)}]}).catch(() => {})
          await sleep(sendIntervalMs)
        }
      })
      const runId = `bench-${count}-${suffix}`
      const lease = await channel.acquireLease(topic, localHolder(runId), 60_000)
      const agentIds = agents.map((a) => a.agentId)
      const repetitions = []
      for (let rep = 1; rep <= reps; rep++) {
        await sleep(300)
        const latencies: number[] = []
        const started = performance.now()
        await channel.pause(topic, {runId, epoch: rep, lease})
        await channel.waitForAcks(topic, {
          runId,
          epoch: rep,
          agentIds,
          state: 'paused',
          timeoutMs: 60_000,
          onAck: () => latencies.push(performance.now() - started),
        })
        const allAcked = performance.now() - started
        await channel.resume(topic, {runId, epoch: rep, lease})
        await channel.waitForAcks(topic, {runId, epoch: rep, agentIds, state: 'resumed', timeoutMs: 60_000})
        latencies.sort((a, b) => a - b)
        repetitions.push({
          rep,
          allAckedMs: round(allAcked),
          p50Ms: round(percentile(latencies, 50)),
          p99Ms: round(percentile(latencies, 99)),
          maxMs: round(latencies.at(-1)!),
        })
        process.stderr.write(`agents=${count} rep=${rep}: all acked in ${round(allAcked)}ms (p50 ${round(percentile(latencies, 50))}ms)\n`)
      }
      running = false
      await Promise.all(traffic)
      await lease.release()
      await Promise.all(agents.map((a) => a.close()))
      await cluster.deleteTopics([topic]).catch(() => {})
      results.push({
        agents: count,
        repetitions,
        median: {
          p50Ms: round(median(repetitions.map((r) => r.p50Ms))),
          p99Ms: round(median(repetitions.map((r) => r.p99Ms))),
          allAckedMs: round(median(repetitions.map((r) => r.allAckedMs))),
        },
      })
    }
  } finally {
    await channel.close()
    await cluster.deleteTopics([controlTopic]).catch(() => {})
    await cluster.close()
  }
  const report = {
    benchmark: 'pause-ack',
    date: new Date().toISOString(),
    kafka: {
      version: process.env.KAFKA_VERSION ?? KAFKA_VERSION,
      versionSource: process.env.KAFKA_VERSION ? 'KAFKA_VERSION env' : 'kreorg local Kafka version (broker not asked)',
      brokers: connection.brokers.length,
      sameHost: connection.brokers.every((b) => b.startsWith('127.0.0.1') || b.startsWith('localhost')),
    },
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 2 ** 30),
      os: release(),
      host: hostname(),
      node: process.version,
    },
    params: {
      agentCounts,
      repetitions: reps,
      sendIntervalMs,
      partitions: 6,
      heartbeatMs: 2000,
      note: 'all agents in one Node process, each with its own producer and control consumer',
    },
    definition:
      'per agent: time from just before the pause command is appended to its ack being read back by the orchestrator; p50/p99 over agents within a repetition; median over repetitions',
    results,
  }
  const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results/pause-ack.json')
  mkdirSync(path.dirname(out), {recursive: true})
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`)
  process.stdout.write(`${JSON.stringify(results.map((r) => ({agents: r.agents, ...r.median})))}\n${out}\n`)
  process.exit(0)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})

/**
 * Benchmark (not a test): pause-ack latency per agent kind — the kafkajs, Java and Python agents, each
 * in its own process (its conformance driver, test/conformance/README.md), one agent at a time.
 *
 *   KAFKA_BROKERS=127.0.0.1:19092 node dist/bench/pause-ack-kinds.js [--kinds kafkajs,java,python] [--reps 7]
 *
 * Needs the Java driver jar and the Python venv (`npm run test:agents` leaves both). Latency = from
 * just before the orchestrator appends `pause` to the moment the agent's ack is read back from the
 * control topic, while the agent sends a keyed record every --send-interval ms. Written into
 * bench/results/pause-ack.json as `byAgentKind` (the rest of the file, bench/pause-ack.ts's, is kept).
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {createInterface} from 'node:readline'
import ts from 'typescript'

import {ControlChannel, localHolder} from '../src/control/channel.js'
import {KafkajsCluster} from '../src/kafka/kafkajs-cluster.js'
import {machine, median, REPO_ROOT, RESULTS_DIR, round} from './common.js'

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`)
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1]! : fallback
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The kafkajs conformance driver is TypeScript importing `kreorg/agent` (the built package). */
function kafkajsDriver(): string {
  const source = path.join(REPO_ROOT, 'test/conformance/drivers/kafkajs-driver.ts')
  const out = path.join(REPO_ROOT, '.kreorg-test', 'bench', 'kafkajs-driver.mjs')
  const output = ts.transpileModule(readFileSync(source, 'utf8'), {
    fileName: source,
    compilerOptions: {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true},
  })
  mkdirSync(path.dirname(out), {recursive: true})
  writeFileSync(out, output.outputText)
  return out
}

function command(kind: string): string[] {
  switch (kind) {
    case 'kafkajs': {
      return [process.execPath, kafkajsDriver()]
    }

    case 'java': {
      const jar = path.join(REPO_ROOT, 'agents/java/target/kreorg-agent-driver.jar')
      if (!existsSync(jar)) throw new Error(`${jar} is missing: npm run test:agents (or mvn -DskipTests package in agents/java)`)
      return ['java', '-cp', jar, 'dev.kreorg.agent.ConformanceDriver']
    }

    case 'python': {
      const python = path.join(REPO_ROOT, 'agents/python/.venv/bin/python')
      if (!existsSync(python)) throw new Error(`${python} is missing: agents/python/setup-venv.sh`)
      return [python, '-m', 'kreorg_agent.conformance_driver']
    }

    default: {
      throw new Error(`unknown agent kind ${kind} (kafkajs, java, python)`)
    }
  }
}

interface Running {
  child: ChildProcess
  stop: () => Promise<void>
}

/** Starts a driver, waits for `ready`, then sends a keyed record every `intervalMs` until stopped. */
async function startDriver(kind: string, env: Record<string, string>, intervalMs: number): Promise<Running> {
  const [cmd, ...args] = command(kind)
  const child = spawn(cmd!, args, {cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, ...env}})
  const stderr: string[] = []
  createInterface({input: child.stderr!}).on('line', (line) => stderr.push(line) > 50 && stderr.shift())
  const lines = createInterface({input: child.stdout!})
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} driver not ready in 120 s\n${stderr.join('\n')}`)), 120_000)
    child.once('exit', (code) => reject(new Error(`${kind} driver exited (${code})\n${stderr.join('\n')}`)))
    lines.on('line', (line) => {
      if (line.includes('"ready"')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  let running = true
  let id = 0
  const traffic = (async () => {
    for (let seq = 0; running; seq++) {
      child.stdin!.write(`${JSON.stringify({op: 'send', id: ++id, key: `k${seq % 8}`, value: String(seq)})}\n`)
      await sleep(intervalMs)
    }
  })()
  return {
    child,
    async stop() {
      running = false
      await traffic
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin!.write(`${JSON.stringify({op: 'close', id: ++id})}\n`)
      await Promise.race([exited, sleep(60_000)])
      child.kill()
    },
  }
}

async function main(): Promise<void> {
  const brokers = process.env.KAFKA_BROKERS
  if (!brokers) throw new Error('set KAFKA_BROKERS=host:port')
  const kinds = arg('kinds', 'kafkajs,java,python').split(',').filter(Boolean)
  const reps = Math.max(5, Number(arg('reps', '7')))
  const sendIntervalMs = Number(arg('send-interval', '10'))
  const connection = {brokers: brokers.split(','), clientId: 'kreorg-bench', connectTimeoutMs: 10_000}
  const suffix = Math.random().toString(16).slice(2, 8)
  const controlTopic = `kreorg-bench-kinds-control-${suffix}`
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  const channel = await ControlChannel.open(connection, {controlTopic, create: true})
  const results = []
  try {
    for (const kind of kinds) {
      const topic = `kreorg-bench-kind-${kind}-${suffix}`
      await cluster.createTopic({topic, partitions: 6, replicationFactor: 1})
      const agentId = `bench-${kind}-${suffix}`
      const driver = await startDriver(
        kind,
        {
          KREORG_BROKERS: brokers,
          KREORG_TOPIC: topic,
          KREORG_CONTROL_TOPIC: controlTopic,
          KREORG_AGENT_ID: agentId,
          KREORG_HEARTBEAT_MS: '2000',
        },
        sendIntervalMs,
      )
      const runId = `bench-${kind}-${suffix}`
      const lease = await channel.acquireLease(topic, localHolder(runId), 120_000)
      const latencies: number[] = []
      try {
        await sleep(2000) // past start-up: the producer is connected and the send loop is running
        for (let rep = 1; rep <= reps; rep++) {
          await sleep(300)
          const started = performance.now()
          let acked = Number.NaN
          await channel.pause(topic, {runId, epoch: rep, lease})
          await channel.waitForAcks(topic, {
            runId,
            epoch: rep,
            agentIds: [agentId],
            state: 'paused',
            timeoutMs: 60_000,
            onAck() {
              acked = performance.now() - started
            },
          })
          await channel.resume(topic, {runId, epoch: rep, lease})
          await channel.waitForAcks(topic, {runId, epoch: rep, agentIds: [agentId], state: 'resumed', timeoutMs: 60_000})
          latencies.push(round(acked))
          process.stderr.write(`${kind} rep=${rep}: pause acked in ${round(acked)} ms\n`)
        }
      } finally {
        await lease.release()
        await driver.stop()
        await cluster.deleteTopics([topic]).catch(() => {})
      }
      const sorted = [...latencies].sort((a, b) => a - b)
      results.push({kind, latenciesMs: latencies, medianMs: round(median(latencies)), minMs: sorted[0], maxMs: sorted.at(-1)})
    }
  } finally {
    await channel.close()
    await cluster.deleteTopics([controlTopic]).catch(() => {})
    await cluster.close()
  }
  const file = path.join(RESULTS_DIR, 'pause-ack.json')
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {benchmark: 'pause-ack'}
  report.byAgentKind = {
    date: new Date().toISOString(),
    machine: machine(),
    params: {repetitions: reps, sendIntervalMs, partitions: 6, heartbeatMs: 2000, agentsPerKind: 1},
    definition:
      "one agent of each kind in its own process (its conformance driver, wrapping that language's producer), sending a keyed record every sendIntervalMs: time from just before the pause command is appended to its ack being read back; median over repetitions",
    results,
  }
  mkdirSync(RESULTS_DIR, {recursive: true})
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  process.stdout.write(`${JSON.stringify(results.map((r) => ({kind: r.kind, medianMs: r.medianMs, maxMs: r.maxMs})))}\n${file}\n`)
  process.exit(0)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})

/**
 * Shared plumbing for the benchmarks: machine facts, timing of child processes, statistics, Kafka's
 * own CLI tools from the same jars kreorg's local Kafka runs, and the result files.
 */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {cpus, hostname, release, tmpdir, totalmem} from 'node:os'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath, pathToFileURL} from 'node:url'

import {cachedKafkaJars, javaCommand, KAFKA_VERSION, type LocalKafka, startLocalKafka} from '../src/local-kafka/index.js'
import {isolatedXdgDirs, runCli, type XdgDirs} from '../src/process/run-cli.js'

/** Repository root, from dist/bench/common.js or bench/common.ts alike. */
export const REPO_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir)
  return dir
})()
export const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results')
export const KREORG_BIN = path.join(REPO_ROOT, 'bin', 'run.js')
/** A CLI run that outlives this was stuck, not slow (every benchmark that can take longer says so). */
const KREORG_TIMEOUT_MS = 30 * 60_000
/** GNU time: CPU seconds of a child process (Node cannot read a child's rusage). */
const TIME_BIN = '/usr/bin/time'

export interface BenchContext {
  brokers: string
  kafkaVersion: string
  /** `java -cp` value holding Kafka's CLI tools (the jars the local broker runs from). */
  toolsClasspath: string
  /** Smaller parameters for a smoke run (`--quick`). */
  quick: boolean
  log: (line: string) => void
}

export function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    os: release(),
    host: hostname(),
    node: process.version,
    note: 'shared 2-core VM: other sessions ran tests concurrently, so every figure is a median of interleaved repetitions',
  }
}

export const round = (n: number, digits = 2) => {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  return {median: round(median(sorted)), min: round(sorted[0] ?? Number.NaN), max: round(sorted.at(-1) ?? Number.NaN), n: sorted.length}
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`)
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1]! : fallback
}

export const hasFlag = (name: string) => process.argv.includes(`--${name}`)

/**
 * JVM options of Kafka's own `bin/kafka-run-class.sh` (KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS
 * defaults) and its tools-log4j level (WARN), so a tool run here costs what `kafka-topics.sh` costs.
 */
export const KAFKA_TOOL_JVM_OPTS = [
  '-Xmx256M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
  '-Dorg.slf4j.simpleLogger.logFile=System.err',
]

export const TOOL_CLASSES = {
  topics: 'org.apache.kafka.tools.TopicCommand',
  consumerGroups: 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
} as const

export interface TimedRun {
  ms: number
  /** User + system CPU of the child (via /usr/bin/time), when asked for with `cpu: true`. */
  cpuMs?: number
  code: number | null
  stdout: string
  stderr: string
}

/** Spawns a process and times it from spawn to exit (wall clock, as a user sees it). */
export function timed(
  command: string,
  args: string[],
  options: {env?: NodeJS.ProcessEnv; timeoutMs?: number; onLine?: (line: string) => void; cpu?: boolean} = {},
): Promise<TimedRun> {
  const cpuFile =
    options.cpu && existsSync(TIME_BIN)
      ? path.join(tmpdir(), `kreorg-bench-time-${process.pid}-${Math.random().toString(16).slice(2)}`)
      : undefined
  if (cpuFile) {
    args = ['-f', '%U %S', '-o', cpuFile, command, ...args]
    command = TIME_BIN
  }
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, {env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    let pending = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      if (!options.onLine) return
      pending += chunk.toString()
      let newline: number
      while ((newline = pending.indexOf('\n')) >= 0) {
        options.onLine(pending.slice(0, newline))
        pending = pending.slice(newline + 1)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined
    child.on('error', reject)
    child.on('close', (code) => {
      if (timer) clearTimeout(timer)
      const ms = performance.now() - started
      let cpuMs: number | undefined
      if (cpuFile) {
        try {
          const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number)
          cpuMs = ((user ?? Number.NaN) + (system ?? Number.NaN)) * 1000
        } catch {
          cpuMs = undefined
        }
        rmSync(cpuFile, {force: true})
      }
      resolve({ms, code, stdout, stderr, ...(cpuMs === undefined ? {} : {cpuMs})})
    })
  })
}

export function kafkaTool(
  ctx: BenchContext,
  tool: keyof typeof TOOL_CLASSES,
  args: string[],
  timeoutMs = 120_000,
  cpu = false,
): Promise<TimedRun> {
  return timed(javaCommand(), ['-cp', ctx.toolsClasspath, ...KAFKA_TOOL_JVM_OPTS, TOOL_CLASSES[tool], ...args], {timeoutMs, cpu})
}

/** One set of empty XDG dirs for every CLI run of a benchmark: no user profile or run state skews it. */
let benchXdg: XdgDirs | undefined

/** The kreorg CLI, timed from spawn to exit (through the same helper the demo and the tests use). */
export async function kreorg(
  args: string[],
  options: {env?: NodeJS.ProcessEnv; timeoutMs?: number; onLine?: (line: string) => void} = {},
): Promise<TimedRun> {
  const {onLine} = options
  const run = await runCli(args, {
    bin: KREORG_BIN,
    timeoutMs: options.timeoutMs ?? KREORG_TIMEOUT_MS,
    xdg: (benchXdg ??= isolatedXdgDirs('kreorg-bench-xdg-')),
    ...(options.env ? {env: options.env} : {}),
    ...(onLine ? {onLine: (line: string) => onLine(line)} : {}),
  })
  return {ms: run.durationMs, code: run.code, stdout: run.stdout, stderr: run.stderr}
}

/** The jars src/local-kafka downloads (cache dir), else the sandbox copy, else KAFKA_TOOLS_CLASSPATH. */
export async function toolsClasspath(local?: LocalKafka): Promise<string> {
  if (process.env.KAFKA_TOOLS_CLASSPATH) return process.env.KAFKA_TOOLS_CLASSPATH
  if (local?.toolsClasspath) return local.toolsClasspath
  const cached = await cachedKafkaJars()
  if (cached) return cached.classpath
  if (existsSync('/tmp/kprobe/lib')) return '/tmp/kprobe/lib/*'
  throw new Error('no Kafka jars: run the tests or the demo once (they download them), or set KAFKA_TOOLS_CLASSPATH')
}

/**
 * A broker of our own (jars mode) so other sessions' tests on a shared broker skew the numbers less;
 * BENCH_BROKERS=host:port uses an existing one instead.
 */
export async function benchContext(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<{ctx: BenchContext; stop: () => Promise<void>}> {
  const quick = hasFlag('quick')
  if (process.env.BENCH_BROKERS) {
    return {
      ctx: {
        brokers: process.env.BENCH_BROKERS,
        kafkaVersion: process.env.KAFKA_VERSION ?? KAFKA_VERSION,
        toolsClasspath: await toolsClasspath(),
        quick,
        log,
      },
      async stop() {},
    }
  }
  log('starting a dedicated Kafka broker (jars, KRaft)…')
  const local = await startLocalKafka({mode: 'jars', log: (line) => log(`  kafka | ${line}`)})
  log(`Kafka ${local.version} at ${local.brokers}`)
  return {
    ctx: {brokers: local.brokers, kafkaVersion: local.version, toolsClasspath: await toolsClasspath(local), quick, log},
    stop: () => local.stop(),
  }
}

/** For benchmarks that need Kafka's jars but no broker (start-up, key analysis). */
export async function brokerlessContext(): Promise<{ctx: BenchContext; stop: () => Promise<void>}> {
  const log = (l: string) => process.stderr.write(`${l}\n`)
  return {
    ctx: {brokers: '', kafkaVersion: KAFKA_VERSION, toolsClasspath: await toolsClasspath(), quick: hasFlag('quick'), log},
    async stop() {},
  }
}

export function kafkaInfo(ctx: BenchContext) {
  return {
    version: ctx.kafkaVersion,
    brokers: ctx.brokers.split(',').length,
    sameHost: ctx.brokers.split(',').every((b) => b.startsWith('127.0.0.1') || b.startsWith('localhost')),
    tools: 'Kafka CLI tool classes run with java -cp from the same jars as the broker, with kafka-run-class.sh JVM defaults',
  }
}

export function writeResult(name: string, report: object): string {
  mkdirSync(RESULTS_DIR, {recursive: true})
  const file = path.join(RESULTS_DIR, `${name}.json`)
  writeFileSync(file, `${JSON.stringify({benchmark: name, date: new Date().toISOString(), ...report}, null, 2)}\n`)
  return file
}

/** True when this module is the script node was started with (so each benchmark also runs alone). */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === moduleUrl
}

/** Runs one benchmark file on its own: its own broker, its result file, exit code. */
export function runStandalone(name: string, bench: (ctx: BenchContext) => Promise<object>, options: {broker?: boolean} = {}): void {
  void (async () => {
    const {ctx, stop} = options.broker === false ? await brokerlessContext() : await benchContext()
    try {
      const report = await bench(ctx)
      process.stdout.write(`${writeResult(name, report)}\n`)
    } finally {
      await stop()
    }
    process.exit(0)
  })().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  })
}

/**
 * Benchmark: the murmur2 key-movement analysis (src/kafka/key-analysis.ts) over 1M and 10M distinct
 * keys ("key-" + i, UTF-8), 12 → 16 partitions: time and peak RSS, each in a fresh child process
 * (bench/key-analysis-worker.ts), vs a Java loop over Kafka's own Utils.murmur2 from the broker's
 * jars (bench/java/Murmur2Bench.java). Variants, interleaved per repetition:
 *   records   — KeyedRecord[] as the sampler returns them, then keyMovement (all records in memory)
 *   records-before — the same with keyMovement before this change (a per-key string Map of objects)
 *   streaming — KeyHasher: each key hashed once as it is generated, de-duplicated in typed arrays
 *   hash-loop — the Java loop's work in JS (hash, compare, no de-duplication)
 *   java      — Murmur2Bench.java (its loop time, measured inside the JVM, and VmHWM)
 *
 *   npm run build && node dist/bench/key-analysis.js [--keys 1000000,10000000] [--reps 5]
 */
import path from 'node:path'
import {fileURLToPath} from 'node:url'
import {javaCommand} from '../src/local-kafka/index.js'
import {arg, isMain, kafkaInfo, machine, REPO_ROOT, round, runStandalone, summary, timed, type BenchContext} from './common.js'

const FROM = 12
const TO = 16
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'key-analysis-worker.js')
const JAVA_SOURCE = path.join(REPO_ROOT, 'bench', 'java', 'Murmur2Bench.java')

interface Measurement {
  totalMs: number
  analyzeMs: number
  maxRssKiB: number
  moved: number
  /** Whole-process CPU (for Java this includes compiling the source file and JIT threads). */
  cpuMs: number
}

async function jsRun(mode: string, keys: number): Promise<Measurement> {
  // 10M records as objects need more than Node's default old-space limit on small machines.
  const r = await timed(process.execPath, ['--max-old-space-size=12288', WORKER, mode, String(keys), String(FROM), String(TO)], {timeoutMs: 20 * 60_000})
  if (r.code !== 0) throw new Error(`worker ${mode} ${keys} exited ${r.code}: ${r.stderr.slice(-500)}`)
  const out = JSON.parse(r.stdout) as Measurement
  return {totalMs: out.totalMs, analyzeMs: out.analyzeMs, maxRssKiB: out.maxRssKiB, moved: out.moved, cpuMs: out.cpuMs}
}

async function javaRun(ctx: BenchContext, keys: number): Promise<Measurement> {
  const r = await timed(javaCommand(), ['-Xmx4g', '-cp', ctx.toolsClasspath, JAVA_SOURCE, String(keys), String(FROM), String(TO)], {timeoutMs: 20 * 60_000})
  if (r.code !== 0) throw new Error(`Murmur2Bench exited ${r.code}: ${r.stderr.slice(-500)}`)
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {loopNs: number; maxRssKiB: number; moved: number; cpuMs: number}
  return {totalMs: out.loopNs / 1e6, analyzeMs: out.loopNs / 1e6, maxRssKiB: out.maxRssKiB, moved: out.moved, cpuMs: out.cpuMs}
}

export async function keyAnalysisBench(ctx: BenchContext): Promise<object> {
  const sizes = arg('keys', ctx.quick ? '100000,1000000' : '1000000,10000000').split(',').map(Number)
  const reps = Math.max(5, Number(arg('key-reps', '5')))
  const allVariants = arg('variants', 'streaming,records,records-before,hash-loop,java').split(',')
  const results = []
  for (const keys of sizes) {
    // The pre-KeyHasher keyMovement needs ~6 GB and minutes at 10M keys: before/after is shown at ≤ 1M.
    const variants = keys > 1_000_000 ? allVariants.filter((v) => v !== 'records-before') : allVariants
    const runs: Record<string, Measurement[]> = Object.fromEntries(variants.map((v) => [v, []]))
    for (let rep = 1; rep <= reps; rep++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + rep) % variants.length]!
        const m = variant === 'java' ? await javaRun(ctx, keys) : await jsRun(variant, keys)
        runs[variant]!.push(m)
      }
      const moved = new Set(variants.map((v) => runs[v]!.at(-1)!.moved))
      if (moved.size !== 1) throw new Error(`variants disagree on moved keys at ${keys}: ${[...moved].join(' vs ')}`)
      ctx.log(`key-analysis keys=${keys} rep ${rep}/${reps}: ${variants.map((v) => `${v} ${round(runs[v]!.at(-1)!.totalMs, 0)}ms/${Math.round(runs[v]!.at(-1)!.maxRssKiB / 1024)}MiB`).join(', ')}`)
    }
    const entry: Record<string, unknown> = {keys, from: FROM, to: TO, moved: runs[variants[0]!]![0]!.moved}
    for (const v of variants) {
      const ms = runs[v]!.map((m) => m.totalMs)
      const total = summary(ms)
      entry[v === 'hash-loop' ? 'hashLoop' : v === 'records-before' ? 'recordsBefore' : v] = {
        totalMs: total,
        analyzeMs: summary(runs[v]!.map((m) => m.analyzeMs)),
        keysPerSec: round(keys / (total.median / 1000), 0),
        maxRssMiB: summary(runs[v]!.map((m) => m.maxRssKiB / 1024)),
        processCpuMs: summary(runs[v]!.map((m) => m.cpuMs)),
        repetitions: runs[v]!.map((m) => ({totalMs: round(m.totalMs, 1), analyzeMs: round(m.analyzeMs, 1), maxRssMiB: round(m.maxRssKiB / 1024, 1), processCpuMs: round(m.cpuMs, 0)})),
      }
    }
    results.push(entry)
  }
  return {
    kafka: kafkaInfo(ctx),
    machine: machine(),
    params: {keys: sizes, from: FROM, to: TO, repetitions: reps, keyFormat: '"key-" + i, UTF-8, all distinct (JS writes the ASCII bytes into a scratch buffer; Java uses String.getBytes)', variants: allVariants, note: 'records-before runs only up to 1M keys'},
    definitions: {
      totalMs: 'generate the keys + hash + count moved, inside the process (JVM/Node start-up excluded); records: building KeyedRecord[] then keyMovement',
      analyzeMs: 'records: keyMovement alone; streaming: movement() after all adds (hashing is in the adds); hash-loop and java: the whole loop',
      processCpuMs: 'user + system CPU of the whole process (Node start-up included; Java: source compilation and JIT threads included)',
      maxRssMiB: 'peak resident set of the whole process: Node process.resourceUsage().maxRSS, Java /proc/self/status VmHWM',
      ratio: 'README: Java total / kreorg total (above 1: kreorg is faster)',
    },
    results,
  }
}

if (isMain(import.meta.url)) runStandalone('key-analysis', keyAnalysisBench, {broker: false})

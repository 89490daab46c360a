/**
 * Benchmark: the murmur2 key-movement analysis (src/kafka/key-analysis.ts) over 1M and 10M distinct
 * keys ("key-" + i, UTF-8), 12 → 16 partitions: time and peak RSS, each in a fresh child process
 * (bench/key-analysis-worker.ts), vs a Java loop over Kafka's own Utils.murmur2 from the broker's
 * jars (bench/java/Murmur2Bench.java). Variants, interleaved per repetition:
 *   records   — KeyedRecord[] as the sampler returns them, then keyMovement (all records in memory)
 *   records-before — keyMovement before KeyHasher (a per-key string Map of objects)
 *   streaming — KeyHasher as the audit runs it: each key hashed once as it is generated, distinct keys
 *               told apart by a 64-bit fingerprint in a bounded table (past its size, a uniform
 *               hash-sample of the keys, scaled up: `estimated` holds the sample and its error)
 *   streaming-exact — KeyHasher with a table for every key (exact; memory grows with the keys)
 *   hash-loop — the Java loop's work in JS (hash, compare, no de-duplication)
 *   java      — Murmur2Bench.java (its loop time, measured inside the JVM, and VmHWM)
 *
 *   npm run build && node dist/bench/key-analysis.js [--keys 1000000,10000000] [--reps 5]
 */
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {DEFAULT_MAX_TRACKED_KEYS} from '../src/kafka/key-analysis.js'
import {javaCommand} from '../src/local-kafka/index.js'
import {arg, type BenchContext, isMain, kafkaInfo, machine, REPO_ROOT, round, runStandalone, summary, timed} from './common.js'

const FROM = 12
const TO = 16
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'key-analysis-worker.js')
const JAVA_SOURCE = path.join(REPO_ROOT, 'bench', 'java', 'Murmur2Bench.java')

interface Measurement {
  totalMs: number
  analyzeMs: number
  maxRssKiB: number
  moved: number
  movedShare: number
  /** Set when the figures were scaled up from a sample of this many distinct keys. */
  trackedKeys?: number
  /** Whole-process CPU (for Java this includes compiling the source file and JIT threads). */
  cpuMs: number
}

async function jsRun(mode: string, keys: number): Promise<Measurement> {
  // 10M records as objects need more than Node's default old-space limit on small machines.
  const r = await timed(process.execPath, ['--max-old-space-size=12288', WORKER, mode, String(keys), String(FROM), String(TO)], {
    timeoutMs: 20 * 60_000,
  })
  if (r.code !== 0) throw new Error(`worker ${mode} ${keys} exited ${r.code}: ${r.stderr.slice(-500)}`)
  const out = JSON.parse(r.stdout) as Measurement
  return {
    totalMs: out.totalMs,
    analyzeMs: out.analyzeMs,
    maxRssKiB: out.maxRssKiB,
    moved: out.moved,
    movedShare: out.movedShare,
    ...(out.trackedKeys === undefined ? {} : {trackedKeys: out.trackedKeys}),
    cpuMs: out.cpuMs,
  }
}

async function javaRun(ctx: BenchContext, keys: number): Promise<Measurement> {
  const r = await timed(javaCommand(), ['-Xmx4g', '-cp', ctx.toolsClasspath, JAVA_SOURCE, String(keys), String(FROM), String(TO)], {
    timeoutMs: 20 * 60_000,
  })
  if (r.code !== 0) throw new Error(`Murmur2Bench exited ${r.code}: ${r.stderr.slice(-500)}`)
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {loopNs: number; maxRssKiB: number; moved: number; cpuMs: number}
  return {
    totalMs: out.loopNs / 1e6,
    analyzeMs: out.loopNs / 1e6,
    maxRssKiB: out.maxRssKiB,
    moved: out.moved,
    movedShare: out.moved / keys,
    cpuMs: out.cpuMs,
  }
}

/** An estimated moved share may differ from the exact one by this much before the run fails. */
const SHARE_TOLERANCE = 0.01

/** Exact variants must count the same moved keys; sampled ones must come close to that share. */
/** `records-before` → `recordsBefore`, as the result file names variants. */
const camel = (variant: string) => variant.replaceAll(/-(\w)/g, (_, c: string) => c.toUpperCase())

function checkAgreement(keys: number, measured: Array<Measurement & {variant: string}>): void {
  const exact = measured.filter((m) => m.trackedKeys === undefined)
  const moved = new Set(exact.map((m) => m.moved))
  if (moved.size > 1)
    throw new Error(`variants disagree on moved keys at ${keys}: ${exact.map((m) => `${m.variant} ${m.moved}`).join(' vs ')}`)
  const share = exact[0]?.movedShare
  if (share === undefined) return
  for (const m of measured) {
    if (m.trackedKeys !== undefined && Math.abs(m.movedShare - share) > SHARE_TOLERANCE) {
      throw new Error(`${m.variant} estimated a moved share of ${m.movedShare} at ${keys} keys; exact is ${share}`)
    }
  }
}

function estimateOf(m: Measurement, exact: Measurement | undefined): object {
  if (m.trackedKeys === undefined) return {}
  return {
    estimated: {
      trackedKeys: m.trackedKeys,
      movedShare: round(m.movedShare, 6),
      ...(exact ? {shareError: round(Math.abs(m.movedShare - exact.movedShare), 6)} : {}),
    },
  }
}

export async function keyAnalysisBench(ctx: BenchContext): Promise<object> {
  const sizes = arg('keys', ctx.quick ? '100000,1000000' : '1000000,10000000')
    .split(',')
    .map(Number)
  const reps = Math.max(5, Number(arg('key-reps', '5')))
  const allVariants = arg('variants', 'streaming,streaming-exact,records,records-before,hash-loop,java').split(',')
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
      checkAgreement(
        keys,
        variants.map((v) => ({variant: v, ...runs[v]!.at(-1)!})),
      )
      ctx.log(
        `key-analysis keys=${keys} rep ${rep}/${reps}: ${variants.map((v) => `${v} ${round(runs[v]!.at(-1)!.totalMs, 0)}ms/${Math.round(runs[v]!.at(-1)!.maxRssKiB / 1024)}MiB`).join(', ')}`,
      )
    }
    const exact = variants.map((v) => runs[v]![0]!).find((m) => m.trackedKeys === undefined)
    const entry: Record<string, unknown> = {
      keys,
      from: FROM,
      to: TO,
      moved: exact?.moved,
      movedShare: exact ? round(exact.movedShare, 6) : undefined,
    }
    for (const v of variants) {
      const ms = runs[v]!.map((m) => m.totalMs)
      const total = summary(ms)
      entry[camel(v)] = {
        totalMs: total,
        analyzeMs: summary(runs[v]!.map((m) => m.analyzeMs)),
        keysPerSec: round(keys / (total.median / 1000), 0),
        maxRssMiB: summary(runs[v]!.map((m) => m.maxRssKiB / 1024)),
        processCpuMs: summary(runs[v]!.map((m) => m.cpuMs)),
        ...estimateOf(runs[v]![0]!, exact),
        repetitions: runs[v]!.map((m) => ({
          totalMs: round(m.totalMs, 1),
          analyzeMs: round(m.analyzeMs, 1),
          maxRssMiB: round(m.maxRssKiB / 1024, 1),
          processCpuMs: round(m.cpuMs, 0),
        })),
      }
    }
    const streaming = entry.streaming as {totalMs: {median: number}} | undefined
    const java = entry.java as {totalMs: {median: number}} | undefined
    if (streaming && java) entry.streamingVsJava = round(java.totalMs.median / streaming.totalMs.median, 2)
    results.push(entry)
  }
  return {
    kafka: kafkaInfo(ctx),
    machine: machine(),
    params: {
      keys: sizes,
      from: FROM,
      to: TO,
      repetitions: reps,
      keyFormat: '"key-" + i, UTF-8, all distinct (JS writes the ASCII bytes into a scratch buffer; Java uses String.getBytes)',
      variants: allVariants,
      maxTrackedKeys: DEFAULT_MAX_TRACKED_KEYS,
      note: 'records-before runs only up to 1M keys',
    },
    definitions: {
      totalMs:
        'generate the keys + hash + count moved, inside the process (JVM/Node start-up excluded); records: building KeyedRecord[] then keyMovement',
      analyzeMs:
        'records: keyMovement alone; streaming: movement() after all adds (hashing is in the adds); hash-loop and java: the whole loop',
      processCpuMs: 'user + system CPU of the whole process (Node start-up included; Java: source compilation and JIT threads included)',
      maxRssMiB: 'peak resident set of the whole process: Node process.resourceUsage().maxRSS, Java /proc/self/status VmHWM',
      ratio: 'README: Java total / kreorg total (above 1: kreorg is faster)',
      streamingVsJava: 'Java loop median / streaming median: the issue-17 target is ≥ 0.5 at 10M keys',
      estimated: `variants whose table held fewer keys than were added: the sample size and |movedShare − exact movedShare| (checked ≤ ${SHARE_TOLERANCE})`,
    },
    results,
  }
}

if (isMain(import.meta.url)) runStandalone('key-analysis', keyAnalysisBench, {broker: false})

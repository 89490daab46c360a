/**
 * Benchmark: start-up time. `kreorg --version` and `kreorg --help` vs Kafka's `kafka-topics --version`
 * (org.apache.kafka.tools.TopicCommand from the broker's jars, kafka-run-class.sh JVM options).
 *
 * kreorg runs two ways: from the dev checkout (no oclif.manifest.json, so oclif imports every
 * command to learn its flags) and as packed (a copy with `oclif manifest` run in it, as `npm pack`
 * would ship it; oclif then reads the manifest and imports only the command it runs).
 *
 *   npm run build && node dist/bench/startup.js [--reps 15]
 */
import {cpSync, mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import path from 'node:path'

import {
  arg,
  type BenchContext,
  isMain,
  kafkaInfo,
  kafkaTool,
  machine,
  REPO_ROOT,
  round,
  runStandalone,
  summary,
  timed,
  type TimedRun,
} from './common.js'

/** A packed-like install: package.json, bin and dist of this checkout plus a generated manifest. */
function packedCopy(): {dir: string; cleanup: () => void} {
  const dir = mkdtempSync(path.join(tmpdir(), 'kreorg-bench-packed-'))
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'))
  cpSync(path.join(REPO_ROOT, 'bin'), path.join(dir, 'bin'), {recursive: true})
  symlinkSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'))
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

export async function startupBench(ctx: BenchContext): Promise<object> {
  const reps = Math.max(5, Number(arg('startup-reps', ctx.quick ? '5' : '15')))
  const packed = packedCopy()
  try {
    const manifest = await timed(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'oclif', 'bin', 'run.js'), 'manifest', packed.dir])
    if (manifest.code !== 0) throw new Error(`oclif manifest failed: ${manifest.stderr}`)
    const devBin = path.join(REPO_ROOT, 'bin', 'run.js')
    const packedBin = path.join(packed.dir, 'bin', 'run.js')
    const cases: Array<{name: string; run: () => Promise<TimedRun>}> = [
      {name: 'kreorg --version (dev checkout, no manifest)', run: () => timed(process.execPath, [devBin, '--version'], {cpu: true})},
      {name: 'kreorg --help (dev checkout, no manifest)', run: () => timed(process.execPath, [devBin, '--help'], {cpu: true})},
      {name: 'kreorg --version (packed, oclif.manifest.json)', run: () => timed(process.execPath, [packedBin, '--version'], {cpu: true})},
      {name: 'kreorg --help (packed, oclif.manifest.json)', run: () => timed(process.execPath, [packedBin, '--help'], {cpu: true})},
      {name: 'kafka-topics --version', run: () => kafkaTool(ctx, 'topics', ['--version'], 120_000, true)},
    ]
    // One unmeasured round warms the page cache for node_modules and the jars alike.
    for (const c of cases) await c.run()
    const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]))
    const cpuSamples = new Map<string, number[]>(cases.map((c) => [c.name, []]))
    const repetitions: Array<Record<string, number>> = []
    for (let rep = 1; rep <= reps; rep++) {
      const row: Record<string, number> = {rep}
      // Interleaved, rotating the order so no case always runs right after the JVM.
      for (let i = 0; i < cases.length; i++) {
        const c = cases[(i + rep) % cases.length]!
        const result = await c.run()
        if (result.code !== 0) throw new Error(`${c.name} exited ${result.code}: ${result.stderr.slice(0, 500)}`)
        row[c.name] = round(result.ms, 1)
        samples.get(c.name)!.push(result.ms)
        if (result.cpuMs !== undefined) {
          row[`${c.name} cpu`] = round(result.cpuMs, 0)
          cpuSamples.get(c.name)!.push(result.cpuMs)
        }
      }
      repetitions.push(row)
      ctx.log(
        `startup rep ${rep}/${reps}: ${cases.map((c) => `${c.name.split(' (')[0]}${c.name.includes('packed') ? '*' : ''} ${row[c.name]}ms`).join(', ')}`,
      )
    }
    const medians = Object.fromEntries([...samples].map(([name, values]) => [name, summary(values)]))
    const cpuMedians = Object.fromEntries([...cpuSamples].filter(([, v]) => v.length > 0).map(([name, values]) => [name, summary(values)]))
    const load = loadavg()
    const java = medians['kafka-topics --version']!.median
    const ratios = Object.fromEntries(
      cases.filter((c) => c.name.startsWith('kreorg')).map((c) => [c.name, round(java / medians[c.name]!.median)]),
    )
    return {
      kafka: kafkaInfo(ctx),
      machine: machine(),
      params: {repetitions: reps, warmup: 1, order: 'interleaved, rotated each repetition', targetMs: 300},
      definition: 'wall clock from spawn to exit of the process, output captured through pipes',
      medians,
      cpuMedians: {
        definition:
          'user + system CPU seconds of the process (GNU time, 10 ms resolution), ms: less sensitive to other load on the machine than wall time; the JVM uses several threads, so its CPU can exceed its wall time',
        ...cpuMedians,
      },
      loadAverageAtEnd: load.map((l) => round(l)),
      ratios: {definition: 'kafka-topics --version median / kreorg median (above 1: kreorg is faster)', ...ratios},
      targets: {
        'kreorg --version < 300 ms (packed)': medians['kreorg --version (packed, oclif.manifest.json)']!.median < 300,
        'kreorg --help < 300 ms (packed)': medians['kreorg --help (packed, oclif.manifest.json)']!.median < 300,
        'kreorg --version < 300 ms (dev checkout)': medians['kreorg --version (dev checkout, no manifest)']!.median < 300,
      },
      repetitions,
    }
  } finally {
    packed.cleanup()
  }
}

if (isMain(import.meta.url)) runStandalone('startup', startupBench, {broker: false})

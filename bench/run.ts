/**
 * `npm run bench`: every benchmark against one dedicated broker (jars, KRaft) started here, each
 * writing bench/results/<name>.json, then the README table (bench/render-table.ts).
 *
 *   npm run bench                          # all, ~20 minutes on 2 cores
 *   node dist/bench/run.js --only startup,key-analysis --quick
 *   BENCH_BROKERS=host:port npm run bench  # an existing cluster instead of a fresh broker
 *
 * Order: blackout first, on a broker that holds only its own groups; lag-snapshot leaves 500 groups.
 */
import {performance} from 'node:perf_hooks'

import {blackoutBench} from './blackout.js'
import {arg, benchContext, type BenchContext, writeResult} from './common.js'
import {heldReleaseBench} from './held-release.js'
import {keyAnalysisBench} from './key-analysis.js'
import {lagSnapshotBench} from './lag-snapshot.js'
import {renderTable} from './render-table.js'
import {startupBench} from './startup.js'

const BENCHMARKS: Array<{name: string; run: (ctx: BenchContext) => Promise<object>}> = [
  {name: 'startup', run: startupBench},
  {name: 'blackout', run: blackoutBench},
  {name: 'lag-snapshot', run: lagSnapshotBench},
  {name: 'key-analysis', run: keyAnalysisBench},
  // No broker: the agent's own release path with a stub producer (issue 14: 100k held sends in < 100 ms).
  {
    name: 'held-release',
    run: (ctx) => heldReleaseBench({counts: ctx.quick ? [10_000] : [10_000, 100_000], reps: ctx.quick ? 3 : 15, log: ctx.log}),
  },
]

async function main(): Promise<void> {
  const only = arg('only', '').split(',').filter(Boolean)
  const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name))
  const {ctx, stop} = await benchContext()
  const failed: string[] = []
  try {
    for (const bench of selected) {
      const started = performance.now()
      ctx.log(`── ${bench.name}`)
      try {
        const file = writeResult(bench.name, await bench.run(ctx))
        ctx.log(`── ${bench.name} done in ${Math.round((performance.now() - started) / 1000)} s: ${file}`)
      } catch (error) {
        failed.push(bench.name)
        ctx.log(`── ${bench.name} FAILED: ${error instanceof Error ? error.stack : String(error)}`)
      }
    }
  } finally {
    await stop()
  }
  process.stdout.write(`${renderTable()}\n`)
  if (failed.length > 0) {
    process.stderr.write(`failed: ${failed.join(', ')}\n`)
    process.exit(1)
  }
  process.exit(0)
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
  process.exit(1)
})

/**
 * Soak: issue 13's judged scenario, N times in a row (default 20), against one broker.
 *
 * Each run: a fresh 12-partition topic, three kreorg producer agents writing 300 keyed records/s over
 * 500 keys (`<key>:<seq>`), Apache Kafka's ConsoleConsumer in three groups (classic `latest`, classic
 * `earliest`, KIP-848 `latest`) and a plain kafkajs group (`fromBeginning: false`), then
 * `kreorg grow <topic> --to 16 --yes --json` through the CLI, producers stopped, groups caught up, and
 * every group's output checked per key by test/judges (lost, reordered, duplicated). Per-run results go
 * to bench/results/soak.json after every run, so an interrupted soak still leaves what it measured.
 *
 *   npm run soak                                  # 20 runs on a broker started for the soak
 *   node dist/bench/soak.js --runs 5 --classic-metadata-max-age 20000
 *   BENCH_BROKERS=127.0.0.1:9092 npm run soak     # an existing cluster
 */
import {performance} from 'node:perf_hooks'

import {counts} from '../test/judges/report.js'
import {JUDGE_GROW_FLAGS, runJudgedScenario, type ScenarioResult, standardJudges} from '../test/judges/scenario.js'
import {arg, benchContext, type BenchContext, isMain, kafkaInfo, machine, summary, writeResult} from './common.js'

const FROM = 12
const TO = 16

interface SoakRun {
  run: number
  ok: boolean
  exitCode: number | null
  partitionsAfter: number
  produced: number
  uncertain: number
  blackoutMs: number | null
  blackoutAckedMs: number | null
  drainMs: number | null
  primeMs: number | null
  producerStallMs: number
  growMs: number | null
  totalMs: number
  groups: Array<ReturnType<typeof counts> & {consumed: number}>
  steps: Record<string, number>
  failure?: string
  error?: string
}

function runOk(result: ScenarioResult): boolean {
  return (
    result.exitCode === 0 &&
    result.partitionsAfter === TO &&
    result.groups.every((g) => g.lost === 0 && g.reordered === 0 && g.duplicated === 0 && g.unexpected === 0)
  )
}

function toRun(run: number, result: ScenarioResult): SoakRun {
  return {
    run,
    ok: runOk(result),
    exitCode: result.exitCode,
    partitionsAfter: result.partitionsAfter,
    produced: result.produced,
    uncertain: result.uncertain,
    blackoutMs: result.blackoutMs,
    blackoutAckedMs: result.blackoutAckedMs,
    drainMs: result.drainMs,
    primeMs: result.primeMs,
    producerStallMs: result.producerStallMs,
    growMs: result.growMs,
    totalMs: result.totalMs,
    groups: result.groups.map((g) => ({...counts(g), consumed: g.consumed})),
    steps: Object.fromEntries(result.steps.map((s) => [s.step, s.durationMs])),
    ...(result.failure ? {failure: result.failure} : {}),
  }
}

export async function soak(ctx: BenchContext, write: (report: object) => void): Promise<object> {
  const runs = Number(arg('runs', '20'))
  const classicAge = Number(arg('classic-metadata-max-age', '20000'))
  const judges = standardJudges(classicAge)
  const results: SoakRun[] = []
  const started = performance.now()
  const report = () => {
    const finished = results.filter((r) => r.error === undefined)
    const nums = (pick: (r: SoakRun) => number | null) => summary(finished.map(pick).filter((v): v is number => typeof v === 'number'))
    const byGroup = Object.fromEntries(
      judges.java
        .map((j) => j.name)
        .concat(judges.kafkajs.map((k) => k.name))
        .map((name) => {
          const rows = finished.map((r) => r.groups.find((g) => g.group === name)).filter((g) => g !== undefined)
          const sum = (key: 'lost' | 'reordered' | 'duplicated' | 'unexpected') => rows.reduce((s, g) => s + g[key], 0)
          return [
            name,
            {
              runs: rows.length,
              lost: sum('lost'),
              reordered: sum('reordered'),
              duplicated: sum('duplicated'),
              unexpected: sum('unexpected'),
            },
          ]
        }),
    )
    return {
      kafka: kafkaInfo(ctx),
      machine: machine(),
      params: {
        from: FROM,
        to: TO,
        runs,
        traffic: '300 keyed records/s over 500 keys from 3 kreorg producer agents (values <key>:<seq>), acks=-1, idempotent',
        groups: [
          ...judges.java.map(
            (j) =>
              `${j.name}: ConsoleConsumer (Kafka 4.3.1 jars), auto.offset.reset=${j.reset}, group.protocol=${j.protocol}${j.metadataMaxAgeMs === undefined ? '' : `, metadata.max.age.ms=${j.metadataMaxAgeMs}`}, default auto-commit`,
          ),
          ...judges.kafkajs.map(
            (k) =>
              `${k.name}: kafkajs 2.2.4 consumer, fromBeginning: false, autoCommitInterval ${k.autoCommitIntervalMs} ms${k.metadataMaxAgeMs === undefined ? '' : `, metadataMaxAge ${k.metadataMaxAgeMs} ms`}`,
          ),
        ],
        kreorg: `kreorg grow <topic> --to ${TO} --yes --json ${JUDGE_GROW_FLAGS.join(' ')}`,
        judge:
          "test/judges/sequence-judge.ts: every group's printed records checked per key against the producers' acknowledged sequence numbers",
      },
      definitions: {
        ok: 'exit 0, 16 partitions, and every group 0 lost, 0 reordered, 0 duplicated, 0 unexpected',
        blackoutMs: 'kreorg post-check pausedMs: pause sent → every agent acked resume',
        blackoutAckedMs: 'every agent acked pause → every agent acked resume (step results), summed over pauses',
        producerStallMs: 'longest time no producer send completed (measured by the producers, independently of kreorg)',
        totalMs: 'whole run: topic, JVM start-up, group joins, traffic, grow, settle',
      },
      summary: {
        runs: results.length,
        ok: results.filter((r) => r.ok).length,
        lost: finished.reduce((s, r) => s + r.groups.reduce((t, g) => t + g.lost, 0), 0),
        reordered: finished.reduce((s, r) => s + r.groups.reduce((t, g) => t + g.reordered, 0), 0),
        duplicated: finished.reduce((s, r) => s + r.groups.reduce((t, g) => t + g.duplicated, 0), 0),
        byGroup,
        blackoutMs: nums((r) => r.blackoutMs),
        drainMs: nums((r) => r.drainMs),
        primeMs: nums((r) => r.primeMs),
        producerStallMs: nums((r) => r.producerStallMs),
        growMs: nums((r) => r.growMs),
        totalMs: nums((r) => r.totalMs),
        wallMinutes: Math.round((performance.now() - started) / 6000) / 10,
      },
      runs: results,
    }
  }
  for (let run = 1; run <= runs; run++) {
    try {
      const result = await runJudgedScenario({
        brokers: ctx.brokers,
        classpath: ctx.toolsClasspath,
        mode: 'kreorg',
        from: FROM,
        to: TO,
        ...judges,
        label: `soak ${run}/${runs}`,
        log: ctx.log,
      })
      results.push(toRun(run, result))
      const r = results.at(-1)!
      ctx.log(
        `soak ${run}/${runs}: ${r.ok ? 'OK' : 'FAILED'} exit ${r.exitCode}, blackout ${r.blackoutMs} ms, drain ${r.drainMs} ms, ${r.groups.map((g) => `${g.group} ${g.lost}/${g.reordered}/${g.duplicated}`).join(', ')}`,
      )
    } catch (error) {
      // A set-up failure (a JVM that did not start, a broker hiccup) is recorded, never a silent gap.
      const message = error instanceof Error ? error.message : String(error)
      results.push({
        run,
        ok: false,
        exitCode: null,
        partitionsAfter: 0,
        produced: 0,
        uncertain: 0,
        blackoutMs: null,
        blackoutAckedMs: null,
        drainMs: null,
        primeMs: null,
        producerStallMs: 0,
        growMs: null,
        totalMs: 0,
        groups: [],
        steps: {},
        error: message.slice(0, 1500),
      })
      ctx.log(`soak ${run}/${runs}: harness error: ${message}`)
    }
    write(report())
  }
  return report()
}

async function main(): Promise<number> {
  const {ctx, stop} = await benchContext()
  try {
    const final = await soak(ctx, (report) => writeResult('soak', report))
    const file = writeResult('soak', final)
    const s = (final as {summary: {runs: number; ok: number; lost: number}}).summary
    process.stdout.write(`${file}\n${s.ok}/${s.runs} runs OK, ${s.lost} records lost\n`)
    return s.ok === s.runs ? 0 : 1
  } finally {
    await stop()
  }
}

if (isMain(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(1)
    },
  )
}

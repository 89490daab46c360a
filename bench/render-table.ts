/**
 * The benchmark table of docs/benchmarks.md, from bench/results/*.json. Rewrites docs/benchmarks.md
 * between `<!-- bench:start -->` and `<!-- bench:end -->` when both markers exist; prints the table always.
 *
 *   node dist/bench/render-table.js
 */
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {isMain, REPO_ROOT, RESULTS_DIR} from './common.js'

const START = '<!-- bench:start -->'
const END = '<!-- bench:end -->'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed result files of several shapes
type Json = Record<string, any> // parsed result files, local to this renderer

function load(name: string): Json | undefined {
  const file = path.join(RESULTS_DIR, `${name}.json`)
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Json) : undefined
}

const ms = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`)
const x = (n: number) => `${n.toFixed(1)}×`
const ok = (b: boolean) => (b ? 'met' : 'missed')
const count = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n))

export function tableMarkdown(): string {
  const rows: string[] = []
  const blackout = load('blackout')
  for (const r of blackout?.results ?? []) {
    rows.push(
      `| Producer blackout, backlog ${count(r.backlog)} (n=${r.repetitions}) | ${ms(r.kreorgWindowMs.median)} paused (floor ${ms(r.floorMs.median)}, overhead ${ms(r.kreorgOverheadMs.median)}) | ${ms(r.manualWindowMs.median)} paused (manual runbook) | ${x(r.ratio)} | overhead ≤ 1 s: ${ok(r.kreorgOverheadMs.median <= 1000)} |`,
    )
  }
  const java = blackout?.javaConsumers?.summary
  if (java?.blackoutMs) {
    rows.push(
      `| Producer blackout, Java consumers at default \`metadata.max.age.ms\` (issue 13, n=${java.runs}) | ${ms(java.blackoutMs.median)} paused (drain ${ms(java.drainMs.median)}, overhead ${ms(java.overheadAboveDrainMs.median)}); positions proven in ${ms(java.primeMs.median)} with producers running, pinned | before pin-first: paused for the whole wait (up to 5 min) | — | ≤ drain + 2 s: ${ok(java.overheadAboveDrainMs.median <= 2000)}, ${java.lost} lost |`,
    )
  }
  const lag = load('lag-snapshot')
  for (const r of lag?.results ?? []) {
    rows.push(
      `| Lag snapshot, ${r.groups} groups × ${r.partitions} partitions | ${ms(r.kreorg.median)} \`kreorg lag\` | ${ms(r.kafkaConsumerGroups.median)} \`kafka-consumer-groups --describe --all-groups\` | ${x(r.ratio)} | ${r.groups === 200 ? `≥ 3×: ${ok(r.ratio >= 3)}` : ''} |`,
    )
  }
  const startup = load('startup')
  if (startup) {
    const java = startup.medians['kafka-topics --version'].median as number
    for (const [name, label] of [
      ['kreorg --version (packed, oclif.manifest.json)', '`kreorg --version` (installed package)'],
      ['kreorg --help (packed, oclif.manifest.json)', '`kreorg --help` (installed package)'],
      ['kreorg --version (dev checkout, no manifest)', '`kreorg --version` (git checkout, no manifest)'],
    ] as const) {
      const m = startup.medians[name]?.median as number | undefined
      const cpu = startup.cpuMedians?.[name]?.median as number | undefined
      const javaCpu = startup.cpuMedians?.['kafka-topics --version']?.median as number | undefined
      const cpuNote = (n: number | undefined) => (n === undefined ? '' : ` wall, ${ms(n)} CPU`)
      if (m !== undefined) {
        rows.push(
          `| Start-up: ${label} | ${ms(m)}${cpuNote(cpu)} | ${ms(java)}${cpuNote(javaCpu)} \`kafka-topics --version\` | ${x(java / m)} | < 300 ms: ${ok(m < 300)}${cpu !== undefined && m >= 300 && cpu < 300 ? ' (met in CPU time)' : ''} |`,
        )
      }
    }
  }
  const keys = load('key-analysis')
  for (const r of keys?.results ?? []) {
    const java = r.java
    for (const [variant, label] of [
      ['streaming', '`KeyHasher` (hash once, streaming)'],
      ['records', '`keyMovement(records)`'],
      ['recordsBefore', '`keyMovement(records)` before KeyHasher'],
    ] as const) {
      const v = r[variant]
      if (!v) continue
      rows.push(
        `| Key movement, ${count(r.keys)} keys: ${label} | ${ms(v.totalMs.median)}, ${(v.keysPerSec / 1e6).toFixed(2)} M keys/s, ${Math.round(v.maxRssMiB.median)} MiB peak | ${ms(java.totalMs.median)}, ${(java.keysPerSec / 1e6).toFixed(2)} M keys/s, ${Math.round(java.maxRssMiB.median)} MiB (Java \`Utils.murmur2\` loop) | ${x(java.totalMs.median / v.totalMs.median)} | |`,
      )
    }
  }
  const held = load('held-release')
  const heldResults: Json[] = held?.results ?? []
  for (const r of heldResults) {
    // The floor (bare promises, no agent) is the baseline column of the agent's rows, not a row of its own.
    if (r.overFloor === undefined) continue
    const floor = heldResults.find((f) => f.heldSends === r.heldSends && f.overFloor === undefined)
    const target = held?.params?.targetMs as {heldSends: number; ms: number} | undefined
    const goal =
      target && r.heldSends === target.heldSends
        ? `< ${target.ms} ms: ${ok(r.median.wallMs < target.ms)}${r.median.wallMs >= target.ms && r.median.cpuMs < target.ms ? ' (met in CPU time)' : ''}`
        : ''
    const baseline = floor
      ? `${ms(floor.median.wallMs)} (the same callers on bare promises, no agent: the floor of any promise-per-send API)`
      : "no Kafka equivalent (a paused kreorg agent's queue)"
    rows.push(
      `| Agent: release of ${count(r.heldSends)} held sends, ${r.variant} (n=${r.n}) | ${ms(r.median.wallMs)} wall, ${ms(r.median.cpuMs)} CPU (min ${ms(r.min.wallMs)}) | ${baseline} | ${floor ? x(floor.median.wallMs / r.median.wallMs) : ''} | ${goal} |`,
    )
  }
  const pauseAck = load('pause-ack')
  for (const r of pauseAck?.results ?? []) {
    rows.push(
      `| Pause-ack latency, ${r.agents} kafkajs agent${r.agents === 1 ? '' : 's'} in one process (n=${r.repetitions.length}) | p50 ${ms(r.median.p50Ms)}, p99 ${ms(r.median.p99Ms)} | no Kafka equivalent (a producer cannot be paused) | | |`,
    )
  }
  for (const r of pauseAck?.byAgentKind?.results ?? []) {
    rows.push(
      `| Pause-ack latency, one ${r.kind} agent in its own process (n=${r.latenciesMs.length}) | median ${ms(r.medianMs)} (min ${ms(r.minMs)}, max ${ms(r.maxMs)}) | no Kafka equivalent (a producer cannot be paused) | | |`,
    )
  }
  const machine = (blackout ?? lag ?? startup ?? keys ?? held)?.machine
  const header = ['| Benchmark | kreorg | Kafka baseline (same jars) | ratio (baseline / kreorg) | target |', '|---|---|---|---|---|']
  const footer = machine
    ? `\nMedians of interleaved repetitions (n ≥ 5 unless shown) on Apache Kafka ${(blackout ?? lag)?.kafka?.version ?? '4.3.1'}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, on a shared machine under load (wall times inflated; ratios are the robust figures). Raw runs: \`bench/results/*.json\`; rerun with \`npm run bench\`.`
    : ''
  return [...header, ...rows].join('\n') + footer
}

/** Returns the table; rewrites docs/benchmarks.md between the markers when both exist. */
export function renderTable(): string {
  const table = tableMarkdown()
  const readme = path.join(REPO_ROOT, 'docs', 'benchmarks.md')
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8')
    const start = text.indexOf(START)
    const end = text.indexOf(END)
    if (start !== -1 && end > start) {
      writeFileSync(readme, `${text.slice(0, start + START.length)}\n${table}\n${text.slice(end)}`)
    }
  }
  return table
}

if (isMain(import.meta.url)) process.stdout.write(`${renderTable()}\n`)

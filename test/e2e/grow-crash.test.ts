import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {runCliUntil} from '../helpers/cli.js'
import {cliEnv, describeRun, type GrowEvent, GrowWorld, runGrowCli, stepResult, tempDir} from '../helpers/grow-fixtures.js'
import {connectTestCluster} from '../helpers/kafka.js'

/**
 * kreorg dies (SIGKILL: no handler runs, no checkpoint flush, no lease release) in the middle of a
 * grow under live traffic; `kreorg resume --latest` must finish the job with per-key order intact.
 * Moments (runbook v2, pin first): inside prime-consumers (the topic already has 16 partitions,
 * producers keep writing pinned to 12), inside drain (producers paused and pinned), and inside drain
 * with the lease lapsing before the resume (producers resume by themselves, still pinned).
 */

const FROM = 12
const TO = 16
const GROUPS = [{name: 'fast'}, {name: 'lagging', ratePerSec: 150}]

let cluster: KafkaCluster
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  cluster = await connectTestCluster()
})

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  await cluster?.close()
})

interface Crash {
  world: GrowWorld
  killed: Awaited<ReturnType<typeof runCliUntil<GrowEvent>>>
  pausedAfterKill: string[]
  partitionsAfterKill: number
  resumed: Awaited<ReturnType<typeof runGrowCli>>
  reports: ReturnType<GrowWorld['reports']>
}

interface CrashOptions {
  groups?: typeof GROUPS | Array<{name: string; ratePerSec?: number; metadataMaxAgeMs?: number}>
  /** Replaces FAST_GROW_FLAGS's 20s lease. */
  lease?: string
  /** Runs after the kill and before `kreorg resume` (e.g. waiting past the lease). */
  beforeResume?: (world: GrowWorld) => Promise<void>
}

async function crashAndResume(killAt: (event: GrowEvent) => boolean, options: CrashOptions = {}): Promise<Crash> {
  const stateDir = await tempDir()
  const world = new GrowWorld({cluster, partitions: FROM, writers: 'agent', groups: options.groups ?? GROUPS})
  cleanups.push(
    () => world.close(),
    () => fs.rm(stateDir, {recursive: true, force: true}),
  )
  await world.start()
  await sleep(2000)
  let args = world.growArgs(TO, stateDir, ['--yes'])
  if (options.lease) args = args.map((arg, i) => (args[i - 1] === '--lease' ? options.lease! : arg))
  const killed = await runCliUntil(args, killAt, {env: cliEnv(), timeoutMs: 180_000})
  // Right after the kill: the dead run's lease still holds, so its producers must still be paused.
  const pausedAfterKill = world.agents.map((a) => a.topicState(world.topic).state)
  const partitionsAfterKill = await world.partitionCount()
  await options.beforeResume?.(world)
  const resumed = await runGrowCli(['resume', '--latest', '--state-dir', stateDir, '--yes'], {timeoutMs: 240_000})
  world.unthrottle()
  await sleep(2000)
  const reports = await world.settle()
  return {world, killed, pausedAfterKill, partitionsAfterKill, resumed, reports}
}

/** Abort markers per new partition, from whichever attempt finished prime-consumers. */
function markersOf(crash: Crash): Record<string, number> {
  const prime =
    stepResult<{markers: Record<string, number>}>(crash.resumed.events, 'prime-consumers') ??
    stepResult<{markers: Record<string, number>}>(crash.killed.events, 'prime-consumers')
  return prime?.markers ?? {}
}

async function expectOrderedAndComplete(crash: Crash): Promise<void> {
  const {world, resumed, reports} = crash
  expect(resumed.code, describeRun(resumed)).toBe(0)
  expect(resumed.events.at(-1)?.event).toBe('run:done')
  expect(resumed.events.find((e) => e.event === 'run:start')?.runId).toBe(crash.killed.events[0]?.runId)
  expect(await world.partitionCount()).toBe(TO)
  const produced = world.traffic.sent.total
  expect(produced).toBeGreaterThan(2000)
  for (const [name, report] of Object.entries(reports)) {
    expect({group: name, violations: report.violations, lost: report.lost, duplicated: report.duplicated}).toEqual({
      group: name,
      violations: 0,
      lost: 0,
      duplicated: 0,
    })
    expect(report.consumed).toBe(produced)
  }
  for (const row of await world.coverage([12, 13, 14, 15], markersOf(crash))) {
    expect(row.end, `${row.group} p${row.partition}`).toBeGreaterThan(0)
    expect(row.committed, `${row.group} p${row.partition}`).toBe(row.end)
    expect(row.consumedFromZero, `${row.group} p${row.partition}`).toBe(true)
  }
  for (const agent of world.agents) expect(agent.topicState(world.topic)).toMatchObject({state: 'running', partitionCount: TO})
  const summary = stepResult<{misplacedRecords: number}>(resumed.events, 'post-check')!
  expect(summary.misplacedRecords).toBe(0)
  expect((await world.producersView()).lease).toBeNull()
}

describe('kreorg grow killed with SIGKILL, then `kreorg resume --latest`', () => {
  it('killed in prime-consumers (grown, producers writing pinned to 12): resume proves the groups and finishes with 0 violations, 0 lost, 0 duplicated', async () => {
    const crash = await crashAndResume((e) => e.event === 'step:start' && e.step === 'prime-consumers')
    expect(crash.killed.matched, describeRun({code: crash.killed.code, stderr: crash.killed.stderr, events: crash.killed.events})).toBe(
      true,
    )
    expect(crash.killed.signal).toBe('SIGKILL')
    // The alter landed before the kill; producers keep writing, pinned to the old layout.
    expect(crash.partitionsAfterKill).toBe(TO)
    expect(crash.pausedAfterKill).toEqual(crash.world.agents.map(() => 'running'))
    const done = crash.resumed.events.filter((e) => e.event === 'step:done').map((e) => e.step)
    expect(done).toEqual(['prime-consumers', 'pause-producers', 'quiesce', 'drain', 'verify-mapping', 'resume-producers', 'post-check'])
    await expectOrderedAndComplete(crash)
  }, 420_000)

  it('killed in drain (lagging group still behind, producers paused): resume drains and finishes with 0 violations, 0 lost, 0 duplicated', async () => {
    const crash = await crashAndResume((e) => e.event === 'step:start' && e.step === 'drain')
    expect(crash.killed.matched, describeRun({code: crash.killed.code, stderr: crash.killed.stderr, events: crash.killed.events})).toBe(
      true,
    )
    expect(crash.killed.signal).toBe('SIGKILL')
    const plan = stepResult<{groups: Array<{groupId: string; lag: number}>}>(crash.killed.events, 'plan')!
    expect(
      plan.groups.find((g) => g.groupId.endsWith('-lagging'))?.lag,
      'the lagging group had lag to drain when kreorg died',
    ).toBeGreaterThan(100)
    expect(crash.pausedAfterKill).toEqual(crash.world.agents.map(() => 'paused'))
    expect(crash.partitionsAfterKill).toBe(TO)
    const done = crash.resumed.events.filter((e) => e.event === 'step:done').map((e) => e.step)
    expect(done).toEqual(['drain', 'verify-mapping', 'resume-producers', 'post-check'])
    await expectOrderedAndComplete(crash)
  }, 420_000)

  it('killed in drain and the lease lapses before resume: producers resume by themselves still pinned, the new partitions hold only markers, resume pauses and drains again', async () => {
    let stateDuringLapse: Array<{state: string; pinnedPartitions?: number}> = []
    let newPartitionEndsDuringLapse: number[] = []
    let endsBeforeLapse = 0
    const crash = await crashAndResume((e) => e.event === 'step:start' && e.step === 'drain', {
      lease: '6s',
      // A group that notices new partitions only after 45 s, with auto.offset.reset=latest: it would
      // skip records written to partitions 12..15 before it owns them (KAFKA-12478).
      groups: [{name: 'fast'}, {name: 'lagging', ratePerSec: 150}, {name: 'slowmeta', metadataMaxAgeMs: 45_000}],
      async beforeResume(world) {
        endsBeforeLapse = (await cluster.endOffsets(world.topic)).filter((o) => o.partition < FROM).reduce((sum, o) => sum + o.high, 0)
        await sleep(12_000)
        stateDuringLapse = world.agents.map((a) => a.topicState(world.topic))
        newPartitionEndsDuringLapse = (await cluster.highWatermarks(world.topic)).filter((o) => o.partition >= FROM).map((o) => o.high)
      },
    })
    expect(crash.killed.matched, describeRun({code: crash.killed.code, stderr: crash.killed.stderr, events: crash.killed.events})).toBe(
      true,
    )
    expect(crash.partitionsAfterKill).toBe(TO)
    // Producers were not left paused past their lease...
    expect(stateDuringLapse.map((s) => s.state)).toEqual(crash.world.agents.map(() => 'running'))
    const endsAfterLapse = (await cluster.endOffsets(crash.world.topic))
      .filter((o) => o.partition < FROM)
      .reduce((sum, o) => sum + o.high, 0)
    expect(endsAfterLapse, 'traffic flowed while kreorg was dead').toBeGreaterThan(endsBeforeLapse)
    // ...but kept the 12-partition layout: the new partitions hold kreorg's markers and nothing else.
    expect(stateDuringLapse.map((s) => s.pinnedPartitions)).toEqual(crash.world.agents.map(() => FROM))
    const markers = stepResult<{markers: Record<string, number>}>(crash.killed.events, 'prime-consumers')!.markers
    expect(newPartitionEndsDuringLapse).toEqual([12, 13, 14, 15].map((p) => markers[String(p)]))
    const redo = crash.resumed.events.find((e) => e.event === 'redo')
    expect(redo, 'resume noticed the lapsed lease and paused and drained again').toBeDefined()
    const done = crash.resumed.events.filter((e) => e.event === 'step:done').map((e) => e.step)
    expect(done.slice(0, 3)).toEqual(['pause-producers', 'quiesce', 'drain'])
    await expectOrderedAndComplete(crash)
  }, 480_000)
})

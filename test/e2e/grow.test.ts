import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {LedgerReport} from '../../src/demo/ledger.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {describeRun, type GrowEvent, GrowWorld, runGrowCli, stepResult, tempDir} from '../helpers/grow-fixtures.js'
import {connectTestCluster} from '../helpers/kafka.js'

/**
 * The product's promise, end to end: `kreorg grow` takes a 12-partition topic to 16 while keyed
 * traffic flows through producer agents and one consumer group lags, and no consumer sees a key out
 * of order, misses a record or sees one twice. The same traffic on a twin topic grown the naive way
 * (createPartitions under running producers) does break ordering: the test proves it can fail.
 */

const FROM = 12
const TO = 16
const STEPS = [
  'preflight',
  'plan',
  'pin-producers',
  'add-partitions',
  'verify-partitions',
  'prime-consumers',
  'pause-producers',
  'quiesce',
  'drain',
  'verify-mapping',
  'resume-producers',
  'post-check',
]
// Producers write 300 records/s; the lagging group processes 150/s, so its backlog grows until the pause.
const GROUPS = [{name: 'fast'}, {name: 'lagging', ratePerSec: 150}]

let cluster: KafkaCluster
let kreorg: GrowWorld
let naive: GrowWorld
let stateDir: string
let grow: Awaited<ReturnType<typeof runGrowCli>>
let kreorgReports: Record<string, LedgerReport>
let naiveReports: Record<string, LedgerReport>

beforeAll(async () => {
  cluster = await connectTestCluster()
  stateDir = await tempDir()
  kreorg = new GrowWorld({cluster, partitions: FROM, writers: 'agent', groups: GROUPS})
  naive = new GrowWorld({cluster, partitions: FROM, writers: 'plain', groups: GROUPS})
  await Promise.all([kreorg.start(), naive.start()])
  // Let the lagging groups build a backlog (it keeps growing while preflight and plan run).
  await sleep(2000)
  // Prime-consumers waits, with producers writing pinned, until the lagging group has passed a marker
  // on each new partition; its backlog then takes a while to drain: give the run minutes, not seconds.
  const [result] = await Promise.all([
    runGrowCli(kreorg.growArgs(TO, stateDir, ['--yes']), {timeoutMs: 240_000}),
    cluster.createPartitions(naive.topic, TO),
  ])
  grow = result
  // The lag did its job (the naive twin reorders meanwhile); let both topics' backlogs clear quickly.
  kreorg.unthrottle()
  naive.unthrottle()
  // Traffic keeps flowing a little under the new layout on both topics.
  await sleep(2000)
  ;[kreorgReports, naiveReports] = await Promise.all([kreorg.settle(), naive.settle()])
}, 420_000)

afterAll(async () => {
  await Promise.all([kreorg?.close(), naive?.close()])
  await cluster?.close()
  if (stateDir) await fs.rm(stateDir, {recursive: true, force: true})
})

describe(`kreorg grow ${FROM} → ${TO} under live keyed traffic with a lagging group`, () => {
  it('exits 0 after running every step of the runbook in order', () => {
    expect(grow.code, describeRun(grow)).toBe(0)
    const done = grow.events.filter((e: GrowEvent) => e.event === 'step:done').map((e) => e.step)
    expect(done).toEqual(STEPS)
    expect(grow.events.at(-1)?.event).toBe('run:done')
    // run:done carries the summary, with the declared counts (Terraform, Strimzi, topicctl) that must now say TO.
    expect((grow.events.at(-1) as {summary?: {declaredCounts?: string[]}}).summary?.declaredCounts?.join('\n')).toMatch(
      new RegExp(`Terraform: set partitions = ${TO}[\\s\\S]*Strimzi: set spec\\.partitions: ${TO}[\\s\\S]*topicctl: set partitions: ${TO}`),
    )
  })

  it('really had a lagging group to drain: the plan saw its lag and drain waited for it', () => {
    const plan = stepResult<{groups: Array<{groupId: string; lag: number; members: number}>; agents: unknown[]}>(grow.events, 'plan')!
    const lagging = plan.groups.find((g) => g.groupId === kreorg.group('lagging').groupId)
    expect(lagging?.lag).toBeGreaterThan(100)
    expect(plan.groups.map((g) => g.groupId).sort()).toEqual(kreorg.groups.map((g) => g.groupId).sort())
    expect(plan.agents).toHaveLength(kreorg.agents.length)
    expect(stepResult<{drainMs: number}>(grow.events, 'drain')!.drainMs).toBeGreaterThan(0)
  })

  it('leaves the topic with 16 partitions and producers running on the new layout', async () => {
    expect(await kreorg.partitionCount()).toBe(TO)
    for (const agent of kreorg.agents)
      expect(agent.topicState(kreorg.topic)).toMatchObject({state: 'running', partitionCount: TO, buffered: 0})
    const summary = stepResult<{misplacedRecords: number; checkedRecords: number; pausedMs: number}>(grow.events, 'post-check')!
    expect(summary.checkedRecords).toBeGreaterThan(0)
    expect(summary.misplacedRecords).toBe(0)
    expect(summary.pausedMs).toBeGreaterThan(0)
    expect((await kreorg.producersView()).lease).toBeNull()
  })

  it('0 per-key ordering violations, 0 lost, 0 duplicated in both groups', () => {
    const produced = kreorg.traffic.sent.total
    expect(produced).toBeGreaterThan(2000)
    for (const [name, report] of Object.entries(kreorgReports)) {
      expect({
        group: name,
        violations: report.violations,
        lost: report.lost,
        duplicated: report.duplicated,
        violatingKeys: report.violatingKeys,
      }).toEqual({
        group: name,
        violations: 0,
        lost: 0,
        duplicated: 0,
        violatingKeys: [],
      })
      expect(report.consumed).toBe(produced)
    }
  })

  it('both groups were proven on the new partitions while producers ran pinned, then consumed them from their first record and committed their end', async () => {
    const prime = stepResult<{groups: Array<{groupId: string; proof: string}>; markers: Record<string, number>}>(
      grow.events,
      'prime-consumers',
    )!
    expect(prime.groups.map((g) => g.groupId).sort()).toEqual(kreorg.groups.map((g) => g.groupId).sort())
    expect(prime.groups.every((g) => g.proof === 'committed')).toBe(true)
    const rows = await kreorg.coverage([12, 13, 14, 15], prime.markers)
    expect(rows).toHaveLength(2 * 4)
    for (const row of rows) {
      expect(row.end, `${row.group} p${row.partition}`).toBeGreaterThan(0)
      expect(row.committed, `${row.group} p${row.partition}`).toBe(row.end)
      expect(row.consumedFromZero, `${row.group} p${row.partition} processed offsets 0..${row.end - 1}`).toBe(true)
    }
  })

  it('the naive twin (createPartitions under running producers) breaks per-key order', async () => {
    expect(await naive.partitionCount()).toBe(TO)
    const violations = Object.values(naiveReports).reduce((sum, r) => sum + r.violations, 0)
    const lost = Object.values(naiveReports).reduce((sum, r) => sum + r.lost, 0)
    expect(violations + lost, JSON.stringify(naiveReports)).toBeGreaterThan(0)
    expect(violations, JSON.stringify(naiveReports)).toBeGreaterThan(0)
  })
})

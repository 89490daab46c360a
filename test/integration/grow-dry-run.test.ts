import {promises as fs} from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {describeRun, dryRunPlan, exists, GrowWorld, runGrowCli, tempDir} from '../helpers/grow-fixtures.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'

/**
 * `kreorg grow --dry-run` prints the plan and changes nothing: not the topic, not the control topic
 * (not even creating it), not any group's offsets, not the state dir. The world here is still on
 * purpose — records written through an agent whose heartbeat is slow, groups with committed offsets
 * and no members — so "unchanged" can be checked exactly.
 */

const FROM = 12
const TO = 16
let cluster: KafkaCluster
let world: GrowWorld
let scratch: string
const doneGroup = randomName('grow-dry-done')
const staleGroup = randomName('grow-dry-stale')

async function snapshot(controlTopic: string) {
  const topics = new Set(await cluster.listTopics())
  const groups: Record<string, unknown> = {}
  for (const group of [doneGroup, staleGroup]) groups[group] = await cluster.committedOffsets(group, world.topic)
  return {
    partitions: await world.partitionCount(),
    topicEnd: await cluster.endOffsets(world.topic),
    // Topics of this test only: other test files create topics on the shared broker meanwhile.
    topics: [world.topic, world.controlTopic, controlTopic].filter((t) => topics.has(t)),
    controlEnd: topics.has(controlTopic) ? await cluster.endOffsets(controlTopic) : null,
    groups,
  }
}

beforeAll(async () => {
  cluster = await connectTestCluster()
  scratch = await tempDir('kreorg-grow-dry-')
  // One agent; its heartbeats go to the heartbeat topic (protocol 1.1), so the control topic stays still.
  world = await new GrowWorld({cluster, partitions: FROM, writers: 'agent', groups: [], producers: 1, keys: 50, ratePerSec: 200}).start()
  await sleep(1000)
  await world.stopTraffic()
  // A group that consumed everything and left: Empty, lag 0.
  const ends = await cluster.endOffsets(world.topic)
  await cluster.commitOffsets(
    doneGroup,
    world.topic,
    ends.map((o) => ({partition: o.partition, offset: o.high})),
  )
  // Let a heartbeat carrying the agent's producer id and last write land before anything is compared.
  await sleep(2500)
}, 120_000)

afterAll(async () => {
  await world?.close()
  await cluster?.close()
  if (scratch) await fs.rm(scratch, {recursive: true, force: true})
})

describe('kreorg grow --dry-run', () => {
  it('prints the plan (JSON) and leaves topic, control topic, group offsets and a missing state dir untouched', async () => {
    const stateDir = path.join(scratch, 'never-created')
    const before = await snapshot(world.controlTopic)
    // The agent created the control topic; its heartbeats go to the heartbeat topic, so nothing else writes here.
    expect(before.controlEnd).not.toBeNull()
    const result = await runGrowCli(world.growArgs(TO, stateDir, ['--dry-run']))
    expect(result.code, describeRun(result)).toBe(0)
    const plan = dryRunPlan(result.events)
    expect(plan.dryRun).toBe(true)
    expect(plan.plan).toMatchObject({from: FROM, to: TO, blockers: []})
    expect(plan.plan.agents.map((a) => a.agentId)).toEqual(world.agents.map((a) => a.agentId))
    expect(plan.plan.groups).toEqual([expect.objectContaining({groupId: doneGroup, lag: 0})])
    expect(await snapshot(world.controlTopic)).toEqual(before)
    expect(await exists(stateDir)).toBe(false)
    for (const agent of world.agents) expect(agent.topicState(world.topic).state).toBe('running')
    for (const agent of world.agents) expect(agent.topicState(world.topic).runId, 'never saw a pause').toBeUndefined()
  })

  it('does not create the control topic when it is absent, and says no agents are registered (a blocker without --no-producers)', async () => {
    const absent = randomName('grow-dry-ctl')
    const stateDir = await fs.mkdtemp(path.join(scratch, 'empty-'))
    const before = await snapshot(absent)
    const result = await runGrowCli([
      'grow',
      world.topic,
      '--to',
      String(TO),
      '--dry-run',
      '--state-dir',
      stateDir,
      '--control-topic',
      absent,
      '--sample',
      '100',
    ])
    expect(result.code, describeRun(result)).toBe(3)
    const plan = dryRunPlan(result.events)
    expect(plan.plan.agents).toEqual([])
    // Without agents (a control topic nobody uses) grow would refuse unless --no-producers; a dry run says so.
    expect(plan.plan.blockers.join('\n')).toMatch(/no producer agents are registered.*--no-producers/)
    expect(await cluster.listTopics()).not.toContain(absent)
    expect(await snapshot(absent)).toEqual(before)
    expect(await fs.readdir(stateDir)).toEqual([])
  })

  it('with an inactive group holding lag: prints the blocker, exits 3, and still changes nothing', async () => {
    await cluster.commitOffsets(
      staleGroup,
      world.topic,
      Array.from({length: FROM}, (_, partition) => ({partition, offset: 0})),
    )
    const stateDir = await fs.mkdtemp(path.join(scratch, 'empty-'))
    const before = await snapshot(world.controlTopic)
    const result = await runGrowCli(world.growArgs(TO, stateDir, ['--dry-run']))
    expect(result.code, describeRun(result)).toBe(3)
    const plan = dryRunPlan(result.events)
    expect(plan.plan.blockers.join('\n')).toContain(staleGroup)
    expect(result.stderr).toContain(staleGroup)
    expect(await snapshot(world.controlTopic)).toEqual(before)
    expect(await fs.readdir(stateDir)).toEqual([])
  })

  it('human output (--ignore-group lifts the blocker) names the target and says nothing was changed', async () => {
    const stateDir = path.join(scratch, 'human')
    const result = await runGrowCli(world.growArgs(24, stateDir, ['--dry-run', '--ignore-group', staleGroup]), {json: false})
    expect(result.code, describeRun(result)).toBe(0)
    expect(await exists(stateDir)).toBe(false)
    expect(result.stdout).toContain('24')
    expect(result.stdout).toMatch(/Dry run: nothing was changed/)
    expect(await world.partitionCount()).toBe(FROM)
  })
})

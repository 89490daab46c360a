import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {createKafkaClient, javaCompatiblePartitioner, type Producer} from '../../src/kafka/client.js'
import {runCli} from '../helpers/cli.js'
import {cliEnv, connection, describeRun, type GrowEvent, GrowWorld, runGrowCli, tempDir} from '../helpers/grow-fixtures.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'

/**
 * Every way `kreorg grow` refuses or gives up before add-partitions: the documented exit code, the
 * topic unchanged, the producers never left paused or pinned (agents running unpinned, traffic
 * flowing), the lease released. One topic with live traffic through agents serves every case.
 */

const FROM = 12
let cluster: KafkaCluster
let world: GrowWorld
let stateDir: string

beforeAll(async () => {
  cluster = await connectTestCluster()
  stateDir = await tempDir()
  world = await new GrowWorld({cluster, partitions: FROM, writers: 'agent', groups: [{name: 'fast'}], keys: 60, ratePerSec: 150}).start()
  await sleep(1000)
}, 120_000)

afterAll(async () => {
  await world?.close()
  await cluster?.close()
  if (stateDir) await fs.rm(stateDir, {recursive: true, force: true})
})

/** What every failure must leave behind: producers running unpinned and writing, partitions unchanged, no lease. */
async function expectProducersRunningAndTopicUnchanged(): Promise<void> {
  for (const agent of world.agents) expect(agent.topicState(world.topic), agent.agentId).toMatchObject({state: 'running'})
  for (const agent of world.agents) expect(agent.topicState(world.topic).pinnedPartitions, agent.agentId).toBeUndefined()
  const view = await world.producersView()
  expect(view.lease).toBeNull()
  expect(view.agents).toHaveLength(world.agents.length)
  for (const agent of view.agents) expect(agent.states[world.topic]?.state, agent.agentId).toBe('running')
  expect(await world.trafficFlows(), 'end offsets grow after the failure').toBe(true)
  expect(await world.partitionCount()).toBe(FROM)
}

function failedStep(events: GrowEvent[]): unknown {
  return events.find((e) => e.event === 'step:fail')?.step
}

describe('kreorg grow refusals and failures before add-partitions (live traffic through agents)', () => {
  it('non-interactive without --yes: exit 2 telling the user to pass --yes; nothing paused', async () => {
    const result = await runGrowCli(world.growArgs(16, stateDir), {json: false})
    expect(result.code, describeRun(result)).toBe(2)
    expect(result.stderr).toMatch(/--yes/)
    // Never paused: no agent ever saw a command from a run.
    for (const agent of world.agents) expect(agent.topicState(world.topic).runId).toBeUndefined()
    await expectProducersRunningAndTopicUnchanged()
  })

  it('--to below the current count: exit 3; --to equal to it: exit 0, nothing to do', async () => {
    const below = await runGrowCli(world.growArgs(8, stateDir, ['--yes']))
    expect(below.code, describeRun(below)).toBe(3)
    expect(below.stderr).toContain(`already has ${FROM} partitions`)
    expect(failedStep(below.events)).toBe('preflight')
    const equal = await runGrowCli(world.growArgs(FROM, stateDir, ['--yes']))
    expect(equal.code, describeRun(equal)).toBe(0)
    expect(equal.events.find((e) => e.event === 'run:done')).toMatchObject({nothingToDo: true})
    await expectProducersRunningAndTopicUnchanged()
  })

  it('a missing topic: exit 3, no topic created', async () => {
    const missing = randomName('grow-missing')
    const result = await runGrowCli([
      'grow',
      missing,
      '--to',
      '16',
      '--yes',
      '--state-dir',
      stateDir,
      '--control-topic',
      world.controlTopic,
    ])
    expect(result.code, describeRun(result)).toBe(3)
    expect(result.stderr).toContain(missing)
    expect(await cluster.listTopics()).not.toContain(missing)
    await expectProducersRunningAndTopicUnchanged()
  })

  it('an unknown writer (a plain, non-idempotent producer without an agent): the writer inventory refuses in plan with exit 3, nothing pinned', async () => {
    const kafka = createKafkaClient(connection('kreorg-test-rogue'))
    const rogue: Producer = kafka.producer({createPartitioner: javaCompatiblePartitioner})
    await rogue.connect()
    let writing = true
    const loop = (async () => {
      for (let i = 0; writing; i++) {
        await rogue
          .send({topic: world.topic, messages: [{key: `rogue-${i % 7}`, value: JSON.stringify({k: 'rogue', s: -1})}]})
          .catch(() => {})
        await sleep(50)
      }
    })()
    let result
    try {
      result = await runGrowCli(world.growArgs(16, stateDir, ['--yes']))
    } finally {
      writing = false
      await loop
      await rogue.disconnect()
    }
    expect(result.code, describeRun(result)).toBe(3)
    expect(failedStep(result.events)).toBe('plan')
    expect(result.stderr).toMatch(/non-idempotent writes \(producer id -1\) on partition\(s\) .* while every agent is idempotent/)
    expect(result.events.some((e) => e.event === 'step:done' && e.step === 'pin-producers')).toBe(false)
    for (const agent of world.agents) expect(agent.topicState(world.topic).runId, 'never saw a command').toBeUndefined()
    await expectProducersRunningAndTopicUnchanged()
  })

  it('an inactive group with lag (committed offsets, no members): exit 3 naming the group, nothing pinned', async () => {
    const stale = randomName('grow-fail-stale')
    await cluster.commitOffsets(
      stale,
      world.topic,
      Array.from({length: FROM}, (_, partition) => ({partition, offset: 0})),
    )
    const [described] = await cluster.describeGroups([stale])
    expect(described?.members).toHaveLength(0)
    const result = await runGrowCli(world.growArgs(16, stateDir, ['--yes']))
    expect(result.code, describeRun(result)).toBe(3)
    expect(failedStep(result.events)).toBe('plan')
    expect(result.stderr).toContain(stale)
    expect(result.stderr).toContain('--ignore-group')
    expect(result.events.some((e) => e.event === 'step:done' && e.step === 'pin-producers')).toBe(false)
    await expectProducersRunningAndTopicUnchanged()
  })

  it('after all of that the topic lease is free: kreorg pause is not refused (then unpause)', async () => {
    const control = ['--control-topic', world.controlTopic, '--json']
    const paused = await runCli(['pause', world.topic, '--lease', '10s', '--ack-timeout', '10s', ...control], {env: cliEnv()})
    expect(paused.code, paused.stderr).toBe(0)
    const resumed = await runCli(['unpause', world.topic, '--ack-timeout', '10s', ...control], {env: cliEnv()})
    expect(resumed.code, resumed.stderr).toBe(0)
    await expectProducersRunningAndTopicUnchanged()
  })
})

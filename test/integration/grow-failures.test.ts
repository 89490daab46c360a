import {promises as fs} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {createKafkaClient, javaCompatiblePartitioner, type Producer} from '../../src/kafka/client.js'
import type {KafkaCluster} from '../../src/kafka/types.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'
import {GrowWorld, cliEnv, connection, describeRun, runGrowCli, tempDir, type GrowEvent} from '../helpers/grow-fixtures.js'
import {runCli} from '../helpers/cli.js'

/**
 * Every way `kreorg grow` refuses or gives up before add-partitions: the documented exit code, the
 * topic unchanged, the producers never left paused (agents running, traffic flowing again), the lease
 * released. One topic with live traffic through agents serves every case, in an order where each
 * case's leftovers set up the next (a slow group for the drain timeout becomes the inactive group).
 */

const FROM = 12
let cluster: KafkaCluster
let world: GrowWorld
let stateDir: string

beforeAll(async () => {
  cluster = await connectTestCluster()
  stateDir = await tempDir()
  world = await new GrowWorld({cluster, partitions: FROM, writers: 'agent', groups: [{name: 'fast'}], keys: 60, ratePerSec: 150}).start()
  await sleep(1_000)
}, 120_000)

afterAll(async () => {
  await world?.close()
  await cluster?.close()
  if (stateDir) await fs.rm(stateDir, {recursive: true, force: true})
})

/** What every failure must leave behind: producers running and writing, partitions unchanged, no lease. */
async function expectProducersRunningAndTopicUnchanged(): Promise<void> {
  for (const agent of world.agents) expect(agent.topicState(world.topic).state, agent.agentId).toBe('running')
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

  it('--to at or below the current count: exit 3', async () => {
    for (const to of [FROM, 8]) {
      const result = await runGrowCli(world.growArgs(to, stateDir, ['--yes']))
      expect(result.code, describeRun(result)).toBe(3)
      expect(result.stderr).toContain(`already has ${FROM} partitions`)
      expect(failedStep(result.events)).toBe('preflight')
    }
    await expectProducersRunningAndTopicUnchanged()
  })

  it('a missing topic: exit 3, no topic created', async () => {
    const missing = randomName('grow-missing')
    const result = await runGrowCli(['grow', missing, '--to', '16', '--yes', '--state-dir', stateDir, '--control-topic', world.controlTopic])
    expect(result.code, describeRun(result)).toBe(3)
    expect(result.stderr).toContain(missing)
    expect(await cluster.listTopics()).not.toContain(missing)
    await expectProducersRunningAndTopicUnchanged()
  })

  it('an unknown writer (a plain producer without an agent): quiesce stops with exit 3 and resumes the agents', async () => {
    const kafka = createKafkaClient(connection('kreorg-test-rogue'))
    const rogue: Producer = kafka.producer({createPartitioner: javaCompatiblePartitioner})
    await rogue.connect()
    let writing = true
    const loop = (async () => {
      for (let i = 0; writing; i++) {
        await rogue.send({topic: world.topic, messages: [{key: `rogue-${i % 7}`, value: JSON.stringify({k: 'rogue', s: -1})}]}).catch(() => {})
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
    expect(failedStep(result.events)).toBe('quiesce')
    expect(result.events.some((e) => e.event === 'step:done' && e.step === 'pause-producers'), 'agents were really paused first').toBe(true)
    expect(result.stderr).toMatch(/without the kreorg agent/)
    expect(result.events.some((e) => e.event === 'warning' && /producers resumed/.test(String(e.message)))).toBe(true)
    await expectProducersRunningAndTopicUnchanged()
  })

  it('a group too slow to drain within --drain-timeout: exit 4, producers resumed', async () => {
    // Reads from the start at 5 records/s: thousands of records of lag, but active and committing.
    const slow = await world.addGroup({name: 'slow', ratePerSec: 5, fromBeginning: true})
    const deadline = Date.now() + 15_000
    while (!(await cluster.committedOffsets(slow.groupId, world.topic)).some((o) => o.offset >= 0)) {
      if (Date.now() > deadline) throw new Error('slow group never committed')
      await sleep(200)
    }
    const result = await runGrowCli(world.growArgs(16, stateDir, ['--yes', '--drain-timeout', '3s']))
    expect(result.code, describeRun(result)).toBe(4)
    expect(failedStep(result.events)).toBe('drain')
    expect(result.stderr).toMatch(/lag/)
    await expectProducersRunningAndTopicUnchanged()
  })

  it('an inactive group with lag (committed offsets, no members): exit 3 naming the group, nothing paused', async () => {
    const slow = world.group('slow')
    await slow.stop()
    world.groups.splice(world.groups.indexOf(slow), 1)
    const [described] = await cluster.describeGroups([slow.groupId])
    expect(described?.members).toHaveLength(0)
    const result = await runGrowCli(world.growArgs(16, stateDir, ['--yes']))
    expect(result.code, describeRun(result)).toBe(3)
    expect(failedStep(result.events)).toBe('plan')
    expect(result.stderr).toContain(slow.groupId)
    expect(result.stderr).toContain('--ignore-group')
    expect(result.events.some((e) => e.event === 'step:done' && e.step === 'pause-producers')).toBe(false)
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

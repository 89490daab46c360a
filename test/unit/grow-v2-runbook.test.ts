import {promises as fs} from 'node:fs'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {AnyRunbook, RunEvent} from '../../src/runbook/types.js'
import type {GrowInputs, PrimeConsumersResult} from '../../src/steps/grow/context.js'

import {growRunbook} from '../../runbooks/grow.js'
import {type RunOutcome, startRun} from '../../src/runbook/engine.js'
import {fakeEngineOptions} from '../fakes/fake-engine.js'
import {fakeGrow, type FakeGrow} from '../fakes/fake-grow.js'

// The whole v2 grow runbook (pin first) on a fake cluster and control channel, through the real
// engine: which commands reach the agents in which order, how groups are proven on the new
// partitions, and which exit code each failure carries. Kafka's own behaviour (markers, commits of
// real consumers) is proven in test/integration/grow-prime.test.ts on a real broker.

// Retry pauses are recorded, not slept (test/fakes/recorded-sleeps.ts).
vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

function runbookOn(world: FakeGrow): AnyRunbook {
  return {...growRunbook, setup: async () => ({services: world.services, async close() {}})} as unknown as AnyRunbook
}

async function run(world: FakeGrow, inputs: Partial<GrowInputs> = {}): Promise<{outcome: RunOutcome; events: RunEvent[]}> {
  const runbook = runbookOn(world)
  const events: RunEvent[] = []
  const options = await fakeEngineOptions(runbook, events, dirs, {runId: world.runId})
  const outcome = await startRun(runbook, {...world.inputs, ...inputs}, options)
  return {outcome, events}
}

/** An active group reading every partition, caught up on the old ones: it commits a new partition once a marker passes it. */
function activeGroup(world: FakeGrow, groupId = 'search', options: {commitsPastMarkers?: boolean; groupInstanceId?: string} = {}): string {
  world.cluster.setGroup(groupId, {
    members: [
      {
        clientId: `${groupId}-client`,
        ...(options.groupInstanceId ? {groupInstanceId: options.groupInstanceId} : {}),
        assignment: {[world.topic]: [0, 1, 2, 3, 4, 5, 6, 7]},
      },
    ],
  })
  world.cluster.catchUp(groupId, world.topic)
  if (options.commitsPastMarkers ?? true) {
    world.cluster.on('writeAbortMarkers', (args) => {
      const [, partitions] = args as [string, number[]]
      // The consumer passes the marker about to be written at the partition's end and commits after it.
      void world.cluster.highWatermarks(world.topic).then((hwms) => {
        world.cluster.commit(
          groupId,
          world.topic,
          partitions.map((partition) => ({partition, offset: (hwms.find((o) => o.partition === partition)?.high ?? 0) + 1})),
        )
      })
    })
  }
  return groupId
}

function failure(outcome: RunOutcome) {
  expect(outcome.status).toBe('failed')
  if (outcome.status !== 'failed') throw new Error('not failed')
  return outcome.error
}

function result<T>(events: RunEvent[], step: string): T {
  return (events.find((e) => e.event === 'step:done' && e.step === step) as {result: T} | undefined)!.result
}

describe('grow v2 on fakes: the whole runbook', () => {
  it('pins, grows, proves an active group through markers and primes an empty one, then pauses, drains and resumes with the target', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const search = activeGroup(world)

    const {outcome, events} = await run(world)

    expect(outcome.status, JSON.stringify(events.filter((e) => e.event === 'run:fail'))).toBe('done')
    expect(world.control.actions(world.topic)).toEqual(['pin', 'pause', 'refresh', 'resume'])
    expect(world.control.commands[0]).toMatchObject({action: 'pin', pinPartitions: 4, epoch: world.services.epoch})
    expect(world.control.currentCommand(world.topic)).toMatchObject({action: 'resume', targetPartitions: 8})
    const prime = result<PrimeConsumersResult>(events, 'prime-consumers')
    expect(prime.groups).toEqual(
      expect.arrayContaining([
        {groupId: world.group, proof: 'primed-empty'},
        {groupId: search, proof: 'committed'},
      ]),
    )
    // One marker on each new partition, and nothing else there.
    expect(prime.markers).toEqual({4: 1, 5: 1, 6: 1, 7: 1})
    expect((await world.cluster.committedOffsets(world.group, world.topic)).slice(4).map((o) => o.offset)).toEqual([0, 0, 0, 0])
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic))).toEqual([
      expect.objectContaining({state: 'running', partitionCount: 8}),
      expect.objectContaining({state: 'running', partitionCount: 8}),
    ])
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic)?.pinnedPartitions)).toEqual([undefined, undefined])
    const summary = result<{declaredCounts: string[]; pausedMs: number}>(events, 'post-check')
    expect(summary.declaredCounts.join('\n')).toMatch(/Terraform.*partitions = 8[\s\S]*Strimzi.*spec\.partitions: 8[\s\S]*topicctl/)
    // run:done carries the same summary, so a pipeline reading only the last event learns what to update.
    expect(events.at(-1)).toMatchObject({event: 'run:done', summary: {topic: world.topic, to: 8, declaredCounts: summary.declaredCounts}})
  })

  it('a record in a new partition that is not a kreorg marker: prime-consumers stops with exit 7, producers stay pinned', async () => {
    const world = fakeGrow({from: 4, to: 8})
    activeGroup(world, 'search', {commitsPastMarkers: false})
    world.cluster.on('writeAbortMarkers', () => world.cluster.produce(world.topic, 6, 1, 4242))

    const error = failure((await run(world)).outcome)

    expect(error).toMatchObject({code: 'incomplete', exitCode: 7, step: 'prime-consumers'})
    expect(error.message).toContain('partition 6')
    expect(error.message).toContain('producer id 4242')
    expect(error.suggestions.join(' ')).toContain(`kreorg resume ${world.runId}`)
    expect(world.control.actions(world.topic)).toEqual(['pin'])
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic)?.pinnedPartitions)).toEqual([4, 4])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(false)
  })

  it('a group that never commits on the new partitions: exit 7 after --prime-timeout, naming the group, its members and the partitions', async () => {
    const world = fakeGrow({from: 4, to: 8})
    activeGroup(world, 'kafkajs-default', {commitsPastMarkers: false, groupInstanceId: 'static-1'})

    const error = failure((await run(world, {pickupTimeoutMs: 50})).outcome)

    expect(error).toMatchObject({code: 'incomplete', exitCode: 7, step: 'prime-consumers'})
    expect(error.message).toContain('kafkajs-default: no committed offset on 4,5,6,7')
    expect(error.message).toContain('kafkajs-default-client (static static-1) owns 4,5,6,7')
    expect(error.suggestions.join(' ')).toContain('--trust-group')
    expect(world.cluster.callsOf('writeAbortMarkers').length).toBeGreaterThan(0)
    expect(world.control.actions(world.topic)).toEqual(['pin'])
  })

  it('--trust-group: a group that owns every new partition counts as proven without commits', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const group = activeGroup(world, 'kafkajs-default', {commitsPastMarkers: false})

    const {outcome, events} = await run(world, {trustGroups: [group]})

    expect(outcome.status).toBe('done')
    expect(result<PrimeConsumersResult>(events, 'prime-consumers').trusted).toEqual([group])
  })

  it('a group that goes empty while waiting gets offset 0 committed and counts as primed', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const group = activeGroup(world, 'leaving', {commitsPastMarkers: false})
    world.cluster.on('writeAbortMarkers', () => world.cluster.setGroup(group))

    const {outcome, events} = await run(world)

    expect(outcome.status).toBe('done')
    expect(result<PrimeConsumersResult>(events, 'prime-consumers').committed).toContain(group)
    // The markers written meanwhile stay below the committed 0: the group reads them as nothing.
    expect((await world.cluster.committedOffsets(group, world.topic)).slice(4).map((o) => o.offset)).toEqual([0, 0, 0, 0])
  })

  it('a write while every agent is paused: drain stops with exit 7 naming the partition, no resume', async () => {
    const world = fakeGrow({from: 4, to: 8})
    let readsSincePause = -1
    const pause = world.services.control.pause.bind(world.services.control)
    world.services.control.pause = async (topic, command) => {
      await pause(topic, command)
      readsSincePause = 0
    }
    // The first read after the pause is quiesce's snapshot; someone writes before drain's first read.
    world.cluster.on('highWatermarks', () => {
      if (readsSincePause >= 0 && ++readsSincePause === 2) world.cluster.produce(world.topic, 2, 3, 5555)
    })

    const error = failure((await run(world)).outcome)

    expect(error).toMatchObject({code: 'incomplete', exitCode: 7, step: 'drain'})
    expect(error.message).toContain('partitions 2 (+3)')
    expect(world.control.actions(world.topic)).toEqual(['pin', 'pause'])
  })

  it('zero agents: plan refuses (exit 3) unless --no-producers, which runs the whole grow', async () => {
    const refused = fakeGrow({from: 4, to: 8, agents: 0})
    const error = failure((await run(refused)).outcome)
    expect(error).toMatchObject({code: 'precondition', exitCode: 3, step: 'plan'})
    expect(error.message).toContain('--no-producers')
    expect(refused.cluster.partitionCount(refused.topic)).toBe(4)

    const allowed = fakeGrow({from: 4, to: 8, agents: 0})
    const {outcome} = await run(allowed, {noProducers: true})
    expect(outcome.status).toBe('done')
    expect(allowed.cluster.partitionCount(allowed.topic)).toBe(8)
  })

  it('an agent older than protocol 1.1, or with a partitioner kreorg cannot predict: plan refuses (exit 3), nothing changed', async () => {
    const world = fakeGrow({from: 4, to: 8, agents: 0})
    world.control.addAgent('old-agent', {topics: [world.topic], partitionCount: {[world.topic]: 4}, capabilities: null})
    world.control.addAgent('custom-agent', {
      topics: [world.topic],
      partitionCount: {[world.topic]: 4},
      partitioner: 'custom',
      producerId: 5,
    })

    const error = failure((await run(world)).outcome)

    expect(error).toMatchObject({code: 'precondition', exitCode: 3, step: 'plan'})
    expect(error.message).toContain('agent old-agent (fake-host) advertises no capabilities')
    expect(error.message).toContain('agent custom-agent (fake-host) uses partitioner "custom"')
    expect(world.control.actions(world.topic)).toEqual([])
  })

  it('agents with librdkafka partitioners: canaries are checked against their own partitioner', async () => {
    const world = fakeGrow({from: 4, to: 8, agents: 0})
    world.control.addAgent('rdkafka', {
      topics: [world.topic],
      partitionCount: {[world.topic]: 4},
      partitioner: 'consistent_random',
      producerId: 1,
    })
    world.control.addAgent('sarama-like', {topics: [world.topic], partitionCount: {[world.topic]: 4}, partitioner: 'fnv1a', producerId: 2})

    const {outcome, events} = await run(world)

    expect(outcome.status).toBe('done')
    expect(result<{partitioners: Record<string, string>}>(events, 'verify-mapping').partitioners).toEqual({
      rdkafka: 'consistent_random',
      'sarama-like': 'fnv1a',
    })
  })

  it('a compacted topic: preflight refuses with exit 3 and the reason', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.addTopic('profiles', {partitions: 4, replicationFactor: 3, configs: {'cleanup.policy': 'compact'}})

    const error = failure((await run(world, {topic: 'profiles'})).outcome)

    expect(error).toMatchObject({code: 'precondition', exitCode: 3, step: 'preflight'})
    expect(error.message).toContain('cleanup.policy=compact')
    expect(error.message).toContain('stale values')
    expect(world.cluster.partitionCount('profiles')).toBe(4)
  })

  it('a Kafka Streams application reads the topic: plan refuses unless --allow-streams', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.setGroup('orders-app', {members: [{assignment: {[world.topic]: [0, 1, 2, 3]}}]}).catchUp('orders-app', world.topic)
    world.cluster.addTopic('orders-app-store-changelog', {partitions: 4})

    const error = failure((await run(world)).outcome)
    expect(error).toMatchObject({code: 'precondition', exitCode: 3, step: 'plan'})
    expect(error.message).toContain('group orders-app is a Kafka Streams application (internal topic orders-app-store-changelog)')
    expect(error.message).toContain('--allow-streams')
  })
})

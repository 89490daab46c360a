import {promises as fs} from 'node:fs'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {AnyRunbook, RunEvent} from '../../src/runbook/types.js'

import {growRunbook} from '../../runbooks/grow.js'
import {parseGrowTargets} from '../../src/cli/grow-targets.js'
import {type RunOutcome, startRun} from '../../src/runbook/engine.js'
import {parseGrowInputs} from '../../src/steps/grow/inputs.js'
import {coPartitionBreak} from '../../src/steps/grow/topic-set.js'
import {fakeEngineOptions} from '../fakes/fake-engine.js'
import {fakeGrow, type FakeGrow} from '../fakes/fake-grow.js'
import {protocolError} from '../fakes/faults.js'

// Several topics in one grow (issue 16): the argument parsing, the co-partitioning rule, and the
// whole runbook over two topics on fakes through the real engine. The real-broker proof is
// test/e2e/grow-topics.test.ts (Java judges, a join's view of the layout, a SIGKILL and resume).

vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

describe('grow a b --to N: targets', () => {
  it('one bare count for every topic, or topic=count per topic with a bare default', () => {
    expect(parseGrowTargets(['orders', 'payments'], ['16'])).toEqual([
      {topic: 'orders', to: 16},
      {topic: 'payments', to: 16},
    ])
    expect(parseGrowTargets(['orders', 'payments', 'audit'], ['16', 'audit=32'])).toEqual([
      {topic: 'orders', to: 16},
      {topic: 'payments', to: 16},
      {topic: 'audit', to: 32},
    ])
  })

  it.each([
    [['orders', 'payments'], ['orders=16'], /no --to for payments/],
    [['orders'], ['16', '24'], /only one --to without a topic name/],
    [['orders'], ['billing=16'], /billing is not one of the topics to grow/],
    [['orders', 'orders'], ['16'], /orders is named twice/],
    [['orders'], ['1'], /at least 2/],
    [['orders'], ['sixteen'], /expected a count \(--to 16\) or topic=count/],
    [['orders', '--bogus'], ['16'], /unknown flag --bogus/],
  ])('%j --to %j: a usage error (exit 2) naming what is wrong', (topics, to, message) => {
    expect(() => parseGrowTargets(topics, to)).toThrow(message)
    try {
      parseGrowTargets(topics, to)
    } catch (error) {
      expect(error).toMatchObject({code: 'usage', exitCode: 2})
    }
  })

  it('a checkpoint whose targets do not start with topic/to, or name a topic twice, is refused', () => {
    const base = fakeGrow().inputs
    expect(() =>
      parseGrowInputs({
        ...base,
        targets: [
          {topic: 'x', to: 8},
          {topic: base.topic, to: 8},
        ],
      }),
    ).toThrow(/first target/)
    expect(() =>
      parseGrowInputs({
        ...base,
        targets: [
          {topic: base.topic, to: base.to},
          {topic: base.topic, to: base.to},
        ],
      }),
    ).toThrow(/named twice/)
  })
})

describe('co-partitioning kept', () => {
  it('topics with equal counts today must get equal targets; unequal counts today may differ', () => {
    const counts = new Map([
      ['orders', 12],
      ['payments', 12],
      ['audit', 6],
    ])
    expect(
      coPartitionBreak(
        [
          {topic: 'orders', to: 16},
          {topic: 'payments', to: 16},
          {topic: 'audit', to: 24},
        ],
        counts,
      ),
    ).toBeUndefined()
    const broken = coPartitionBreak(
      [
        {topic: 'orders', to: 16},
        {topic: 'payments', to: 24},
      ],
      counts,
    )
    expect(broken).toMatchObject({code: 'precondition', exitCode: 3})
    expect(broken?.message).toMatch(/orders and payments both have 12 partitions today .* would end at 16 and 24/)
  })
})

const SECOND = 'payments'

/** The fake world with a second topic of the same count, its own agent, and a group on it. */
function twoTopics(): FakeGrow {
  const world = fakeGrow({from: 4, to: 8})
  world.cluster.addTopic(SECOND, {partitions: 4, replicationFactor: 3, records: 10})
  world.cluster.setGroup('payments-reader').catchUp('payments-reader', SECOND)
  world.control.addAgent('payments-agent', {topics: [SECOND], partitionCount: {[SECOND]: 4}, producerId: 200})
  world.inputs.targets = [
    {topic: world.topic, to: 8},
    {topic: SECOND, to: 8},
  ]
  return world
}

async function run(world: FakeGrow): Promise<{outcome: RunOutcome; events: RunEvent[]}> {
  const runbook = {...growRunbook, setup: async () => ({services: world.services, async close() {}})} as unknown as AnyRunbook
  const events: RunEvent[] = []
  const options = await fakeEngineOptions(runbook, events, dirs, {runId: world.runId})
  return {outcome: await startRun(runbook, world.inputs, options), events}
}

describe('grow of two topics on fakes', () => {
  it('pins both, alters both, pauses both before either resumes, and records each topic’s result', async () => {
    const world = twoTopics()
    const {outcome, events} = await run(world)

    expect(outcome.status, JSON.stringify(events.filter((e) => e.event === 'run:fail'))).toBe('done')
    expect((await world.cluster.describeTopic(world.topic)).partitions).toHaveLength(8)
    expect((await world.cluster.describeTopic(SECOND)).partitions).toHaveLength(8)
    const sequence = world.control.commands.map((c) => `${c.action}:${c.topic}`)
    expect(sequence).toEqual([
      `pin:${world.topic}`,
      `pin:${SECOND}`,
      `pause:${world.topic}`,
      `pause:${SECOND}`,
      `refresh:${world.topic}`,
      `refresh:${SECOND}`,
      `resume:${world.topic}`,
      `resume:${SECOND}`,
    ])
    for (const topic of [world.topic, SECOND]) expect(world.control.currentCommand(topic)).toMatchObject({targetPartitions: 8})
    const added = (
      events.find((e) => e.event === 'step:done' && e.step === 'add-partitions') as {result: {byTopic: Record<string, unknown>}}
    ).result
    expect(added.byTopic).toEqual({
      [world.topic]: expect.objectContaining({from: 4, to: 8, alreadyAtTarget: false}),
      [SECOND]: expect.objectContaining({from: 4, to: 8, alreadyAtTarget: false}),
    })
    expect(events.at(-1)).toMatchObject({
      event: 'run:done',
      summary: {byTopic: {[world.topic]: {topic: world.topic, to: 8}, [SECOND]: {topic: SECOND, to: 8}}},
    })
    // Both leases were taken and released.
    for (const topic of [world.topic, SECOND]) expect(world.control.leaseEntry(topic)?.released).toBe(true)
  })

  it('the second topic has no agent (and no --no-producers): refused at plan (exit 3), both topics unchanged, nothing pinned', async () => {
    const world = twoTopics()
    world.control.removeAgent('payments-agent')
    const {outcome, events} = await run(world)

    expect(outcome.status).toBe('failed')
    const failed = events.find((e) => e.event === 'run:fail') as {error?: {exitCode?: number; message?: string}} | undefined
    expect(failed?.error?.exitCode, JSON.stringify(failed)).toBe(3)
    expect((await world.cluster.describeTopic(world.topic)).partitions).toHaveLength(4)
    expect((await world.cluster.describeTopic(SECOND)).partitions).toHaveLength(4)
    expect(world.cluster.callsOf('createPartitions')).toHaveLength(0)
    expect(world.control.commands).toEqual([])
    expect(failed?.error?.message).toMatch(new RegExp(`${SECOND}: .*agent`))
  })

  it('co-partitioned today, different targets: refused at preflight (exit 3), nothing pinned', async () => {
    const world = twoTopics()
    world.inputs.targets = [
      {topic: world.topic, to: 8},
      {topic: SECOND, to: 12},
    ]
    const {outcome, events} = await run(world)

    expect(outcome.status).toBe('failed')
    const failed = events.find((e) => e.event === 'run:fail') as {error?: {exitCode?: number; message?: string}} | undefined
    expect(failed?.error).toMatchObject({exitCode: 3})
    expect(failed?.error?.message).toMatch(/co-partitioned/)
    expect(world.control.commands).toEqual([])
  })

  it('the alter refused for the set: both topics unchanged, both pins lifted with the unchanged count, both leases released', async () => {
    const world = twoTopics()
    world.cluster.faults.failNext('createPartitions', protocolError('POLICY_VIOLATION', 'Topic partition count may not exceed 6'))
    const {outcome, events} = await run(world)

    expect(outcome.status).toBe('failed')
    const failed = events.find((e) => e.event === 'run:fail') as {error?: {exitCode?: number}} | undefined
    expect(failed?.error?.exitCode, JSON.stringify(failed)).not.toBe(7)
    for (const topic of [world.topic, SECOND]) {
      expect((await world.cluster.describeTopic(topic)).partitions).toHaveLength(4)
      expect(world.control.actions(topic)).toEqual(['pin', 'resume'])
      expect(world.control.currentCommand(topic)).toMatchObject({action: 'resume', targetPartitions: 4})
      expect(world.control.leaseEntry(topic)?.released).toBe(true)
    }
  })
})

import {describe, expect, it, vi} from 'vitest'

import {KreorgError} from '../../src/core/errors.js'
import {pauseProducers, pinProducers, unpinProducers} from '../../src/steps/grow/producers.js'
import {revalidateGrow, undoBeforeAlter} from '../../src/steps/grow/recovery.js'
import {fakeGrow, type FakeGrow, heldLease, preflightResult} from '../fakes/fake-grow.js'
import {connectionReset, protocolError} from '../fakes/faults.js'
import {sleeps} from '../fakes/recorded-sleeps.js'

// Recovery logic of `kreorg grow` on fakes: what revalidation (on resume) and the failure path decide
// from the checkpoint's results and the control channel's state. Kafka's own behaviour is not
// claimed here (test/e2e/grow-crash.test.ts and faults.test.ts run the same paths on real brokers).

// Retry pauses are recorded, not slept (test/fakes/recorded-sleeps.ts).
vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

/** A run whose producers were pinned before kreorg died (the topic not yet grown), its lease taken. */
async function pinnedRun(world: FakeGrow) {
  const ctx = world.context({preflight: preflightResult(world)})
  const pin = await pinProducers(ctx)
  expect(world.agentIds.map((id) => world.control.agentState(id, world.topic)?.pinnedPartitions)).toEqual([4, 4])
  return {preflight: preflightResult(world), 'pin-producers': pin}
}

/** Grown, consumers proven and producers paused (still pinned) before kreorg died. */
async function pausedAfterAlter(world: FakeGrow) {
  const results = await pinnedRun(world)
  await world.cluster.createPartitions(world.topic, 8)
  const add = {from: 4, to: 8, addedAt: Date.now(), addMs: 1, alreadyAtTarget: false}
  const pause = await pauseProducers(world.context({...results, 'add-partitions': add}))
  expect(world.agentIds.map((id) => world.control.agentState(id, world.topic)?.state)).toEqual(['paused', 'paused'])
  return {...results, 'add-partitions': add, 'pause-producers': pause}
}

describe('revalidateGrow (on resume)', () => {
  it('a run that never got past preflight has nothing to revalidate and takes no lease', async () => {
    const world = fakeGrow()
    await expect(revalidateGrow(world.context({}, {resumed: true}))).resolves.toBeUndefined()
    expect(world.control.leaseEvents).toEqual([])
  })

  it('before the alter, the lease lapsed: redo from pin-producers, say why, and hold the lease again', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    world.services.lease = undefined
    world.control.lapseLease(world.topic)

    const redoFrom = await revalidateGrow(world.context(results, {resumed: true}))

    expect(redoFrom).toBe('pin-producers')
    expect(world.warnings).toEqual([expect.stringContaining('pinning the producers again before adding partitions')])
    expect(heldLease(world)?.valid()).toBe(true)
    expect((await world.control.currentLease(world.topic))?.runId).toBe(world.runId)
  })

  it('before the alter, our lease still holds: continue where the run stopped, re-entering the same lease', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    world.services.lease = undefined

    await expect(revalidateGrow(world.context(results, {resumed: true}))).resolves.toBeUndefined()

    expect(world.warnings).toEqual([])
    expect(heldLease(world)?.valid()).toBe(true)
    expect(world.control.leaseEvents.filter((e) => e.op === 'claim').map((e) => e.runId)).toEqual([world.runId, world.runId])
    expect(world.control.actions(world.topic)).toEqual(['pin'])
  })

  it('after the alter, paused and the lease lapsed (agents resumed by themselves, still pinned): redo from pause-producers', async () => {
    const world = fakeGrow()
    const results = await pausedAfterAlter(world)
    world.services.lease = undefined
    world.control.lapseLease(world.topic)
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic))).toEqual([
      expect.objectContaining({state: 'running', pinnedPartitions: 4}),
      expect.objectContaining({state: 'running', pinnedPartitions: 4}),
    ])

    const redoFrom = await revalidateGrow(
      world.context({...results, quiesce: {highWatermarks: [], snapshotAt: Date.now(), quietMs: 0}}, {resumed: true}),
    )

    expect(redoFrom).toBe('pause-producers')
    expect(world.warnings).toEqual([expect.stringContaining('pausing and draining again')])
  })

  it('after the alter, pinned but not paused (priming consumers) and the lease lapsed: the pin holds, continue forward', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    await world.cluster.createPartitions(world.topic, 8)
    world.services.lease = undefined
    world.control.lapseLease(world.topic)

    await expect(revalidateGrow(world.context(results, {resumed: true}))).resolves.toBeUndefined()
    expect(world.warnings).toEqual([])
  })

  it('producers were already resumed: a lapsed lease changes nothing, only forward makes sense', async () => {
    const world = fakeGrow()
    const results = await pausedAfterAlter(world)
    world.services.lease = undefined
    world.control.lapseLease(world.topic)
    const resumed = {resumedAt: Date.now(), agents: world.agentIds, endOffsetsAtResume: []}

    await expect(revalidateGrow(world.context({...results, 'resume-producers': resumed}, {resumed: true}))).resolves.toBeUndefined()
    expect(world.warnings).toEqual([])
  })

  it('another run took the topic while this one was dead: lease-held (exit 6), nothing redone', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    world.services.lease = undefined
    world.control.lapseLease(world.topic)
    world.control.holdLease(world.topic, {runId: 'someone-else', host: 'other-host', pid: 42}, 60_000)

    const error = await revalidateGrow(world.context(results, {resumed: true})).catch((error_: unknown) => error_)

    expect(error).toBeInstanceOf(KreorgError)
    expect(error).toMatchObject({code: 'lease-held', exitCode: 6})
    expect((error as Error).message).toContain('someone-else')
    expect(world.control.actions(world.topic)).toEqual(['pin'])
  })
})

describe('undoBeforeAlter (a step failed)', () => {
  it('before add-partitions: the pin is lifted with a resume carrying the unchanged count, and the lease released', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)

    await undoBeforeAlter(world.context(results), 'add-partitions')

    expect(world.control.actions(world.topic)).toEqual(['pin', 'resume'])
    expect(world.control.currentCommand(world.topic)).toMatchObject({action: 'resume', targetPartitions: 4})
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic))).toEqual([
      {state: 'running', runId: world.runId, epoch: world.services.epoch, partitionCount: 4},
      {state: 'running', runId: world.runId, epoch: world.services.epoch, partitionCount: 4},
    ])
    expect(world.warnings).toEqual(['the pin was lifted and producers keep running; the topic was not changed'])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(true)
    expect(heldLease(world)).toBeUndefined()
    expect(world.cluster.partitionCount(world.topic)).toBe(4)
  })

  it('pin-producers itself failed (no result recorded): the agents that did pin are unpinned too', async () => {
    const world = fakeGrow()
    await pinnedRun(world)

    await undoBeforeAlter(world.context({preflight: preflightResult(world)}), 'pin-producers')

    expect(world.control.actions(world.topic)).toEqual(['pin', 'resume'])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(true)
  })

  it('after the partitions were added there is no undo: producers stay pinned under the lease', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    // The alter landed, but the step failed before recording it (the topic shows it).
    await world.cluster.createPartitions(world.topic, 8)

    await undoBeforeAlter(world.context(results), 'add-partitions')

    expect(world.control.actions(world.topic)).toEqual(['pin'])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(false)
    expect(heldLease(world)?.valid()).toBe(true)
    expect(world.warnings).toEqual([])
  })

  it('a failover while unpinning is retried (2 s apart) until the resume goes through', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    world.control.faults.failNext('resume', () => connectionReset(), {times: 2})
    sleeps.length = 0

    await undoBeforeAlter(world.context(results), 'add-partitions')

    expect(sleeps).toEqual([2000, 2000])
    expect(world.control.actions(world.topic)).toEqual(['pin', 'resume'])
    expect(world.warnings).toEqual(['the pin was lifted and producers keep running; the topic was not changed'])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(true)
  })

  it('an unpin that fails for good is not retried: the warning says how to lift the pin, and the lease is still released', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    world.control.faults.failNext(
      'resume',
      protocolError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [kreorg-control]'),
    )
    sleeps.length = 0

    await undoBeforeAlter(world.context(results), 'add-partitions')

    expect(sleeps).toEqual([])
    expect(world.control.actions(world.topic)).toEqual(['pin'])
    expect(world.warnings).toEqual([
      expect.stringMatching(
        /^could not confirm that every producer was unpinned \(.*Not authorized.*\); the topic is unchanged, so `kreorg unpause orders --force` lifts the pin safely/,
      ),
    ])
    expect(world.control.leaseEntry(world.topic)?.released).toBe(true)
  })
})

describe('unpinProducers (the undo abort runs)', () => {
  it('never lifts the pin once the topic has more partitions than the run started with: exit 7, resume named', async () => {
    const world = fakeGrow()
    const results = await pinnedRun(world)
    await world.cluster.createPartitions(world.topic, 8)

    const error = await unpinProducers(world.context(results)).catch((error_: unknown) => error_)

    expect(error).toMatchObject({code: 'incomplete', exitCode: 7})
    expect((error as KreorgError).suggestions.join(' ')).toContain(`kreorg resume ${world.runId}`)
    expect(world.control.actions(world.topic)).toEqual(['pin'])
    expect(world.agentIds.map((id) => world.control.agentState(id, world.topic)?.pinnedPartitions)).toEqual([4, 4])
  })
})

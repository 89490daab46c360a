import {describe, expect, it, vi} from 'vitest'

import {KreorgError} from '../../src/core/errors.js'
import {addPartitions, alreadyGrown} from '../../src/steps/grow/partitions.js'
import {pinProducers} from '../../src/steps/grow/producers.js'
import {fakeGrow, type FakeGrow, preflightResult} from '../fakes/fake-grow.js'
import {connectionClosed, connectionReset, protocolError} from '../fakes/faults.js'
import {sleeps} from '../fakes/recorded-sleeps.js'

// add-partitions on fakes: its pre-check, its checks right before the alter (lease, pinned agents,
// the writer inventory again), and how it retries through a controller failover. What the broker answers to a repeated alter is proven in
// test/e2e/faults.test.ts on a real three-node cluster.

// Retry pauses are recorded, not slept (test/fakes/recorded-sleeps.ts).
vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

/** A run whose producers are pinned, right before add-partitions: the lease is fresh, agents keep writing. */
async function pinned(world: FakeGrow) {
  sleeps.length = 0
  const preflight = preflightResult(world)
  const pin = await pinProducers(world.context({preflight}))
  return world.context({preflight, 'pin-producers': pin}, {step: 'add-partitions'})
}

const ACTIVE = {producerEpoch: 0, lastSequence: 5, coordinatorEpoch: -1, currentTxnStartOffset: -1}

async function failure(promise: Promise<unknown>): Promise<KreorgError> {
  const error = await promise.then(
    () => {},
    (error_: unknown) => error_,
  )
  expect(error).toBeInstanceOf(KreorgError)
  return error as KreorgError
}

describe('the pre-check (engine runs it before the step)', () => {
  it('already at the target (the alter landed before a crash): done, nothing altered', async () => {
    const world = fakeGrow({from: 8, to: 8})
    await expect(alreadyGrown(world.context())).resolves.toBe(true)
    expect(world.cluster.callsOf('createPartitions')).toEqual([])
  })

  it('below the target: not done', async () => {
    const world = fakeGrow({from: 4, to: 8})
    await expect(alreadyGrown(world.context())).resolves.toBe(false)
  })

  it('rides out a node failing over (closed connections), 2 s apart, with a progress line each', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.faults.failNext('describeTopic', () => connectionClosed(), {times: 3})
    sleeps.length = 0
    await expect(alreadyGrown(world.context())).resolves.toBe(false)
    expect(world.cluster.callsOf('describeTopic')).toHaveLength(4)
    expect(sleeps).toEqual([2000, 2000, 2000])
    expect(world.progress).toEqual(new Array(3).fill('Closed connection; retrying'))
  })

  it('gives up after 15 attempts of a failover that does not end', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.faults.failNext('describeTopic', () => connectionReset(), {times: 100})
    await expect(alreadyGrown(world.context())).rejects.toThrow('ECONNRESET')
    expect(world.cluster.callsOf('describeTopic')).toHaveLength(15)
  })
})

describe('add-partitions', () => {
  it('drained and unchanged: alters the topic to the target count once', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)

    const result = await addPartitions(ctx)

    expect(result).toMatchObject({from: 4, to: 8, alreadyAtTarget: false})
    expect(world.cluster.callsOf('createPartitions')).toEqual([[world.topic, 8, undefined]])
    expect(world.cluster.partitionCount(world.topic)).toBe(8)
    expect(sleeps).toEqual([])
  })

  it('passes --replica-assignment through, one replica list per new partition', async () => {
    const assignment = [
      [1, 2],
      [2, 3],
      [3, 1],
      [1, 3],
    ]
    const world = fakeGrow({from: 4, to: 8, inputs: {replicaAssignment: assignment}})
    await addPartitions(await pinned(world))
    expect(world.cluster.callsOf('createPartitions')).toEqual([[world.topic, 8, assignment.map((replicas) => ({replicas}))]])
    expect((await world.cluster.describeTopic(world.topic)).partitions.slice(4).map((p) => p.replicas)).toEqual(assignment)
  })

  it('the controller fails over mid-alter: the transient error is retried after 2 s and the alter succeeds', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.faults.failNext('createPartitions', () => connectionReset())

    await expect(addPartitions(ctx)).resolves.toMatchObject({from: 4, to: 8, alreadyAtTarget: false})

    expect(world.cluster.callsOf('createPartitions')).toHaveLength(2)
    expect(sleeps).toEqual([2000])
    expect(world.progress).toContain('createPartitions failed (Connection error: read ECONNRESET); retrying')
    expect(world.cluster.partitionCount(world.topic)).toBe(8)
  })

  it('an alter that landed although its answer was lost counts as done (the count says so): no second alter', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.faults.failNext('createPartitions', () => connectionReset(), {landed: true})

    await expect(addPartitions(ctx)).resolves.toMatchObject({from: 4, to: 8, alreadyAtTarget: false})

    expect(world.cluster.callsOf('createPartitions')).toHaveLength(1)
    expect(sleeps).toEqual([])
  })

  it('an error a retry would only repeat fails the step at once, naming the alter and keeping the cause', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    const refused = protocolError('POLICY_VIOLATION', 'Topic partition count may not exceed 6')
    world.cluster.faults.failNext('createPartitions', refused)

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'unexpected', exitCode: 1})
    expect(error.message).toBe(`createPartitions ${world.topic} → 8 failed: Topic partition count may not exceed 6`)
    expect(error.cause).toBe(refused)
    expect(world.cluster.callsOf('createPartitions')).toHaveLength(1)
    expect(sleeps).toEqual([])
    expect(world.cluster.partitionCount(world.topic)).toBe(4)
  })

  it('a failover that outlasts 6 alter attempts fails the step (not retried again by the outer loop)', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.faults.failNext('createPartitions', () => connectionReset(), {times: 100})

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'unexpected'})
    expect(world.cluster.callsOf('createPartitions')).toHaveLength(6)
    expect(sleeps).toEqual(new Array(5).fill(2000))
  })

  it('the lease lapses while the alter is retried: the step stops with the lease error, not an alter failure', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.faults.failNext('createPartitions', () => connectionReset())
    world.cluster.on('createPartitions', () => world.control.lapseLease(world.topic))

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'precondition', step: 'add-partitions', exitCode: 3})
    expect(error.message).toContain('lease')
    expect(world.cluster.callsOf('createPartitions')).toHaveLength(1)
    expect(world.cluster.partitionCount(world.topic)).toBe(4)
  })

  it('no fresh lease (it lapsed before the step): refuses before touching the topic', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.control.lapseLease(world.topic)

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'precondition', step: 'add-partitions'})
    expect(world.cluster.callsOf('createPartitions')).toEqual([])
  })

  it('agents keep writing pinned (their producer ids): the inventory accounts for them and the alter goes ahead', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.setProducers(world.topic, 0, [{producerId: 100, lastTimestamp: Date.now(), ...ACTIVE}])
    world.cluster.setProducers(world.topic, 1, [{producerId: 101, lastTimestamp: Date.now(), ...ACTIVE}])

    const result = await addPartitions(ctx)

    expect(result.writers?.agentProducers).toEqual([
      {producerId: 100, agentId: 'agent-0'},
      {producerId: 101, agentId: 'agent-1'},
    ])
    expect(world.cluster.partitionCount(world.topic)).toBe(8)
  })

  it('a producer id no agent owns wrote within the lookback: unknown-writers, exit 3, named with partitions and time, nothing altered', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    const at = Date.now() - 8000
    world.cluster.setProducers(world.topic, 2, [{producerId: 7001, lastTimestamp: at, ...ACTIVE}])
    world.cluster.setProducers(world.topic, 3, [{producerId: 7001, lastTimestamp: at - 1, ...ACTIVE}])

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'unknown-writers', exitCode: 3})
    expect(error.message).toContain('producer id 7001')
    expect(error.message).toContain('partition(s) 2, 3')
    expect(error.message).toContain(new Date(at).toISOString())
    expect(world.cluster.callsOf('createPartitions')).toEqual([])
  })

  it('a writer older than --writer-lookback, or named by --ignore-producer, does not stop the alter', async () => {
    const world = fakeGrow({from: 4, to: 8, inputs: {writerLookbackMs: 60_000, ignoreProducers: [7002]}})
    const ctx = await pinned(world)
    world.cluster.setProducers(world.topic, 0, [{producerId: 7001, lastTimestamp: Date.now() - 120_000, ...ACTIVE}])
    world.cluster.setProducers(world.topic, 1, [{producerId: 7002, lastTimestamp: Date.now(), ...ACTIVE}])

    await expect(addPartitions(ctx)).resolves.toMatchObject({from: 4, to: 8, writers: {ignoredProducers: [7002]}})
  })

  it('an open transaction not owned by an agent: refused, the transactional id named', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.setProducers(world.topic, 1, [{producerId: 9001, lastTimestamp: Date.now(), ...ACTIVE, currentTxnStartOffset: 10}])
    world.cluster.setTransaction({
      transactionalId: 'flink-sink-0',
      producerId: 9001,
      producerEpoch: 3,
      state: 'Ongoing',
      timeoutMs: 60_000,
      startTimeMs: Date.now(),
      topics: {[world.topic]: [1]},
    })

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'unknown-writers', exitCode: 3})
    expect(error.message).toContain('open transaction flink-sink-0 (producer id 9001) on partition(s) 1@10')
    expect(world.cluster.callsOf('createPartitions')).toEqual([])
  })

  it("kreorg's own abort markers (transactional id kreorg-marker-…) are not unknown writers", async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    world.cluster.setProducers(world.topic, 0, [
      {producerId: 8001, lastTimestamp: Date.now(), ...ACTIVE, lastSequence: -1, coordinatorEpoch: 0},
    ])
    world.cluster.setTransaction({
      transactionalId: 'kreorg-marker-older-run',
      producerId: 8001,
      producerEpoch: 2,
      state: 'CompleteAbort',
      timeoutMs: 60_000,
      startTimeMs: -1,
      topics: {},
    })

    await expect(addPartitions(ctx)).resolves.toMatchObject({writers: {markerProducers: [8001]}})
  })

  it('an agent that started after the pin and does not report being pinned: refused, nothing altered', async () => {
    const world = fakeGrow({from: 4, to: 8, inputs: {ackTimeoutMs: 20}})
    const ctx = await pinned(world)
    world.control.addAgent('late-agent', {topics: [world.topic], partitionCount: {[world.topic]: 4}, producerId: 300})

    const error = await failure(addPartitions(ctx))

    expect(error).toMatchObject({code: 'precondition', exitCode: 3})
    expect(error.message).toContain('late-agent')
    expect(world.cluster.callsOf('createPartitions')).toEqual([])
  })

  it('the topic already has the target (a redo after the alter landed): reported as such, no alter', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const ctx = await pinned(world)
    await world.cluster.createPartitions(world.topic, 8)
    const before = world.cluster.callsOf('createPartitions').length

    await expect(addPartitions(ctx)).resolves.toMatchObject({from: 8, to: 8, addMs: 0, alreadyAtTarget: true})
    expect(world.cluster.callsOf('createPartitions')).toHaveLength(before)
  })
})

import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import type {ConnectPlan} from '../../src/connect/discovery.js'
import type {GrowResults} from '../../src/steps/grow/context.js'

import {
  connectInventoryInputs,
  pinWithConnect,
  recoverWithConnect,
  resumeWithConnect,
  unpinWithConnect,
} from '../../src/steps/connect/steps.js'
import {pinProducers, resumeProducers, unpinProducers} from '../../src/steps/grow/producers.js'
import {undoBeforeAlter} from '../../src/steps/grow/recovery.js'
import {writerInventoryInputs} from '../../src/steps/grow/writers.js'
import {FakeConnect} from '../fakes/fake-connect.js'
import {fakeGrow, type FakeGrow, preflightResult} from '../fakes/fake-grow.js'

// grow's Kafka Connect glue on fakes (agents on the fake control channel, a node:http Connect): what it
// pauses, records, resumes and refuses. Real Connect behaviour is proven by test/integration/connect.test.ts.

// Settle and poll pauses are recorded, not slept (test/fakes/recorded-sleeps.ts).
vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

let connect: FakeConnect

beforeEach(async () => {
  connect = new FakeConnect()
  await connect.start()
})

afterEach(async () => {
  await connect.stop()
})

function world(): FakeGrow {
  return fakeGrow({inputs: {connectUrls: [connect.url]}})
}

function planWith(connectors: ConnectPlan['connectors']): GrowResults['plan'] {
  return {
    connect: {workers: [{url: connect.url, version: '4.3.1', sourceConnectors: connectors.length}], connectors, warnings: []},
  } as unknown as GrowResults['plan']
}

function planned(name: string, state = 'RUNNING'): ConnectPlan['connectors'][number] {
  return {worker: connect.url, name, state, tasks: [{id: 0, state}], evidence: ['config topic']}
}

/** Two connectors: `files` running (one task failed), `held` paused before the run. */
function addFilesAndHeld(): void {
  connect.add({
    name: 'files',
    tasks: [
      {id: 0, state: 'RUNNING'},
      {id: 1, state: 'FAILED'},
    ],
  })
  connect.add({name: 'held', state: 'PAUSED', tasks: [{id: 0, state: 'PAUSED'}]})
}

describe('pin-producers with Kafka Connect', () => {
  it('pauses the running connectors, confirms PAUSED, records them and the evidence; leaves a paused one alone', async () => {
    addFilesAndHeld()
    const w = world()
    const pin = await pinWithConnect(pinProducers)(
      w.context({preflight: preflightResult(w), plan: planWith([planned('files'), planned('held', 'PAUSED')])}),
    )
    expect(pin.connect).toMatchObject({
      paused: [{worker: connect.url, name: 'files', tasks: [0, 1]}],
      alreadyPaused: [{worker: connect.url, name: 'held'}],
      facts: {
        phase: 'paused',
        connectors: [
          {name: 'files', tasks: 2},
          {name: 'held', tasks: 1},
        ],
      },
    })
    expect(pin.connect!.facts.highWatermarks).toHaveLength(4)
    expect(connect.count('PUT', '/connectors/files/pause')).toBe(1)
    expect(connect.count('PUT', '/connectors/held/pause')).toBe(0)
    expect(pin.agents).toHaveLength(2)
  })

  it('a task that never pauses: the connector is resumed and the step fails with exit 4, nothing pinned', async () => {
    connect.add({name: 'stuck', stuck: true})
    const w = world()
    const error = await pinWithConnect(pinProducers)(w.context({preflight: preflightResult(w), plan: planWith([planned('stuck')])})).catch(
      (error_: unknown) => error_,
    )
    expect(error).toMatchObject({code: 'timeout', exitCode: 4})
    expect((error as Error).message).toMatch(
      /^Kafka Connect connector\(s\) did not become PAUSED within .*: stuck \(http:\/\/127\.0\.0\.1:\d+\): connector PAUSED, task 0 RUNNING; the connector\(s\) kreorg paused were resumed$/,
    )
    expect(connect.count('PUT', '/connectors/stuck/resume')).toBe(1)
    expect(connect.connectors.get('stuck')!.state).toBe('RUNNING')
    expect(w.control.actions(w.topic)).toEqual([])
  })

  it('a failed pin of the agents resumes the connectors it paused', async () => {
    connect.add({name: 'files'})
    const w = world()
    w.control.addAgent('silent', {topics: [w.topic], partitionCount: {[w.topic]: 4}, responds: false, producerId: 300})
    const error = await pinWithConnect(pinProducers)(w.context({preflight: preflightResult(w), plan: planWith([planned('files')])})).catch(
      (error_: unknown) => error_,
    )
    expect(error).toMatchObject({code: 'timeout'})
    expect(connect.connectors.get('files')!.state).toBe('RUNNING')
  })
})

describe('before the alter: refusals, undo and the failure path resume the connectors this run paused', () => {
  async function pinned(w: FakeGrow) {
    const base = {preflight: preflightResult(w), plan: planWith([planned('files')])}
    const pin = await pinWithConnect(pinProducers)(w.context(base))
    return {...base, 'pin-producers': pin}
  }

  it('add-partitions refuses when a paused connector runs again (Strimzi reconciling spec.state)', async () => {
    connect.add({name: 'files'})
    const w = world()
    const results = await pinned(w)
    connect.connectors.get('files')!.state = 'RUNNING'
    const error = await connectInventoryInputs(w.context(results), writerInventoryInputs(w.inputs)).catch((error_: unknown) => error_)
    expect(error).toMatchObject({code: 'precondition', exitCode: 3})
    expect((error as Error).message).toContain('files (')
    expect((error as Error).message).toContain('no longer PAUSED')
  })

  it('the failure path resumes them; the undo of an unfinished pin resumes the planned ones', async () => {
    connect.add({name: 'files'})
    const w = world()
    const results = await pinned(w)
    await recoverWithConnect(undoBeforeAlter)(w.context(results), 'add-partitions', new Error('unknown writers'))
    expect(connect.connectors.get('files')!.state).toBe('RUNNING')
    expect(w.warnings.some((m) => m.includes('the Kafka Connect connectors kreorg paused were resumed'))).toBe(true)

    connect.connectors.get('files')!.state = 'PAUSED'
    await unpinWithConnect(unpinProducers)(w.context({preflight: results.preflight, plan: results.plan}))
    expect(connect.connectors.get('files')!.state).toBe('RUNNING')
  })

  it('after the alter nothing is resumed without a restart', async () => {
    connect.add({name: 'files'})
    const w = world()
    const results = await pinned(w)
    await w.cluster.createPartitions(w.topic, 8)
    await recoverWithConnect(undoBeforeAlter)(w.context(results), 'prime-consumers', new Error('prime timeout'))
    expect(connect.connectors.get('files')!.state).toBe('PAUSED')
    await expect(unpinWithConnect(unpinProducers)(w.context(results))).rejects.toMatchObject({code: 'incomplete'})
    expect(connect.connectors.get('files')!.state).toBe('PAUSED')
  })
})

describe('resume-producers with Kafka Connect', () => {
  it('restarts every PAUSED task (also of connectors paused before the run), then resumes only those this run paused', async () => {
    addFilesAndHeld()
    const w = world()
    const base = {preflight: preflightResult(w), plan: planWith([planned('files'), planned('held', 'PAUSED')])}
    const pin = await pinWithConnect(pinProducers)(w.context(base))
    await w.cluster.createPartitions(w.topic, 8)
    const add = {from: 4, to: 8, addedAt: Date.now(), addMs: 1, alreadyAtTarget: false}
    const result = await resumeWithConnect(resumeProducers)(w.context({...base, 'pin-producers': pin, 'add-partitions': add}))
    expect(result.connect).toMatchObject({
      restarted: [
        {name: 'files', tasks: [0]},
        {name: 'held', tasks: [0]},
      ],
      resumed: [{name: 'files'}],
    })
    const order = connect.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)
    expect(order).toEqual([
      'PUT /connectors/files/pause',
      'POST /connectors/files/tasks/0/restart',
      'POST /connectors/held/tasks/0/restart',
      'PUT /connectors/files/resume',
    ])
    expect(connect.connectors.get('held')!.state).toBe('PAUSED')
    expect(connect.connectors.get('files')!.state).toBe('RUNNING')
  })
})

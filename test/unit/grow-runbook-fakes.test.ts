import {promises as fs} from 'node:fs'
import {afterEach, describe, expect, it, vi} from 'vitest'

import type {AnyRunbook, RunEvent} from '../../src/runbook/types.js'

import {growRunbook} from '../../runbooks/grow.js'
import {type EngineOptions, resumeRun, startRun} from '../../src/runbook/engine.js'
import {fakeEngineOptions} from '../fakes/fake-engine.js'
import {fakeGrow, type FakeGrow} from '../fakes/fake-grow.js'
import {connectionReset, protocolError} from '../fakes/faults.js'

// The grow runbook's own steps, revalidation and failure path, driven by the real engine (checkpoints
// in a temp dir) on a fake cluster and control channel. The same flows on real Kafka are in
// test/e2e/grow-crash.test.ts and test/e2e/faults.test.ts.

// Retry pauses are recorded, not slept (test/fakes/recorded-sleeps.ts).
vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

const STEPS = new Set(['preflight', 'pin-producers', 'add-partitions'])

/** The grow runbook cut down to preflight → pin → add-partitions, its services the fakes. */
function runbookOn(world: FakeGrow): AnyRunbook {
  return {
    ...growRunbook,
    steps: growRunbook.steps.filter((step) => STEPS.has(step.id)),
    setup: async () => ({services: world.services, async close() {}}),
  } as unknown as AnyRunbook
}

function engineOptions(runbook: AnyRunbook, events: RunEvent[], extra: Partial<EngineOptions> = {}): Promise<EngineOptions> {
  return fakeEngineOptions(runbook, events, dirs, extra)
}

const names = (events: RunEvent[]) => events.map((e) => `${e.event}${e.step ? ` ${e.step}` : ''}`)

describe('grow on fakes, through the engine', () => {
  it('a createPartitions error a retry would only repeat: the run fails at add-partitions (step id, exit 1), the pin lifted, lease released', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.faults.failNext('createPartitions', protocolError('POLICY_VIOLATION', 'Topic partition count may not exceed 6'))
    const runbook = runbookOn(world)
    const events: RunEvent[] = []

    const outcome = await startRun(runbook, world.inputs, await engineOptions(runbook, events, {runId: world.runId}))

    expect(outcome.status).toBe('failed')
    if (outcome.status !== 'failed') return
    expect(outcome.error).toMatchObject({step: 'add-partitions', exitCode: 1, code: 'unexpected'})
    expect(events.find((e) => e.event === 'step:fail')).toMatchObject({
      step: 'add-partitions',
      error: {step: 'add-partitions', code: 'unexpected', cause: 'Topic partition count may not exceed 6'},
    })
    // The failure path runs between the step's failure and the run's.
    const afterFailure = events.slice(events.findIndex((e) => e.event === 'step:fail'))
    expect(afterFailure.filter((e) => e.event === 'warning').map((e) => (e as {message: string}).message)).toEqual([
      'the pin was lifted and producers keep running; the topic was not changed',
    ])
    expect(afterFailure.at(-1)).toMatchObject({event: 'run:fail', step: 'add-partitions'})
    expect(world.control.actions(world.topic)).toEqual(['pin', 'resume'])
    expect(world.control.currentCommand(world.topic)).toMatchObject({targetPartitions: 4})
    expect(world.control.leaseEntry(world.topic)?.released).toBe(true)
    expect(world.cluster.partitionCount(world.topic)).toBe(4)
  })

  it('a controller failover during add-partitions is retried inside the step and the run finishes', async () => {
    const world = fakeGrow({from: 4, to: 8})
    world.cluster.faults.failNext('createPartitions', () => connectionReset())
    const runbook = runbookOn(world)
    const events: RunEvent[] = []

    const outcome = await startRun(runbook, world.inputs, await engineOptions(runbook, events))

    expect(outcome.status).toBe('done')
    expect(
      events.filter((e) => e.event === 'step:progress' && e.step === 'add-partitions').map((e) => (e as {message: string}).message),
    ).toContain('createPartitions failed (Connection error: read ECONNRESET); retrying')
    expect(names(events).filter((n) => n.startsWith('step:fail'))).toEqual([])
    expect(world.cluster.partitionCount(world.topic)).toBe(8)
  })

  it('resumed after the lease lapsed: the engine redoes from pin-producers (a new pin, a higher epoch) before adding partitions', async () => {
    const world = fakeGrow({from: 4, to: 8})
    const runbook = runbookOn(world)
    const controller = new AbortController()
    const first: RunEvent[] = []
    const options = await engineOptions(runbook, first, {signal: controller.signal})
    // kreorg is stopped as add-partitions begins; its lease then lapses and the agents resume.
    options.listener = (event) => {
      first.push(event)
      if (event.event === 'step:start' && event.step === 'add-partitions') controller.abort()
    }
    const interrupted = await startRun(runbook, world.inputs, options)
    expect(interrupted.status).toBe('interrupted')
    world.services.lease = undefined
    world.control.lapseLease(world.topic)
    // A new process: a new attempt with a higher fencing epoch.
    world.services.epoch += 1

    const second: RunEvent[] = []
    const resumed = await resumeRun(interrupted.runId, {...(await engineOptions(runbook, second)), stateDir: options.stateDir})

    expect(resumed.status).toBe('done')
    expect(names(second)).toEqual([
      'warning',
      'redo pin-producers',
      'run:start',
      'step:skip preflight',
      'step:start pin-producers',
      'step:progress pin-producers',
      'step:progress pin-producers',
      'step:progress pin-producers',
      'step:done pin-producers',
      'step:start add-partitions',
      'step:progress add-partitions',
      'step:progress add-partitions',
      'step:done add-partitions',
      'run:done',
    ])
    const pins = world.control.commands.filter((c) => (c.action as string) === 'pin')
    expect(pins).toHaveLength(2)
    expect(pins[1]!.epoch).toBeGreaterThan(pins[0]!.epoch)
    expect(world.cluster.partitionCount(world.topic)).toBe(8)
  })
})

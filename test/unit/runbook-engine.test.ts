import {spawnSync} from 'node:child_process'
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'

import type {AnyRunbook, Runbook, RunEvent, Step} from '../../src/runbook/types.js'

import {KreorgError} from '../../src/core/errors.js'
import {loadCheckpoint, newRunId, runbookHash} from '../../src/runbook/checkpoint.js'
import {abortRun, type EngineOptions, loadRun, planAbort, resumeRun, startRun} from '../../src/runbook/engine.js'
import {acquireLock, lockPath} from '../../src/runbook/lock.js'

// Pure engine logic with in-memory steps (no Kafka claims here; those are in test/e2e and test/commands).

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

async function stateDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-unit-'))
  dirs.push(dir)
  return path.join(dir, 'state')
}

interface Inputs {
  topic: string
}
type Log = string[]

function makeRunbook(
  log: Log,
  overrides: Partial<Runbook<Inputs, Log>> = {},
  stepOverrides: Record<string, Partial<Step<Inputs, Log>>> = {},
): Runbook<Inputs, Log> {
  const step = (id: string, extra: Partial<Step<Inputs, Log>> = {}): Step<Inputs, Log> => ({
    id,
    title: `Step ${id}`,
    async run(ctx) {
      ctx.services.push(`run ${id}`)
      return {id, saw: Object.keys(ctx.results)}
    },
    async undo(ctx) {
      ctx.services.push(`undo ${id}`)
    },
    ...extra,
    ...stepOverrides[id],
  })
  return {
    name: 'fake',
    version: 1,
    steps: [step('one'), step('two'), step('three')],
    lockKey: (inputs) => inputs.topic,
    describe: (inputs) => `fake on ${inputs.topic}`,
    setup: async () => ({services: log, close: async () => void log.push('close')}),
    ...overrides,
  }
}

function options(dir: string, runbook: AnyRunbook, events: RunEvent[], extra: Partial<EngineOptions> = {}): EngineOptions {
  return {
    stateDir: dir,
    listener: (event) => events.push(event),
    confirm: async () => true,
    connection: {brokers: ['127.0.0.1:1'], clientId: 'test', connectTimeoutMs: 1000},
    findRunbook: (name) => (name === runbook.name ? runbook : undefined),
    graceMs: 50,
    ...extra,
  }
}

describe('run ids and hashes', () => {
  it('run ids sort by time and name the runbook and topic', () => {
    const a = newRunId('grow', 'orders', new Date('2026-11-23T17:45:12Z'))
    const b = newRunId('grow', 'orders', new Date('2026-11-23T17:45:13Z'))
    expect(a).toMatch(/^20261123-174512-grow-orders-[0-9a-f]{4}$/)
    expect([b, a].sort()).toEqual([a, b])
    expect(newRunId('grow', 'Weird Topic/../x', new Date(0))).toMatch(/^19700101-000000-grow-weird-topic-x-[0-9a-f]{4}$/)
  })

  it('the hash covers name, version and the ordered step ids', () => {
    const log: Log = []
    const base = makeRunbook(log)
    const hash = runbookHash(base)
    expect(runbookHash({...base, steps: [...base.steps].reverse()})).not.toBe(hash)
    expect(runbookHash({...base, version: 2})).not.toBe(hash)
    expect(runbookHash({...base, steps: base.steps.map((s) => ({...s, title: 'renamed'}))})).toBe(hash)
  })
})

describe('engine', () => {
  it('runs steps in order, passes earlier results, records them and emits events', async () => {
    const dir = await stateDir()
    const log: Log = []
    const runbook = makeRunbook(log)
    const events: RunEvent[] = []
    const outcome = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, events))
    expect(outcome.status).toBe('done')
    expect(log).toEqual(['run one', 'run two', 'run three', 'close'])
    const {checkpoint} = await loadCheckpoint(dir, outcome.runId)
    expect(checkpoint.steps.map((s) => s.result)).toEqual([
      {id: 'one', saw: []},
      {id: 'two', saw: ['one']},
      {id: 'three', saw: ['one', 'two']},
    ])
    expect(events.map((e) => `${e.event}${e.step ? ` ${e.step}` : ''}`)).toEqual([
      'run:start',
      'step:start one',
      'step:done one',
      'step:start two',
      'step:done two',
      'step:start three',
      'step:done three',
      'run:done',
    ])
    expect(await fs.readdir(path.join(dir, 'locks'))).toEqual([])
  })

  it('a failing step is wrapped with its id and cause, onFailure runs, resume retries only from it', async () => {
    const dir = await stateDir()
    const log: Log = []
    let fail = true
    const failures: string[] = []
    const runbook = makeRunbook(
      log,
      {onFailure: async (_ctx, step, error) => void failures.push(`${step}: ${(error as Error).message}`)},
      {
        two: {
          async run(ctx) {
            ctx.services.push('run two')
            if (fail) throw new TypeError('boom')
            return 2
          },
        },
      },
    )
    const events: RunEvent[] = []
    const first = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, events))
    expect(first.status).toBe('failed')
    if (first.status !== 'failed') return
    expect(first.error).toBeInstanceOf(KreorgError)
    expect(first.error.step).toBe('two')
    expect(first.error.exitCode).toBe(1)
    expect(events.find((e) => e.event === 'step:fail')).toMatchObject({
      step: 'two',
      error: {code: 'unexpected', cause: 'boom', step: 'two'},
    })
    expect(failures).toEqual(['two: boom'])

    fail = false
    log.length = 0
    const second = await resumeRun(first.runId, options(dir, runbook as AnyRunbook, []))
    expect(second.status).toBe('done')
    expect(log).toEqual(['run two', 'run three', 'close'])
  })

  it('check() true records the step as skipped without running it', async () => {
    const dir = await stateDir()
    const log: Log = []
    const runbook = makeRunbook(log, {}, {two: {check: async () => true}})
    const events: RunEvent[] = []
    const outcome = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, events))
    expect(log).toEqual(['run one', 'run three', 'close'])
    expect(events.find((e) => e.event === 'step:skip')).toMatchObject({step: 'two', reason: 'check'})
    expect((await loadCheckpoint(dir, outcome.runId)).checkpoint.steps.map((s) => s.state)).toEqual(['done', 'skipped', 'done'])
  })

  it('an abort signal interrupts the running step, keeps earlier steps and names the resume command', async () => {
    const dir = await stateDir()
    const log: Log = []
    const controller = new AbortController()
    const runbook = makeRunbook(
      log,
      {},
      {
        two: {
          run: (ctx) =>
            new Promise((_, reject) => {
              controller.abort()
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))
            }),
        },
      },
    )
    const events: RunEvent[] = []
    const outcome = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, events, {signal: controller.signal}))
    expect(outcome).toMatchObject({status: 'interrupted', resumeCommand: `kreorg resume ${outcome.runId}`})
    const {checkpoint} = await loadCheckpoint(dir, outcome.runId)
    expect(checkpoint).toMatchObject({status: 'interrupted', currentStep: 'two'})
    expect(checkpoint.steps.map((s) => s.id)).toEqual(['one'])
  })

  it('a step that ignores the signal is abandoned after the grace period', async () => {
    const dir = await stateDir()
    const controller = new AbortController()
    const runbook = makeRunbook([], {}, {one: {run: () => (controller.abort(), new Promise(() => {}))}})
    const started = Date.now()
    const outcome = await startRun(
      runbook,
      {topic: 't'},
      options(dir, runbook as AnyRunbook, [], {signal: controller.signal, graceMs: 100}),
    )
    expect(outcome.status).toBe('interrupted')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('revalidate can send a resume back to an earlier step', async () => {
    const dir = await stateDir()
    const log: Log = []
    const runbook = makeRunbook(
      log,
      {},
      {
        three: {
          async run() {
            throw new KreorgError('timeout', 'slow')
          },
        },
      },
    )
    const first = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, []))
    expect(first.status).toBe('failed')
    log.length = 0
    const redo = makeRunbook(log, {revalidate: async (ctx) => (ctx.resumed ? 'two' : undefined)})
    const events: RunEvent[] = []
    const second = await resumeRun(first.runId, options(dir, redo as AnyRunbook, events))
    expect(second.status).toBe('done')
    expect(log).toEqual(['run two', 'run three', 'close'])
    expect(events.find((e) => e.event === 'redo')).toMatchObject({step: 'two'})
  })

  it('abort undoes finished steps (and the half-run one) in reverse', async () => {
    const dir = await stateDir()
    const log: Log = []
    const runbook = makeRunbook(
      log,
      {},
      {
        three: {
          async run() {
            throw new KreorgError('timeout', 'slow')
          },
        },
      },
    )
    const first = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, []))
    log.length = 0
    const questions: unknown[] = []
    const outcome = await abortRun(
      first.runId,
      options(dir, runbook as AnyRunbook, [], {confirm: async (q, d) => (questions.push(q, d), true)}),
    )
    expect(outcome).toMatchObject({status: 'aborted', undone: ['three', 'two', 'one']})
    expect(log).toEqual(['undo three', 'undo two', 'undo one', 'close'])
    expect(questions[0]).toBe(`Abort run ${first.runId} and undo three, two, one?`)
  })

  it('abort declined changes nothing and exits 5', async () => {
    const dir = await stateDir()
    const runbook = makeRunbook(
      [],
      {},
      {
        three: {
          async run() {
            throw new KreorgError('timeout', 'slow')
          },
        },
      },
    )
    const first = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, []))
    const file = path.join(dir, 'runs', `${first.runId}.json`)
    const before = await fs.readFile(file, 'utf8')
    const error = await abortRun(first.runId, options(dir, runbook as AnyRunbook, [], {confirm: async () => false})).catch(
      (error_: unknown) => error_,
    )
    expect(error).toBeInstanceOf(KreorgError)
    expect((error as KreorgError).exitCode).toBe(5)
    expect(await fs.readFile(file, 'utf8')).toBe(before)
  })

  it('after an irreversible step, abort explains it and finishes the run instead', async () => {
    const dir = await stateDir()
    const log: Log = []
    let fail = true
    const runbook = makeRunbook(
      log,
      {},
      {
        two: {undo: undefined, irreversible: 'partitions cannot be removed'},
        three: {run: async () => (fail ? Promise.reject(new KreorgError('timeout', 'slow')) : 3)},
      },
    )
    const first = await startRun(runbook, {topic: 't'}, options(dir, runbook as AnyRunbook, []))
    const plan = planAbort(await loadRun(first.runId, {stateDir: dir, findRunbook: () => runbook as AnyRunbook}))
    expect(plan).toMatchObject({undo: [], irreversible: [{id: 'two', what: 'partitions cannot be removed'}], rollForward: [{id: 'three'}]})
    fail = false
    log.length = 0
    const events: RunEvent[] = []
    const outcome = await abortRun(first.runId, options(dir, runbook as AnyRunbook, events))
    expect(outcome.status).toBe('done')
    expect(log).toEqual(['close'])
    expect(events.filter((e) => e.event === 'warning').map((e) => (e as {message: string}).message)).toEqual([
      'two cannot be undone: partitions cannot be removed',
      `abort will instead finish the run: three (the same as \`kreorg resume ${first.runId}\`)`,
    ])
  })
})

describe('local lock', () => {
  it('refuses a live holder (exit 6) and takes over a dead one with a warning', async () => {
    const dir = await stateDir()
    const held = await acquireLock(dir, 'orders', 'run-a')
    const refused = await acquireLock(dir, 'orders', 'run-b').catch((error: unknown) => error)
    expect((refused as KreorgError).exitCode).toBe(6)
    expect((refused as KreorgError).message).toContain(`locked by run run-a (pid ${process.pid}`)
    await held.release()

    // A lock left behind by a process that has exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    const file = lockPath(dir, 'orders')
    await fs.writeFile(
      file,
      JSON.stringify({runId: 'run-old', pid: Number(dead), host: os.hostname(), createdAt: new Date().toISOString()}),
    )
    const warnings: string[] = []
    const taken = await acquireLock(dir, 'orders', 'run-c', (w) => warnings.push(w))
    expect(warnings).toEqual([`took over the lock on "orders" left by run run-old (pid ${dead} is gone)`])
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toMatchObject({runId: 'run-c', pid: process.pid})
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    await taken.release()
    await expect(fs.stat(file)).rejects.toThrow(/ENOENT/)
  })
})

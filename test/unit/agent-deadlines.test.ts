import {afterEach, describe, expect, it, vi} from 'vitest'

import {Deadlines} from '../../src/agent/deadlines.js'
import {HeldSendsFullError, SendDeadlineError} from '../../src/agent/errors.js'
import {HeldSends} from '../../src/agent/held-sends.js'

// Held sends' deadlines (sendTimeoutMs) behind one timer: expiry in deadline order whatever the call
// order, nothing left armed once the sends are released, and the cap next to them.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => 'sent',
    (error: Error) => error.name,
  )

afterEach(() => {
  vi.useRealTimers()
})

describe('Deadlines', () => {
  it('expires entries in deadline order with one timer armed at a time, skipping those no longer live', () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'performance']})
    const expired: string[] = []
    const live = new Set(['a', 'b', 'c', 'd'])
    const deadlines = new Deadlines<{name: string; deadline: number}>({
      live: (entry) => live.has(entry.name),
      expire: (entry) => expired.push(entry.name),
    })
    const now = performance.now()
    deadlines.add({name: 'c', deadline: now + 60})
    deadlines.add({name: 'a', deadline: now + 20})
    deadlines.add({name: 'd', deadline: now + 80})
    deadlines.add({name: 'b', deadline: now + 40})
    // One timer, for the earliest deadline.
    expect(vi.getTimerCount()).toBe(1)
    live.delete('b')
    vi.advanceTimersByTime(19)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['a'])
    vi.advanceTimersByTime(50)
    expect(expired).toEqual(['a', 'c'])
    vi.advanceTimersByTime(10)
    expect(expired).toEqual(['a', 'c', 'd'])
    expect(deadlines.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('prune drops dead entries in bulk and keeps the live ones due', () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'performance']})
    const expired: number[] = []
    const dead = new Set<number>()
    const deadlines = new Deadlines<{id: number; deadline: number}>({
      live: (entry) => !dead.has(entry.id),
      expire: (entry) => expired.push(entry.id),
    })
    const now = performance.now()
    for (let id = 0; id < 1000; id++) deadlines.add({id, deadline: now + 30 + (id % 7)})
    for (let id = 0; id < 1000; id++) if (id !== 500 && id !== 2) dead.add(id)
    deadlines.prune(2)
    expect(deadlines.size).toBe(2)
    // Deadlines 30 + id % 7: 2 at 32, 500 at 33.
    vi.advanceTimersByTime(31)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual([2])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual([2, 500])
  })

  it('clear stops the timer', () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'performance']})
    const deadlines = new Deadlines<{deadline: number}>({live: () => true, expire: () => expect.fail('cleared')})
    deadlines.add({deadline: performance.now() + 10})
    expect(vi.getTimerCount()).toBe(1)
    deadlines.clear()
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(20)
  })
})

describe('HeldSends deadlines', () => {
  it('100k held sends with a deadline arm one timer, and none is left once they are released', async () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'performance']})
    const held = new HeldSends({limit: 1e9, maxRecords: 1e9, warn() {}})
    const sends = Array.from({length: 100_000}, () => held.hold(['t'], 1, 60_000))
    expect(vi.getTimerCount()).toBe(1)
    held.release(() => true)
    expect(vi.getTimerCount()).toBe(0)
    expect(await Promise.all(sends)).toHaveLength(100_000)
    expect(held.records).toBe(0)
  })

  it('per-call deadlines expire in deadline order while held; the others keep their order and are released', async () => {
    vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance']})
    const held = new HeldSends({limit: 1e9, warn() {}})
    const order: string[] = []
    const send = (name: string, timeoutMs?: number) =>
      held.hold(['t'], 1, timeoutMs).then(
        () => order.push(`sent ${name}`),
        (error: Error) => order.push(`${error.name} ${name}`),
      )
    const all = [send('a'), send('slow', 80), send('b'), send('fast', 20), send('c', 60_000)]
    await vi.advanceTimersByTimeAsync(50)
    expect(order).toEqual(['SendDeadlineError fast'])
    expect(held.records).toBe(4)
    await vi.advanceTimersByTimeAsync(30)
    expect(order).toEqual(['SendDeadlineError fast', 'SendDeadlineError slow'])
    held.release(() => true)
    await Promise.all(all)
    expect(order.slice(2)).toEqual(['sent a', 'sent b', 'sent c'])
    // c's deadline went with its release: nothing is left armed.
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a partial release (one topic still closed) keeps the deadlines of the sends still held, not of those released', async () => {
    const held = new HeldSends({limit: 1e9, warn() {}})
    const results = [
      outcome(held.hold(['a'], 1, 30)),
      outcome(held.hold(['b'], 1, 30)),
      outcome(held.hold(['a', 'b'], 1, 30)),
      outcome(held.hold(['a'], 1, 30)),
    ]
    held.release((topics) => topics.every((topic) => topic === 'a'))
    await sleep(60)
    // The first a went; b and the a+b batch expired while held; the last a waited behind a+b until it expired too.
    expect(await Promise.all(results)).toEqual(['sent', 'SendDeadlineError', 'SendDeadlineError', 'SendDeadlineError'])
    expect(held.records).toBe(0)
  })

  it('the deadline error names the call’s own timeout; the cap still fails fast next to deadlines', async () => {
    const held = new HeldSends({limit: 1e9, maxRecords: 2, warn() {}})
    const first = held.hold(['t'], 1, 10).catch((error: unknown) => error)
    void held.hold(['t'], 1, 60_000).catch(() => {})
    await expect(held.hold(['t'], 1, 60_000)).rejects.toBeInstanceOf(HeldSendsFullError)
    const error = await first
    expect(error).toBeInstanceOf(SendDeadlineError)
    expect(error).toMatchObject({timeoutMs: 10, topics: ['t']})
    held.rejectAll(new Error('closed'))
    expect(held.records).toBe(0)
  })
})

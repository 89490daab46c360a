import {describe, expect, it} from 'vitest'

import {HeldSends} from '../../src/agent/held-sends.js'

// The agent's held-send queue without Kafka: call order per topic, counters, the buffer warning.

function queue(limit = 1000) {
  const warnings: string[] = []
  return {held: new HeldSends({limit, warn: (message) => warnings.push(message)}), warnings}
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('HeldSends', () => {
  it('releases in call order; a send stays behind an earlier held send to the same topic', async () => {
    const {held} = queue()
    const order: string[] = []
    const open = new Set<string>()
    const hold = (name: string, topics: string[]) => void held.hold(topics, 1).then(() => order.push(name))
    hold('a1', ['a'])
    hold('ab', ['a', 'b'])
    hold('b1', ['b'])
    hold('a2', ['a'])
    hold('c1', ['c'])

    open.add('a')
    held.release((topics) => topics.every((t) => open.has(t)))
    await flush()
    // ab waits for b, so a2 (same topic a) waits behind it; b1 waits behind ab (same topic b).
    expect(order).toEqual(['a1'])
    expect(held.records).toBe(4)
    expect(held.recordsFor('a')).toBe(2)
    expect(held.holdsAny(['a'])).toBe(true)

    open.add('b').add('c')
    held.release((topics) => topics.every((t) => open.has(t)))
    await flush()
    expect(order).toEqual(['a1', 'ab', 'b1', 'a2', 'c1'])
    expect(held.records).toBe(0)
    expect(held.holdsAny(['a', 'b', 'c'])).toBe(false)
  })

  it('releases 100 000 held sends in one call, in order', async () => {
    const {held} = queue(1_000_000)
    const released: number[] = []
    for (let i = 0; i < 100_000; i++) void held.hold(['t'], 1).then(() => released.push(i))
    held.release(() => true)
    await flush()
    expect(released).toHaveLength(100_000)
    expect(released.every((value, index) => value === index)).toBe(true)
  })

  it('warns once past the limit, again only after dropping below it', async () => {
    const {held, warnings} = queue(3)
    void held.hold(['t'], 2)
    void held.hold(['t'], 2)
    void held.hold(['t'], 2)
    expect(warnings).toEqual(['4 records held while paused (limit 3): callers are held back until resume'])
    held.release(() => true)
    void held.hold(['t'], 4)
    expect(warnings).toHaveLength(2)
  })

  it('rejectAll fails every held send and empties the counters', async () => {
    const {held} = queue()
    const results = [held.hold(['a'], 1), held.hold(['a', 'b'], 2)].map((p) =>
      p.then(
        () => 'sent',
        (error: Error) => error.message,
      ),
    )
    held.rejectAll(new Error('closed'))
    expect(await Promise.all(results)).toEqual(['closed', 'closed'])
    expect(held.records).toBe(0)
    expect(held.recordsFor('b')).toBe(0)
  })
})

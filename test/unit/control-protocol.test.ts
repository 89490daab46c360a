import {describe, expect, it} from 'vitest'

import {canonicalJson, decode, encode, sign} from '../../src/control/codec.js'
import {type Command, keys, type LeaseRecord, PROTOCOL_VERSION} from '../../src/control/schema.js'
import {ControlState} from '../../src/control/state.js'

const lease = (op: LeaseRecord['op'], runId: string, leaseMs = 1000): LeaseRecord => ({
  v: PROTOCOL_VERSION,
  type: 'lease',
  op,
  topic: 't',
  runId,
  host: 'h',
  pid: 1,
  leaseMs,
  at: 0,
})
const pause = (runId: string): Command => ({v: PROTOCOL_VERSION, type: 'cmd', action: 'pause', topic: 't', runId, epoch: 1, at: 0})

describe('codec', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({b: 1, a: {d: [1, {z: 1, y: 2}], c: undefined}})).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}')
  })

  it('round-trips a signed record and rejects tampering, other keys, missing signatures', () => {
    const key = keys.cmd('t')
    const bytes = encode(key, pause('r1'), 's3cret')
    expect(decode(key, bytes, {secret: 's3cret'})).toMatchObject({ok: true, message: {action: 'pause', runId: 'r1'}})
    const tampered = Buffer.from(bytes.toString().replace('"r1"', '"r2"'))
    expect(decode(key, tampered, {secret: 's3cret'})).toMatchObject({ok: false, reason: expect.stringContaining('bad signature')})
    expect(decode(key, bytes, {secret: 'other'})).toMatchObject({ok: false})
    expect(decode(key, encode(key, pause('r1')), {secret: 's3cret'})).toMatchObject({
      ok: false,
      reason: expect.stringContaining('unsigned'),
    })
    // A signature is bound to its key.
    const message = JSON.parse(bytes.toString()) as Record<string, unknown>
    expect(message.sig).toBe(sign(key, message, 's3cret'))
    expect(decode(keys.cmd('u'), Buffer.from(JSON.stringify({...message, topic: 'u'})), {secret: 's3cret'}).ok).toBe(false)
  })

  it('never throws on garbage', () => {
    for (const [key, value] of [
      ['cmd/t', 'not json'],
      ['cmd/t', '[]'],
      ['cmd/t', JSON.stringify({v: 2, type: 'cmd'})],
      ['cmd/t', JSON.stringify({v: 1, type: 'ack'})],
      ['cmd/t', JSON.stringify({...pause('r'), topic: 'other'})],
      ['weird', '{}'],
      [null, '{}'],
    ] as const) {
      expect(decode(key, value).ok).toBe(false)
    }
    expect(decode('agent/a1', null)).toMatchObject({ok: true, message: null})
  })
})

describe('lease fold', () => {
  function fold(records: Array<[LeaseRecord | Command, number]>) {
    const state = new ControlState()
    return records.map(([message, timestamp], offset) => {
      const key = message.type === 'lease' ? keys.lease('t') : keys.cmd('t')
      state.apply(decode(key, encode(key, message)), {offset, timestamp})
      return {state, outcome: state.outcomeAt(offset), command: state.command('t')}
    })
  }

  it('the first still-valid claim in log order wins; re-entrant for the same run', () => {
    const steps = fold([
      [lease('claim', 'a'), 100],
      [lease('claim', 'b'), 150],
      [lease('claim', 'a'), 200],
    ])
    expect(steps[0]!.outcome).toMatchObject({granted: true})
    expect(steps[1]!.outcome).toMatchObject({granted: false, holder: {runId: 'a'}})
    expect(steps[2]!.outcome).toMatchObject({granted: true, continuous: true, holder: {runId: 'a', acquiredAt: 100, expiresAt: 1200}})
  })

  it('a lapsed lease can be claimed by another run, and a late renewal is not continuous', () => {
    const steps = fold([
      [lease('claim', 'a'), 100],
      [lease('renew', 'a'), 1200], // lapsed at 1_100
      [lease('claim', 'b'), 1250],
    ])
    expect(steps[1]!.outcome).toMatchObject({granted: true, continuous: false})
    expect(steps[2]!.outcome).toMatchObject({granted: false})
    const after = fold([
      [lease('claim', 'a'), 100],
      [lease('claim', 'b'), 1100],
      [lease('renew', 'a'), 1150],
    ])
    expect(after[1]!.outcome).toMatchObject({granted: true})
    expect(after[2]!.outcome).toMatchObject({granted: false, holder: {runId: 'b'}})
  })

  it('release frees the lease only for its holder; commands are authorized only for the holder', () => {
    const steps = fold([
      [lease('claim', 'a'), 100],
      [lease('release', 'b'), 110],
      [pause('b'), 120],
      [pause('a'), 130],
      [lease('release', 'a'), 140],
      [pause('a'), 150],
    ])
    expect(steps[1]!.outcome).toMatchObject({op: 'release', granted: false})
    expect(steps[2]!.command).toMatchObject({authorized: false})
    expect(steps[3]!.command).toMatchObject({authorized: true})
    expect(steps[4]!.outcome).toMatchObject({op: 'release', granted: true})
    expect(steps[5]!.command).toMatchObject({authorized: false})
  })
})

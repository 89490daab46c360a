import {describe, expect, it} from 'vitest'

import {AgentDirectory} from '../../src/control/agents.js'
import {decode, encode} from '../../src/control/codec.js'
import {type Command, type Heartbeat, keys, type LeaseRecord} from '../../src/control/schema.js'
import {ControlState, type StateChange} from '../../src/control/state.js'
import {judgeControlTopic, judgeHeartbeatTopic} from '../../src/control/topic-config.js'

// Protocol 1.1 on the fold: lease epochs, stale commands, the pin action and the heartbeat fields.

const lease = (op: LeaseRecord['op'], runId: string, epoch?: number, leaseMs = 1000): LeaseRecord => ({
  v: 1,
  type: 'lease',
  op,
  topic: 't',
  runId,
  host: 'h',
  pid: 1,
  leaseMs,
  ...(epoch === undefined ? {} : {epoch}),
  at: 0,
})
const command = (action: Command['action'], runId: string, epoch: number, extra: Partial<Command> = {}): Command => ({
  v: 1,
  type: 'cmd',
  action,
  topic: 't',
  runId,
  epoch,
  at: 0,
  ...extra,
})

function folder() {
  const state = new ControlState()
  let offset = 0
  const apply = (message: LeaseRecord | Command, timestamp: number): StateChange | undefined => {
    const key = message.type === 'lease' ? keys.lease('t') : keys.cmd('t')
    return state.apply(decode(key, encode(key, message)), {offset: offset++, timestamp})
  }
  return {state, apply, outcome: () => state.outcomeAt(offset - 1)}
}

describe('lease fold with epochs (1.1 D)', () => {
  it('refuses a claim or renew with an epoch below the latest granted claim of the same run', () => {
    const {apply, outcome, state} = folder()
    apply(lease('claim', 'run', 10), 100)
    expect(outcome()).toMatchObject({granted: true})
    apply(lease('claim', 'run', 20), 200) // the run resumed on another host: a later attempt
    expect(outcome()).toMatchObject({granted: true, continuous: true})
    apply(lease('renew', 'run', 10), 300) // the first host woke up
    expect(outcome()).toMatchObject({
      op: 'renew',
      granted: false,
      reason: 'stale-epoch',
      epoch: 10,
      latestEpoch: 20,
      holder: {runId: 'run'},
    })
    apply(lease('renew', 'run', 20), 400)
    expect(outcome()).toMatchObject({granted: true, continuous: true})
    expect(state.holder('t')).toMatchObject({runId: 'run', expiresAt: 1400})
    expect(state.leaseEpoch('t', 'run')).toBe(20)
  })

  it('a refused stale renewal does not extend the lease; another run is still refused while it is valid', () => {
    const {apply, outcome, state} = folder()
    apply(lease('claim', 'run', 20), 100)
    apply(lease('renew', 'run', 19), 900)
    expect(outcome()).toMatchObject({granted: false, reason: 'stale-epoch'})
    expect(state.holder('t')?.expiresAt).toBe(1100)
    apply(lease('claim', 'other', 1), 1000)
    expect(outcome()).toMatchObject({granted: false, reason: 'held', holder: {runId: 'run'}})
    apply(lease('claim', 'other', 1), 1200) // lapsed
    expect(outcome()).toMatchObject({granted: true})
  })

  it('records without an epoch are judged as in 1.0; renewals do not raise the epoch', () => {
    const {apply, outcome, state} = folder()
    apply(lease('claim', 'run'), 100)
    apply(lease('renew', 'run', 3), 200)
    apply(lease('renew', 'run', 1), 300)
    expect(outcome()).toMatchObject({granted: true}) // no claim carried an epoch
    apply(lease('claim', 'run', 5), 400)
    apply(lease('renew', 'run'), 500)
    expect(outcome()).toMatchObject({granted: true})
    expect(state.leaseEpoch('t', 'run')).toBe(5)
    // Epochs are per run: another run's attempt numbering is unrelated.
    apply(lease('release', 'run'), 600)
    apply(lease('claim', 'next', 1), 700)
    expect(outcome()).toMatchObject({granted: true})
  })
})

describe('command fold with epochs (1.1 D)', () => {
  it('a command with an epoch below one seen for its run is stale and never comes into force', () => {
    const {apply, state} = folder()
    apply(lease('claim', 'run', 5, 10_000), 100)
    expect(apply(command('pause', 'run', 5), 110)).toMatchObject({kind: 'cmd'})
    const stale = apply(command('resume', 'run', 3), 120)
    expect(stale).toMatchObject({kind: 'stale-cmd', seenEpoch: 5, entry: {command: {action: 'resume', epoch: 3}}})
    expect(state.command('t')?.command).toMatchObject({action: 'pause', epoch: 5})
    // The same epoch again is a re-publish, not stale; another run has its own numbering.
    expect(apply(command('pause', 'run', 5), 130)).toMatchObject({kind: 'cmd'})
    expect(apply(command('resume', 'other', 1), 140)).toMatchObject({kind: 'cmd', entry: {authorized: false}})
    expect(apply(command('resume', 'run', 6), 150)).toMatchObject({kind: 'cmd', entry: {authorized: true}})
    expect(state.latestEpoch('t', 'run')).toBe(6)
    expect(state.latestEpoch('t', 'nobody')).toBeUndefined()
  })

  it('latestEpoch covers claims too: a later attempt that only claimed already outranks older commands', () => {
    const {apply, state} = folder()
    apply(lease('claim', 'run', 5, 10_000), 100)
    apply(command('pin', 'run', 5, {pinPartitions: 4}), 110)
    apply(lease('claim', 'run', 9, 10_000), 120)
    expect(state.latestEpoch('t', 'run')).toBe(9)
  })

  it('decodes the pin action and the pinned ack; rejects a pin of 0', () => {
    const pin = command('pin', 'run', 1, {pinPartitions: 12, leaseExpiresAt: 5})
    expect(decode(keys.cmd('t'), encode(keys.cmd('t'), pin))).toMatchObject({ok: true, message: {action: 'pin', pinPartitions: 12}})
    expect(decode(keys.cmd('t'), JSON.stringify({...pin, pinPartitions: 0}))).toMatchObject({ok: false})
    const ack = {v: 1, type: 'ack', topic: 't', agentId: 'a1', state: 'pinned', runId: 'run', epoch: 1, partitionCount: 12, at: 1}
    expect(decode(keys.ack('t', 'a1'), JSON.stringify(ack))).toMatchObject({ok: true, message: {state: 'pinned'}})
  })
})

describe('heartbeats (1.1 B)', () => {
  const heartbeat = (agentId: string, extra: Partial<Heartbeat> = {}): Heartbeat => ({
    v: 1,
    type: 'agent',
    agentId,
    host: 'h',
    pid: 1,
    topics: ['t'],
    version: '1',
    partitioner: 'murmur2',
    heartbeatMs: 1000,
    startedAt: 0,
    states: {t: {state: 'running', partitionCount: 4}},
    at: 0,
    ...extra,
  })

  it('decodes the 1.1 fields; a v1 heartbeat without them still decodes', () => {
    const full = heartbeat('a1', {
      capabilities: ['pause', 'pin', 'future-thing'],
      language: 'kafkajs',
      producerId: 4001,
      idempotent: true,
      lastWrite: {t: {partition: 3, offset: 17}},
    })
    expect(decode(keys.agent('a1'), encode(keys.agent('a1'), full))).toMatchObject({
      ok: true,
      message: {capabilities: ['pause', 'pin', 'future-thing'], producerId: 4001, lastWrite: {t: {partition: 3, offset: 17}}},
    })
    expect(decode(keys.agent('a1'), encode(keys.agent('a1'), heartbeat('a1')))).toMatchObject({ok: true})
    expect(decode(keys.agent('a1'), JSON.stringify({...full, lastWrite: {t: {partition: -1, offset: 0}}}))).toMatchObject({ok: false})
  })

  it('the directory merges both topics: the later heartbeat of an agent wins, 1.1 fields come through', () => {
    const control = new ControlState()
    const heartbeats = new ControlState()
    const put = (state: ControlState, message: Heartbeat, offset: number, timestamp: number) =>
      state.apply(decode(keys.agent(message.agentId), encode(keys.agent(message.agentId), message)), {offset, timestamp})
    put(control, heartbeat('old-agent'), 0, 9000) // a 1.0 agent, on the control topic
    put(control, heartbeat('upgraded'), 1, 1000)
    put(
      heartbeats,
      heartbeat('upgraded', {
        capabilities: ['pause', 'pin'],
        language: 'kafkajs',
        producerId: 7,
        idempotent: true,
        lastWrite: {t: {partition: 1, offset: 2}},
      }),
      0,
      9500,
    )
    const agents = new AgentDirectory(control, heartbeats).list('t', {}, 10_000)
    expect(agents.map((a) => [a.agentId, a.heartbeatSource])).toEqual([
      ['old-agent', 'control'],
      ['upgraded', 'heartbeats'],
    ])
    expect(agents[0]!.capabilities).toBeUndefined()
    expect(agents[1]).toMatchObject({
      capabilities: ['pause', 'pin'],
      language: 'kafkajs',
      producerId: 7,
      idempotent: true,
      lastWrite: {t: {partition: 1, offset: 2}},
      alive: true,
    })
    // Liveness: 3 heartbeat intervals (at least 3 s) on the broker's timestamps.
    expect(new AgentDirectory(control, heartbeats).list('t', {}, 12_400).map((a) => a.agentId)).toEqual(['upgraded'])
  })
})

describe('control topic configuration check', () => {
  const good = {
    topic: 'kreorg-control',
    config: {
      'cleanup.policy': 'compact',
      'message.timestamp.type': 'LogAppendTime',
      'min.insync.replicas': '2',
      'min.compaction.lag.ms': '86400000',
    },
    partitions: 1,
    replicationFactor: 3,
    brokers: 3,
  }

  it('a control topic as kreorg creates it (replicated) has no problems', () => {
    expect(judgeControlTopic(good)).toEqual([])
    // One broker: replication factor 1 is all there is.
    expect(judgeControlTopic({...good, config: {...good.config, 'min.insync.replicas': '1'}, replicationFactor: 1, brokers: 1})).toEqual([])
  })

  it('names every bad setting with an explanation and a fix', () => {
    const problems = judgeControlTopic({
      topic: 'ctl',
      config: {'cleanup.policy': 'delete', 'message.timestamp.type': 'CreateTime', 'min.insync.replicas': '2'},
      partitions: 3,
      replicationFactor: 1,
      brokers: 3,
    })
    expect(problems.map((p) => [p.setting, p.severity])).toEqual([
      ['cleanup.policy', 'error'],
      ['message.timestamp.type', 'error'],
      ['min.insync.replicas', 'error'],
      ['replication.factor', 'warning'],
      ['partitions', 'error'],
    ])
    for (const problem of problems) expect(problem.explanation.length).toBeGreaterThan(20)
    expect(problems[0]!.fix).toContain('cleanup.policy=compact')
    expect(judgeControlTopic({...good, config: {...good.config, 'cleanup.policy': 'compact,delete'}})[0]).toMatchObject({
      setting: 'cleanup.policy',
      severity: 'error',
    })
    expect(judgeControlTopic({...good, config: {...good.config, 'min.insync.replicas': '1'}})).toMatchObject([
      {setting: 'min.insync.replicas', severity: 'warning'},
    ])
    expect(judgeControlTopic({...good, config: {...good.config, 'min.compaction.lag.ms': '0'}})).toMatchObject([
      {setting: 'min.compaction.lag.ms', severity: 'warning'},
    ])
  })

  it('checks the heartbeat topic for what breaks liveness', () => {
    expect(
      judgeHeartbeatTopic({
        ...good,
        topic: 'kreorg-control-heartbeats',
        config: {'cleanup.policy': 'delete', 'message.timestamp.type': 'LogAppendTime'},
      }),
    ).toEqual([])
    expect(
      judgeHeartbeatTopic({...good, config: {'cleanup.policy': 'compact', 'message.timestamp.type': 'CreateTime'}}).map((p) => p.setting),
    ).toEqual(['message.timestamp.type', 'cleanup.policy'])
  })
})

import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {PartitionProducers} from '../../src/kafka/types.js'

import {connectSettings, resolveConnectUrls} from '../../src/config/connect.js'
import {configEvidence, discoverConnectWriters} from '../../src/connect/discovery.js'
import {ConnectRestClient} from '../../src/connect/rest-client.js'
import {connectEndpoints, parseConnectUrl} from '../../src/connect/urls.js'
import {accountForConnect, type ConnectWriterFacts} from '../../src/connect/writers.js'
import {KreorgError} from '../../src/core/errors.js'
import {clearRegisteredSecrets, maskSecrets} from '../../src/core/redact.js'
import {parseGrowInputs} from '../../src/steps/grow/inputs.js'
import {classifyWriters} from '../../src/steps/grow/writers.js'
import {FakeConnect} from '../fakes/fake-connect.js'
import {fakeGrow} from '../fakes/fake-grow.js'

/** Pure parts of the Kafka Connect support: URLs and credentials, topic matching, the writer attribution. */

function thrown(fn: () => unknown): KreorgError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(KreorgError)
    return error as KreorgError
  }
  throw new Error('expected a KreorgError')
}

afterEach(() => clearRegisteredSecrets())

describe('Connect URLs and credentials', () => {
  it('stores URLs without userinfo or trailing slash; refuses other schemes and queries', () => {
    expect(parseConnectUrl('http://connect-1:8083/', {where: 'x', allowPassword: false})).toEqual({url: 'http://connect-1:8083'})
    expect(parseConnectUrl('https://gw.example/connect/', {where: 'x', allowPassword: false}).url).toBe('https://gw.example/connect')
    expect(thrown(() => parseConnectUrl('ftp://c:21', {where: '--connect-url', allowPassword: false})).message).toMatch(
      /^--connect-url: a Kafka Connect URL must start with http/,
    )
    expect(thrown(() => parseConnectUrl('http://c:8083/?a=1', {where: 'x', allowPassword: false})).exitCode).toBe(2)
    expect(thrown(() => parseConnectUrl('not a url', {where: 'x', allowPassword: false})).message).toBe(
      'x: not a URL (expected http://host:8083)',
    )
  })

  it('a password is refused outside KREORG_CONNECT_URLS, and never echoed', () => {
    const error = thrown(() => parseConnectUrl('http://ops:hunter22@connect-1:8083', {where: '--connect-url', allowPassword: false}))
    expect(error.message).toBe('--connect-url: a password in a Kafka Connect URL (http://connect-1:8083) is refused here')
    expect(error.suggestions.join(' ')).toContain('KREORG_CONNECT_URLS')
    expect(maskSecrets('x hunter22 y')).toBe('x ******** y')
  })

  it('credentials for a stored URL come from the KREORG_CONNECT_URLS entry with the same URL', () => {
    const env = {KREORG_CONNECT_URLS: 'http://ops:p%40ss@connect-1:8083/, http://connect-2:8083'}
    expect(connectEndpoints(['http://connect-1:8083', 'http://connect-3:8083'], env)).toEqual([
      {url: 'http://connect-1:8083', username: 'ops', password: 'p@ss'},
      {url: 'http://connect-3:8083'},
    ])
  })

  it('a checkpoint with userinfo in a Connect URL is refused', () => {
    const {inputs} = fakeGrow()
    expect(parseGrowInputs({...inputs, connectUrls: ['http://c:8083']}).connectUrls).toEqual(['http://c:8083'])
    expect(thrown(() => parseGrowInputs({...inputs, connectUrls: ['http://a:b@c:8083']})).message).toBe(
      'grow inputs are invalid (connectUrls.0: expected an http(s) URL without credentials)',
    )
  })
})

describe('resolving --connect-url, KREORG_CONNECT_URLS and connectUrls of the profile', () => {
  let xdg: string

  beforeEach(() => {
    xdg = mkdtempSync(path.join(os.tmpdir(), 'kreorg-connect-config-'))
    mkdirSync(path.join(xdg, 'kreorg'), {recursive: true})
  })

  afterEach(() => rmSync(xdg, {recursive: true, force: true}))

  function profile(urls: string[]): Record<string, string> {
    writeFileSync(
      path.join(xdg, 'kreorg', 'config.yaml'),
      `profiles:\n  prod:\n    connectUrls: [${urls.map((u) => JSON.stringify(u)).join(', ')}]\n`,
    )
    return {XDG_CONFIG_HOME: xdg, HOME: xdg}
  }

  it('the first layer that sets the list wins: flag, then env, then profile', () => {
    const env = {...profile(['http://p:8083']), KREORG_CONNECT_URLS: 'http://u:pw-env-1@e:8083'}
    expect(resolveConnectUrls({'connect-url': ['http://f:8083', 'http://g:8083,http://f:8083']}, env)).toEqual([
      'http://f:8083',
      'http://g:8083',
    ])
    expect(resolveConnectUrls({profile: 'prod'}, env)).toEqual(['http://e:8083'])
    expect(resolveConnectUrls({profile: 'prod'}, {XDG_CONFIG_HOME: xdg, HOME: xdg})).toEqual(['http://p:8083'])
    expect(resolveConnectUrls({}, {XDG_CONFIG_HOME: xdg, HOME: xdg})).toEqual([])
  })

  it('config show lists them and masks which have credentials', () => {
    const env = {...profile(['http://p:8083']), KREORG_CONNECT_URLS: 'http://u:pw-env-2@p:8083'}
    const rows = connectSettings({profile: 'prod'}, env)
    expect(rows).toEqual([
      {key: 'connectUrls', value: 'http://p:8083', source: 'env KREORG_CONNECT_URLS'},
      {key: 'connectUrls.credentials', value: '******** (for http://p:8083)', source: 'env KREORG_CONNECT_URLS'},
    ])
  })

  it('a password in the profile is refused like an inline password (exit 2, file and key named)', () => {
    const env = profile(['http://ops:in-file-pw@p:8083'])
    const error = thrown(() => resolveConnectUrls({profile: 'prod'}, env))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(
      `connectUrls[0] of profile prod in ${path.join(xdg, 'kreorg', 'config.yaml')}: a password in a Kafka Connect URL (http://p:8083) is refused here`,
    )
  })
})

describe('which source connectors write to the topic', () => {
  it('matches topic keys (lists too) and topic prefixes; ignores other keys', () => {
    expect(configEvidence({topic: 'orders', file: '/x'}, 'orders')).toEqual(['config topic'])
    expect(configEvidence({topics: 'a, orders ,b'}, 'orders')).toEqual(['config topics'])
    expect(configEvidence({'topic.prefix': 'db1.'}, 'db1.inventory.orders')).toEqual(['config topic.prefix'])
    expect(configEvidence({'kafka.topic': 'orders-v2', name: 'orders'}, 'orders')).toEqual([])
    expect(configEvidence({'topic.creation.default.partitions': '12'}, '12')).toEqual([])
  })

  it('discovery keeps source connectors with evidence, once per Connect cluster, and warns about paused ones', async () => {
    const connect = new FakeConnect()
    await connect.start()
    try {
      connect.add({name: 'files', config: {topic: 'orders', 'connection.password': 'sekrit-in-config'}, topics: ['orders']})
      connect.add({name: 'renamed', config: {topic: 'raw'}, topics: ['orders']})
      connect.add({name: 'other', config: {topic: 'payments'}, topics: ['payments']})
      connect.add({name: 'held', config: {topic: 'orders'}, state: 'PAUSED', tasks: [{id: 0, state: 'PAUSED'}]})
      connect.add({name: 'sink', type: 'sink', config: {topics: 'orders'}})
      const client = new ConnectRestClient({url: connect.url})
      // Two workers of one Connect cluster list the same connectors: paused once.
      const plan = await discoverConnectWriters([client, new ConnectRestClient({url: `${connect.url}/`.slice(0, -1)})], 'orders')
      expect(plan.connectors.map((c) => [c.name, c.state, c.evidence])).toEqual([
        ['files', 'RUNNING', ['active topics', 'config topic']],
        ['held', 'PAUSED', ['config topic']],
        ['renamed', 'RUNNING', ['active topics']],
      ])
      expect(plan.workers).toHaveLength(2)
      expect(plan.warnings.filter((w) => w.includes('one Connect cluster'))).toHaveLength(3)
      expect(plan.warnings.some((w) => w.includes('held') && w.includes('PAUSED already'))).toBe(true)
      // The plan never carries a connector's config (it may hold secrets).
      expect(JSON.stringify(plan)).not.toContain('sekrit-in-config')
    } finally {
      await connect.stop()
    }
  })
})

describe('the writer inventory and Kafka Connect', () => {
  const connectors = [{name: 'files', worker: 'http://c:8083', tasks: 1}]
  const producers = (entries: Array<[number, number, number]>): PartitionProducers[] =>
    [0, 1].map((partition) => ({
      partition,
      producers: entries
        .filter(([p]) => p === partition)
        .map(([, producerId, lastSequence]) => ({
          producerId,
          producerEpoch: 0,
          lastSequence,
          lastTimestamp: Date.now() - 1000,
          coordinatorEpoch: -1,
          currentTxnStartOffset: -1,
        })),
    }))
  const unknown = (producerId: number) => ({producerId, partitions: [0], lastWriteAt: Date.now() - 1000})

  it('plan (connectors running): at most one unknown producer id per task, and -1 batches, provisionally', () => {
    const running: ConnectWriterFacts = {phase: 'running', connectors}
    const one = accountForConnect(running, {
      unknown: [unknown(7)],
      nonIdempotent: [{partition: 1, batches: 3, lastOffset: 40}],
      producers: [],
    })
    expect(one.unknown).toEqual([])
    expect(one.nonIdempotent).toEqual([])
    expect(one.attribution).toMatchObject({producerIds: [7], nonIdempotentPartitions: [1], tasks: 1})
    expect(one.notes.join(' ')).toContain('checked again after the pause')
    const two = accountForConnect(running, {unknown: [unknown(7), unknown(8)], nonIdempotent: [], producers: []})
    expect(two.unknown.map((w) => w.connect)).toEqual([
      'Kafka Connect connector files (1 task) can account for at most 1 producer id(s), and 2 belong to no agent',
      'Kafka Connect connector files (1 task) can account for at most 1 producer id(s), and 2 belong to no agent',
    ])
  })

  it('after the pause: a producer id is Connect’s only if it has not written since; -1 batches only below the offsets at the pause', () => {
    const paused: ConnectWriterFacts = {
      phase: 'paused',
      connectors,
      pausedAt: Date.parse('2026-01-01T00:00:00Z'),
      highWatermarks: [
        {partition: 0, high: 100},
        {partition: 1, high: 50},
      ],
      producerSequences: [
        [0, 7, 41],
        [0, 8, 9],
      ],
    }
    const now = producers([
      [0, 7, 41],
      [0, 8, 12],
    ])
    const result = accountForConnect(paused, {
      unknown: [unknown(7), unknown(8)],
      nonIdempotent: [
        {partition: 0, batches: 2, lastOffset: 99},
        {partition: 1, batches: 1, lastOffset: 50},
      ],
      producers: now,
    })
    expect(result.attribution).toMatchObject({producerIds: [7], nonIdempotentPartitions: [0]})
    expect(result.unknown).toEqual([
      expect.objectContaining({
        producerId: 8,
        connect: "it wrote after Kafka Connect connector files was confirmed PAUSED at 2026-01-01T00:00:00.000Z, so it is not Connect's",
      }),
    ])
    expect(result.nonIdempotent).toEqual([{partition: 1, batches: 1, lastOffset: 50, afterConnectPause: 50}])
    // Two silent ids, one task: kreorg cannot tell which one is Connect's, so neither is.
    const silentTwo: ConnectWriterFacts = {...paused, producerSequences: [...paused.producerSequences!, [0, 9, 3]]}
    const ambiguous = accountForConnect(silentTwo, {
      unknown: [unknown(7), unknown(9)],
      nonIdempotent: [],
      producers: producers([
        [0, 7, 41],
        [0, 9, 3],
      ]),
    })
    expect(ambiguous.unknown.map((w) => w.producerId)).toEqual([7, 9])
    expect(ambiguous.attribution.producerIds).toEqual([])
    expect(ambiguous.unknown[0]!.connect).toContain('2 producer ids that belong to no agent have not written since')
  })

  it("an exactly-once task's open transaction: noted in plan when it is the task's, refused otherwise and once paused", () => {
    const open = (producerId: number): PartitionProducers[] => [
      {
        partition: 0,
        producers: [
          {producerId, producerEpoch: 0, lastSequence: 9, lastTimestamp: Date.now(), coordinatorEpoch: 3, currentTxnStartOffset: 101},
        ],
      },
    ]
    const inventory = (transactionalId: string, facts: ConnectWriterFacts) =>
      classifyWriters(
        {
          producers: open(1),
          agents: [{agentId: 'a', alive: true, producerId: 4}],
          transactions: [{producerId: 1, transactionalId}],
          batches: {partitions: []},
          now: Date.now(),
        },
        {lookbackMs: 600_000, ignoreProducers: [], allowNonIdempotent: false, connect: facts},
      )
    const running: ConnectWriterFacts = {phase: 'running', connectors}
    // Connect names a task's transactional id <worker group>-<connector>-<task>.
    const task = inventory('connect-cluster-files-0', running)
    expect(task.problems).toEqual([])
    expect(task.notes.join(' ')).toContain(
      "open transaction connect-cluster-files-0 (producer id 1) is a running Kafka Connect task's (exactly-once source): the pause ends it",
    )
    // Another transactional producer does not hide behind the connector, nor a task number it does not have.
    for (const other of ['payments-txn-1', 'connect-cluster-files-1', 'connect-cluster-otherfiles-0x']) {
      expect(inventory(other, running).problems, other).toEqual([expect.stringContaining(`open transaction ${other} (producer id 1)`)])
    }
    // Right before the alter the connectors are PAUSED: a transaction still open is refused, whoever holds it.
    const paused: ConnectWriterFacts = {phase: 'paused', connectors, pausedAt: 0, highWatermarks: [], producerSequences: [[0, 1, 9]]}
    expect(inventory('connect-cluster-files-0', paused).problems).toEqual([
      expect.stringContaining('open transaction connect-cluster-files-0 (producer id 1) on partition(s) 0@101 is not owned by an agent'),
    ])
  })

  it('refusals name what Connect does not account for', () => {
    const facts: ConnectWriterFacts = {
      phase: 'paused',
      connectors,
      pausedAt: 0,
      highWatermarks: [{partition: 0, high: 10}],
      producerSequences: [],
    }
    const inventory = classifyWriters(
      {
        producers: producers([[0, 5, 3]]),
        agents: [{agentId: 'a', alive: true, producerId: 1}],
        transactions: [],
        batches: {partitions: [{partition: 0, producers: [{producerId: -1, batches: 2, lastOffset: 12}]}] as never},
        now: Date.now(),
      },
      {lookbackMs: 600_000, ignoreProducers: [], allowNonIdempotent: false, connect: facts},
    )
    expect(inventory.problems).toHaveLength(2)
    expect(inventory.problems[0]).toContain('and no agent owns it (it wrote after Kafka Connect connector files was confirmed PAUSED')
    expect(inventory.problems[1]).toContain(
      '0 (2 batches, the last at offset 12, at or after offset 10 where the Kafka Connect connectors were confirmed PAUSED)',
    )
    expect(inventory.connect).toMatchObject({phase: 'paused', producerIds: [], nonIdempotentPartitions: []})
  })
})

import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {BIN, TEST_XDG_ENV} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/**
 * Issue 17: `kreorg audit <topic> --sample all` reads the whole topic and, on a terminal, shows a
 * progress line on stderr while it does. `script` gives the CLI a real pseudo-terminal; off one
 * (the other tests) nothing but the report is printed.
 */

const RECORDS = 150_000
const PARTITIONS = 3

function underTerminal(command: string[]): Promise<{code: number | null; output: string}> {
  const line = command.map((part) => `'${part.replaceAll("'", String.raw`'\''`)}'`).join(' ')
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], {env: {...process.env, ...TEST_XDG_ENV, NO_COLOR: '1', COLUMNS: '160'}})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, output}))
  })
}

describe.skipIf(process.platform !== 'linux')('audit --sample all on a terminal', () => {
  let cluster: KafkaCluster & KafkajsCluster
  const topic = randomName('audit-all')

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: PARTITIONS, replicationFactor: 1})
    const producer = cluster.kafkaClient.producer()
    await producer.connect()
    try {
      for (let start = 0; start < RECORDS; start += 10_000) {
        await producer.send({
          topic,
          acks: 1,
          messages: Array.from({length: 10_000}, (_, i) => ({partition: (start + i) % PARTITIONS, key: `key-${start + i}`, value: 'v'})),
        })
      }
    } finally {
      await producer.disconnect()
    }
  }, 120_000)

  afterAll(async () => {
    await cluster?.deleteTopics([topic]).catch(() => {})
    await cluster?.close()
  })

  it('reads every record and shows offsets read, rate and time left while sampling', async () => {
    const {code, output} = await underTerminal([process.execPath, BIN, 'audit', topic, '--sample', 'all', '--brokers', testBrokers()])
    expect(code, output.slice(-2000)).toBe(0)
    // The meter rewrites one line: `sampling <topic>: <done>/<total> offsets (<pct>%)…`.
    const meter = [...output.matchAll(new RegExp(`sampling ${topic}: (\\d+)/(\\d+) offsets \\((\\d+)%\\)`, 'g'))]
    expect(meter.length, output.slice(-2000)).toBeGreaterThan(0)
    for (const [, done, total] of meter) {
      expect(Number(total)).toBe(RECORDS)
      expect(Number(done)).toBeLessThanOrEqual(RECORDS)
    }
    // The report itself: every record was read (the key table counts 150,000 keys).
    expect(output).toMatch(/150,?000/)
  }, 180_000)
})

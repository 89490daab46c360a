import {spawn} from 'node:child_process'
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {createKafkaClient} from '../../src/kafka/client.js'
import type {KafkaCluster} from '../../src/kafka/types.js'
import {BIN, REPO_ROOT} from '../helpers/cli.js'
import {testBrokers} from '../helpers/kafka.js'

export const TEST_STEPS = ['create-topic', 'write-marker-a', 'commit-offset', 'write-marker-b'] as const

export function engineEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {KREORG_ENABLE_TEST_RUNBOOKS: '1', KAFKA_BROKERS: testBrokers(), KREORG_STATE_DIR: stateDir, ...extra}
}

export async function tempStateDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-state-'))
}

export type JsonEvent = Record<string, unknown> & {event: string; runId: string; step: string | null}

export interface KilledRun {
  code: number | null
  signal: NodeJS.Signals | null
  events: JsonEvent[]
  stderr: string
  matched: boolean
}

/**
 * Spawns the real CLI with --json and sends `signal` the moment an NDJSON event matches `when`
 * (SIGKILL: nothing runs after it, exactly like a dead laptop).
 */
export function runUntil(
  args: string[],
  env: Record<string, string>,
  when: (event: JsonEvent) => boolean,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], {
      cwd: REPO_ROOT,
      env: {...process.env, FORCE_COLOR: '0', ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const events: JsonEvent[] = []
    let buffer = ''
    let stderr = ''
    let matched = false
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let newline: number
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        if (line.trim() === '') continue
        const event = JSON.parse(line) as JsonEvent
        events.push(event)
        if (!matched && when(event)) {
          matched = true
          child.kill(signal)
        }
      }
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      resolve({code, signal: sig, events, stderr, matched})
    })
  })
}

/** Every record in a topic (partition 0), in offset order, read with a throwaway consumer. */
export async function readRecords(topic: string, expected: number): Promise<Array<{offset: number; key: string; value: string}>> {
  const client = createKafkaClient({brokers: testBrokers().split(','), clientId: 'kreorg-test-reader', connectTimeoutMs: 10_000})
  const consumer = client.consumer({groupId: `kreorg-internal-test-reader-${Math.random().toString(16).slice(2)}`, maxWaitTimeInMs: 100})
  const records: Array<{offset: number; key: string; value: string}> = []
  await consumer.connect()
  try {
    await consumer.subscribe({topics: [topic], fromBeginning: true})
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => resolve(), 10_000)
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({message}) => {
            records.push({offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? ''})
            if (records.length >= expected) {
              clearTimeout(deadline)
              // Give a duplicate, if any, a moment to arrive too.
              setTimeout(resolve, 300)
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return records.sort((a, b) => a.offset - b.offset)
}

/** The Kafka-side end state of a test-markers run, with the run id normalized away. */
export async function endState(cluster: KafkaCluster, topic: string, group: string, runId: string) {
  const offsets = await cluster.endOffsets(topic)
  const count = offsets.reduce((sum, p) => sum + (p.high - p.low), 0)
  const records = await readRecords(topic, count)
  return {
    partitions: offsets.length,
    endOffsets: offsets.map((p) => ({partition: p.partition, low: p.low, high: p.high})),
    records: records.map((r) => ({offset: r.offset, key: r.key === runId ? '<run>' : r.key, value: r.value})),
    committed: await cluster.committedOffsets(group, topic),
  }
}

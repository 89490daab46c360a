/**
 * Helpers for runs of the engine's test runbook (`kreorg test-runbook`, runbooks/test-markers.ts):
 * real Kafka side effects small enough to check exactly after a crash, used by the e2e crash tests,
 * the `runs`/`status` command tests and the shared-state integration tests.
 */
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import type {KafkaCluster} from '../../src/kafka/types.js'
import type {CliEvent} from './cli.js'

import {createKafkaClient} from '../../src/kafka/client.js'
import {testBrokers} from './kafka.js'

export const TEST_STEPS = ['create-topic', 'write-marker-a', 'commit-offset', 'write-marker-b'] as const

export function engineEnv(stateDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {KREORG_ENABLE_TEST_RUNBOOKS: '1', KAFKA_BROKERS: testBrokers(), KREORG_STATE_DIR: stateDir, ...extra}
}

export async function tempStateDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-state-'))
}

/** A test-runbook event: the engine's events always carry the run id and the step (null for run events). */
export type JsonEvent = CliEvent & {runId: string; step: string | null}

/** How long one test-runbook run may take before it is killed (it writes four small records). */
export const TEST_RUN_TIMEOUT_MS = 60_000

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
          async eachMessage({message}) {
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

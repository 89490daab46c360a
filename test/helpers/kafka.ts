import {randomBytes} from 'node:crypto'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'

/** Brokers of the real Kafka that test/global-setup.ts started (or KAFKA_BROKERS from outside). */
export function testBrokers(): string {
  const brokers = process.env.KAFKA_BROKERS
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: integration tests run under test/global-setup.ts')
  return brokers
}

/** A fresh name per test so tests share one broker without colliding. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`
}

export async function connectTestCluster(): Promise<KafkaCluster & KafkajsCluster> {
  const cluster = new KafkajsCluster({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})
  await cluster.connect()
  return cluster
}

import type {Kafka as KafkaClient, KafkaConfig, LogEntry, Mechanism, SASLOptions} from 'kafkajs'

/**
 * The only module that imports kafkajs. Everything else gets Kafka through `KafkaCluster`
 * (src/kafka/types.ts) or through the re-exported client types below (the producer agent wraps a
 * user's kafkajs producer, so it needs the client's own types).
 */
import kafkajs from 'kafkajs'

import type {ConnectionOptions} from './types.js'

import {kafkaSasl} from './auth/index.js'

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  EachMessagePayload,
  ICustomPartitioner,
  Kafka as KafkaClient,
  KafkaMessage,
  Message,
  PartitionerArgs,
  PartitionMetadata,
  Producer,
  ProducerBatch,
  ProducerConfig,
  ProducerRecord,
  RecordMetadata,
  Transaction,
} from 'kafkajs'

export const {Kafka, Partitioners, AssignerProtocol, logLevel, CompressionTypes} = kafkajs

/** kafkajs logs to the console by default; kreorg keeps its output its own and shows client logs only with DEBUG. */
function debugLogCreator() {
  const enabled = Boolean(process.env.DEBUG)
  return () => (entry: LogEntry) => {
    if (!enabled) return
    const {message, ...extra} = entry.log
    process.stderr.write(`[kafkajs ${entry.namespace}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

function saslConfig(options: ConnectionOptions): SASLOptions | Mechanism | undefined {
  if (!options.sasl) return undefined
  // The auth modules declare kafkajs's shapes structurally; this assignment is where they are checked.
  const sasl: SASLOptions | Mechanism = kafkaSasl(options.sasl)
  return sasl
}

export function kafkaConfig(options: ConnectionOptions): KafkaConfig {
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectTimeoutMs,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    ssl: options.tls,
    sasl: saslConfig(options),
    logCreator: debugLogCreator(),
    // A few quick retries; callers bound the total with their own deadlines.
    retry: {retries: 3, initialRetryTime: 200, maxRetryTime: 2000},
  }
}

export function createKafkaClient(options: ConnectionOptions): KafkaClient {
  return new Kafka(kafkaConfig(options))
}

/** The Java-compatible murmur2 partitioner, named so no caller falls back to kafkajs's legacy one. */
export const javaCompatiblePartitioner = Partitioners.DefaultPartitioner

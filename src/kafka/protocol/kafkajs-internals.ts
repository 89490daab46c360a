/**
 * Typed access to the kafkajs 2.2.4 internals the protocol extensions send through: the internal
 * `Cluster` (metadata, coordinators, broker objects with authenticated connection pools) and the
 * wire Encoder/Decoder. kafkajs 2.2.4 is its last release (February 2023), so these cannot move under
 * us; `createInternalCluster` fails loudly if they ever do (test/integration/kafka-protocol-ext.test.ts).
 * Together with ../client.ts, the only module that loads kafkajs code.
 */
import {createRequire} from 'node:module'

import type {KafkaClient} from '../client.js'

const require = createRequire(import.meta.url)

/** kafkajs's Long (int64) as the Decoder returns it: only its decimal string form is used. */
export interface Int64 {
  toString(): string
}

export interface KafkajsEncoder {
  /** What was written so far. */
  readonly buffer: Buffer
  writeInt8(value: number): KafkajsEncoder
  writeInt16(value: number): KafkajsEncoder
  writeInt32(value: number): KafkajsEncoder
  writeInt64(value: string): KafkajsEncoder
  writeBoolean(value: boolean): KafkajsEncoder
  writeString(value: string | null): KafkajsEncoder
  writeUVarInt(value: number): KafkajsEncoder
  writeUVarIntString(value: string | null): KafkajsEncoder
  writeEncoder(value: KafkajsEncoder): KafkajsEncoder
  /** A non-flexible ARRAY: int32 length, then each item (encoders are written as they are). */
  writeArray(items: ReadonlyArray<KafkajsEncoder | number>): KafkajsEncoder
}

export interface KafkajsDecoder {
  readonly buffer: Buffer
  offset: number
  readInt8(): number
  readInt16(): number
  readInt32(): number
  readInt64(): Int64
  readBoolean(): boolean
  readString(): string | null
  readUVarInt(): number
  readUVarIntString(): string | null
  readBytes(length?: number): Buffer
  readTaggedFields(): void
  canReadBytes(length: number): boolean
  forward(bytes: number): void
}

export const Encoder = require('kafkajs/src/protocol/encoder') as new () => KafkajsEncoder
export const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => KafkajsDecoder
/** The kafkajs protocol error (type, code, retriable) for a Kafka error code, as kafkajs's own requests throw. */
export const {createErrorFromCode} = require('kafkajs/src/protocol/error') as {
  createErrorFromCode(code: number): Error & {type: string; retriable: boolean}
}

/** What `connection.send` takes: a request to encode and a response to decode and parse. */
export interface ProtocolRequest<T> {
  request: {apiKey: number; apiVersion: number; apiName: string; encode(): Promise<KafkajsEncoder>}
  response: {decode(raw: Buffer): Promise<T>; parse(data: T): Promise<T>}
  requestTimeout?: number
}

export interface ListOffsetsPartitionResult {
  partition: number
  errorCode: number
  offset: string
}

export interface InternalBroker {
  nodeId?: number
  /** ApiVersions of this broker: api key → supported version range. */
  versions: Record<number, {minVersion: number; maxVersion: number} | undefined> | null
  connectionPool: {send<T>(request: ProtocolRequest<T>): Promise<T>}
  listOffsets(request: {
    replicaId?: number
    isolationLevel: number
    topics: Array<{topic: string; partitions: Array<{partition: number; timestamp: number}>}>
  }): Promise<{responses: Array<{topic: string; partitions: ListOffsetsPartitionResult[]}>}>
  initProducerId(request: {
    transactionalId: string
    transactionTimeout: number
  }): Promise<{producerId: Int64 | string | number; producerEpoch: number}>
  addPartitionsToTxn(request: {
    transactionalId: string
    producerId: Int64 | string | number
    producerEpoch: number
    topics: Array<{topic: string; partitions: number[]}>
  }): Promise<unknown>
  endTxn(request: {
    transactionalId: string
    producerId: Int64 | string | number
    producerEpoch: number
    transactionResult: boolean
  }): Promise<unknown>
}

export interface InternalMetadata {
  brokers: Array<{nodeId: number; host: string; port: number}>
  topicMetadata: Array<{topic: string; partitionMetadata: Array<{partitionId: number; leader: number}>}>
}

export interface InternalCluster {
  connect(): Promise<void>
  disconnect(): Promise<void>
  isConnected(): boolean
  findBroker(request: {nodeId: number | string}): Promise<InternalBroker>
  findGroupCoordinator(request: {groupId: string; coordinatorType?: number}): Promise<InternalBroker>
  brokerPool: {
    /** The last Metadata response: every broker, and the topics it was asked for. */
    metadata: InternalMetadata | null
    /** One Metadata request for exactly these topics (all topics when empty); also refreshes the broker list. */
    refreshMetadata(topics: string[]): Promise<void>
  }
}

/** FindCoordinator key types. */
export const COORDINATOR_TYPE = {GROUP: 0, TRANSACTION: 1} as const

/** ListOffsets/Fetch isolation levels. */
export const ISOLATION_LEVEL = {READ_UNCOMMITTED: 0, READ_COMMITTED: 1} as const

const CREATE_CLUSTER = 'private:Kafka:createCluster'
const CLUSTER_METHODS = ['connect', 'disconnect', 'isConnected', 'findBroker', 'findGroupCoordinator'] as const

/**
 * A fresh internal Cluster of `kafka` (its own connection pool, the client's SASL/TLS settings). It
 * never auto-creates topics. Throws when kafkajs no longer has the internals this module relies on.
 */
export function createInternalCluster(kafka: KafkaClient): InternalCluster {
  const holder = kafka as unknown as Record<symbol, unknown>
  const symbol = Object.getOwnPropertySymbols(holder).find((s) => s.description === CREATE_CLUSTER)
  const create = symbol ? holder[symbol] : undefined
  if (typeof create !== 'function') throw new Error(`kafkajs internals changed: ${CREATE_CLUSTER} not found (kreorg needs kafkajs 2.2.x)`)
  const cluster = (create as (options: object) => unknown).call(kafka, {allowAutoTopicCreation: false}) as Record<string, unknown>
  const missing: string[] = CLUSTER_METHODS.filter((method) => typeof cluster[method] !== 'function')
  if (typeof (cluster.brokerPool as {refreshMetadata?: unknown} | undefined)?.refreshMetadata !== 'function')
    missing.push('brokerPool.refreshMetadata')
  if (missing.length > 0) throw new Error(`kafkajs internals changed: Cluster lacks ${missing.join(', ')} (kreorg needs kafkajs 2.2.x)`)
  return cluster as unknown as InternalCluster
}

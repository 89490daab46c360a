/**
 * The writer inventory's reads (KIP-664) and high watermarks, shaped for `KafkaCluster`: who holds a
 * producer id on which partition, which transactions are open, and the end offset that includes them.
 */
import type {ProtocolAdmin} from './protocol/admin.js'
import type {PartitionOffsets} from './types.js'
import type {ListedTransaction, PartitionProducers, TransactionDescription, TransactionFilter} from './writer-types.js'

import {ISOLATION_LEVEL} from './protocol/kafkajs-internals.js'

/** ListOffsets with isolation level read_uncommitted: the high watermark, open transactions included. */
export async function highWatermarksWith(ext: ProtocolAdmin, topic: string): Promise<PartitionOffsets[]> {
  const high = await ext.listOffsets(topic, -1, ISOLATION_LEVEL.READ_UNCOMMITTED)
  const low = await ext.listOffsets(topic, -2, ISOLATION_LEVEL.READ_UNCOMMITTED, [...high.keys()])
  return [...high]
    .map(([partition, offset]) => ({partition, low: low.get(partition) ?? 0, high: offset}))
    .sort((a, b) => a.partition - b.partition)
}

export async function describeProducersWith(ext: ProtocolAdmin, topic: string, partitions?: number[]): Promise<PartitionProducers[]> {
  const described = await ext.describeProducers(topic, partitions)
  return described.map((p) => ({
    partition: p.partitionIndex,
    producers: p.activeProducers
      .map((s) => ({
        producerId: s.producerId,
        producerEpoch: s.producerEpoch,
        lastSequence: s.lastSequence,
        lastTimestamp: s.lastTimestamp,
        coordinatorEpoch: s.coordinatorEpoch,
        currentTxnStartOffset: s.currentTxnStartOffset,
      }))
      .sort((a, b) => a.producerId - b.producerId),
  }))
}

export async function listTransactionsWith(ext: ProtocolAdmin, filter: TransactionFilter = {}): Promise<ListedTransaction[]> {
  const listed = await ext.listTransactions({states: filter.states ?? [], producerIds: filter.producerIds ?? []})
  return listed
    .map((t) => ({transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: t.coordinator}))
    .sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : a.transactionalId > b.transactionalId ? 1 : 0))
}

export async function describeTransactionsWith(ext: ProtocolAdmin, transactionalIds: string[]): Promise<TransactionDescription[]> {
  if (transactionalIds.length === 0) return []
  const described = await ext.describeTransactions([...new Set(transactionalIds)])
  return described.map((t) => ({
    transactionalId: t.transactionalId,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    state: t.transactionState,
    timeoutMs: t.transactionTimeoutMs,
    startTimeMs: t.transactionStartTimeMs,
    topics: Object.fromEntries(t.topics.map((tp) => [tp.topic, [...tp.partitions].sort((a, b) => a - b)])),
  }))
}

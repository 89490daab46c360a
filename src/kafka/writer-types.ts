/**
 * Shapes of the writer inventory (who writes to a topic) and of kreorg's abort markers: part of the
 * `KafkaCluster` interface (re-exported by ./types.ts). Producer ids, epochs, offsets and timestamps
 * are JS numbers (exact far beyond any real value).
 */

/** A producer id that wrote to a partition, as the partition leader remembers it (DescribeProducers, KIP-664). */
export interface ActiveProducer {
  producerId: number
  producerEpoch: number
  /** Sequence of its last batch; -1 for a producer that only wrote transaction markers (kreorg's abort markers). */
  lastSequence: number
  /** Timestamp (ms) of its last write; -1 when unknown. Leaders keep ids for `producer.id.expiration.ms` (1 day): judge liveness by this. */
  lastTimestamp: number
  /** -1 for a producer whose writes no transaction coordinator marked. */
  coordinatorEpoch: number
  /** Offset of the first record of its transaction open on this partition; -1 when none is open. */
  currentTxnStartOffset: number
}

export interface PartitionProducers {
  partition: number
  /** Idempotent and transactional producers only: a non-idempotent producer has no id and never shows here. */
  producers: ActiveProducer[]
}

/** Transaction states as the transaction coordinator names them. */
export type TransactionState =
  'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'PrepareEpochFence' | 'Dead'

export interface TransactionFilter {
  /** Only transactions in these states (e.g. ['Ongoing']); all when empty or absent. */
  states?: TransactionState[]
  /** Only these producer ids; all when empty or absent. */
  producerIds?: number[]
}

export interface ListedTransaction {
  transactionalId: string
  producerId: number
  /** A TransactionState; other names a newer broker may add are passed through. */
  state: string
  /** Node id of the broker coordinating it. */
  coordinator: number
}

export interface TransactionDescription {
  transactionalId: string
  producerId: number
  producerEpoch: number
  state: string
  timeoutMs: number
  /** When its current (or, once ended, its last) transaction started (ms); -1 when it never began one. */
  startTimeMs: number
  /** Partitions in the open transaction, per topic; empty when none is open. */
  topics: Record<string, number[]>
}

export interface AbortMarker {
  partition: number
  /** Offset of the ABORT control record, read back from the log. */
  offset: number
  /** High watermark right before the transaction: offset - endOffsetBefore = records others wrote meanwhile. */
  endOffsetBefore: number
  /** High watermark once the marker was found below it. */
  endOffsetAfter: number
}

export interface AbortMarkerResult {
  transactionalId: string
  /** The producer id the markers carry: kreorg's own, to leave out of the writer inventory. */
  producerId: number
  producerEpoch: number
  markers: AbortMarker[]
}

/** One producer id's batches in a scanned range. */
export interface BatchProducer {
  /** -1: batches of non-idempotent producers (no id; they cannot be told apart). */
  producerId: number
  /** Data batches and their records. */
  batches: number
  records: number
  /** Transaction markers (commit/abort control batches) this producer id wrote. */
  controlBatches: number
  /** Some of its batches were transactional. */
  transactional: boolean
  firstOffset: number
  lastOffset: number
  /** Newest batch timestamp (ms): CreateTime as the producer set it, or LogAppendTime. */
  lastTimestamp: number
}

export interface PartitionBatchScan {
  partition: number
  /** First offset scanned: the first record at or after the window's start (= endOffset when the window is empty). */
  fromOffset: number
  /** High watermark when the scan started: the scan stops there. */
  endOffset: number
  /** The scan covered [fromOffset, scannedToOffset); below endOffset only when truncated. */
  scannedToOffset: number
  /** The byte budget ran out (or the log could not be read to the end): later batches were not seen. */
  truncated: boolean
  bytes: number
  /** Sorted by producer id. */
  producers: BatchProducer[]
}

export interface BatchProducerScan {
  topic: string
  /** The window: batches written since `since` (ms since the epoch), by record timestamp. */
  since: number
  /** Some partition was truncated. */
  truncated: boolean
  bytes: number
  partitions: PartitionBatchScan[]
}

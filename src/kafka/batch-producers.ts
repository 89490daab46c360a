/**
 * Who wrote which record batches, read from the log itself: the only way to see non-idempotent
 * writers (producer id -1), which DescribeProducers never lists, and to learn an agent's producer id
 * from the batch of one of its writes.
 */
import type {ProtocolAdmin} from './protocol/admin.js'
import type {BatchHeader, FetchedPartition} from './protocol/fetch-batches.js'
import type {BatchProducer, BatchProducerScan, PartitionBatchScan} from './writer-types.js'

import {createErrorFromCode, ISOLATION_LEVEL} from './protocol/kafkajs-internals.js'

const OFFSET_OUT_OF_RANGE = 1
/** Bytes asked per partition per fetch: the broker still returns a whole first batch when it is larger. */
const FETCH_CHUNK_BYTES = 1024 * 1024
const LOOKUP_BYTES = 64 * 1024

/** The partition's error as kafkajs would throw it: a leader moving stays retriable for the caller's retry. */
function fetchError(topic: string, fetched: FetchedPartition): Error {
  return Object.assign(createErrorFromCode(fetched.errorCode), {topic, partition: fetched.partition})
}

export async function producerIdOfBatchAt(ext: ProtocolAdmin, topic: string, partition: number, offset: number): Promise<number | null> {
  const [fetched] = await ext.fetchBatches(topic, [{partition, fetchOffset: offset, maxBytes: LOOKUP_BYTES}])
  if (!fetched || fetched.errorCode === OFFSET_OUT_OF_RANGE) return null
  if (fetched.errorCode !== 0) throw fetchError(topic, fetched)
  const batch = fetched.batches.find((b) => b.baseOffset <= offset && offset <= b.lastOffset)
  return batch ? batch.producerId : null
}

interface PartitionProgress {
  scan: PartitionBatchScan
  next: number
  budget: number
  byProducer: Map<number, BatchProducer>
  done: boolean
}

function account(progress: PartitionProgress, batch: BatchHeader): void {
  const {byProducer, scan} = progress
  let producer = byProducer.get(batch.producerId)
  if (!producer) {
    producer = {
      producerId: batch.producerId,
      batches: 0,
      records: 0,
      controlBatches: 0,
      transactional: false,
      firstOffset: batch.baseOffset,
      lastOffset: batch.lastOffset,
      lastTimestamp: -1,
    }
    byProducer.set(batch.producerId, producer)
  }
  if (batch.control) producer.controlBatches++
  else {
    producer.batches++
    producer.records += batch.records
  }
  producer.transactional ||= batch.transactional
  producer.firstOffset = Math.min(producer.firstOffset, batch.baseOffset)
  producer.lastOffset = Math.max(producer.lastOffset, batch.lastOffset)
  producer.lastTimestamp = Math.max(producer.lastTimestamp, batch.maxTimestamp)
  scan.bytes += batch.sizeInBytes
}

/** Applies one fetch answer to a partition's scan; marks it done at the end, when out of budget, or when it stops advancing. */
function advance(progress: PartitionProgress, fetched: FetchedPartition): void {
  const {scan} = progress
  const before = progress.next
  for (const batch of fetched.batches) {
    if (batch.baseOffset >= scan.endOffset) break
    if (batch.lastOffset < progress.next) continue
    account(progress, batch)
    progress.budget -= batch.sizeInBytes
    progress.next = batch.lastOffset + 1
    if (progress.budget <= 0) break
  }
  scan.scannedToOffset = Math.min(progress.next, scan.endOffset)
  const reachedEnd = progress.next >= scan.endOffset
  if (reachedEnd || progress.budget <= 0 || progress.next === before) {
    progress.done = true
    scan.truncated = !reachedEnd
  }
}

export async function scanRecentBatchProducers(
  ext: ProtocolAdmin,
  topic: string,
  sinceMs: number,
  maxBytes: number,
): Promise<BatchProducerScan> {
  const since = Date.now() - sinceMs
  // The end first: batches written while the scan runs are not part of it.
  const ends = await ext.listOffsets(topic, -1, ISOLATION_LEVEL.READ_UNCOMMITTED)
  const starts = await ext.listOffsets(topic, since, ISOLATION_LEVEL.READ_UNCOMMITTED, [...ends.keys()])
  const partitions = [...ends.keys()].sort((a, b) => a - b)
  const perPartition = Math.max(1, Math.floor(maxBytes / Math.max(1, partitions.length)))
  const progress: PartitionProgress[] = partitions.map((partition) => {
    const endOffset = ends.get(partition)!
    const start = starts.get(partition) ?? -1
    // No record at or after `since` (ListOffsets answers -1): nothing to scan.
    const fromOffset = start < 0 ? endOffset : Math.min(start, endOffset)
    return {
      scan: {partition, fromOffset, endOffset, scannedToOffset: fromOffset, truncated: false, bytes: 0, producers: []},
      next: fromOffset,
      budget: perPartition,
      byProducer: new Map(),
      done: fromOffset >= endOffset,
    }
  })
  for (let open = progress.filter((p) => !p.done); open.length > 0; open = progress.filter((p) => !p.done)) {
    const fetched = await ext.fetchBatches(
      topic,
      open.map((p) => ({partition: p.scan.partition, fetchOffset: p.next, maxBytes: Math.min(FETCH_CHUNK_BYTES, Math.max(p.budget, 1))})),
    )
    for (const answer of fetched) {
      const p = open.find((candidate) => candidate.scan.partition === answer.partition)
      if (!p) continue
      if (answer.errorCode === OFFSET_OUT_OF_RANGE) {
        // Retention deleted the start of the window meanwhile: go on from the new log start.
        const logStart =
          (await ext.listOffsets(topic, -2, ISOLATION_LEVEL.READ_UNCOMMITTED, [p.scan.partition])).get(p.scan.partition) ?? p.next
        if (logStart <= p.next) throw fetchError(topic, answer)
        p.next = logStart
        continue
      }
      if (answer.errorCode !== 0) throw fetchError(topic, answer)
      advance(p, answer)
    }
  }
  const scans = progress.map((p) => ({...p.scan, producers: [...p.byProducer.values()].sort((a, b) => a.producerId - b.producerId)}))
  return {
    topic,
    since,
    truncated: scans.some((s) => s.truncated),
    bytes: scans.reduce((sum, s) => sum + s.bytes, 0),
    partitions: scans,
  }
}

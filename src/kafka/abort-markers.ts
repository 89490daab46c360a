/**
 * A marker-only aborted transaction: InitProducerId(transactionalId) → AddPartitionsToTxn → EndTxn(abort),
 * with no Produce in between. The transaction coordinator then has each partition leader append one
 * ABORT control record: the end offset moves by 1, every consumer skips the record but moves its
 * position past it (and Java consumers commit that position). Proven on Kafka 4.3.1: /work/spikes/REPORT.md Q3.
 *
 * kafkajs sends InitProducerId/AddPartitionsToTxn/EndTxn v1, so the broker takes the transaction.version 1
 * path: the markers carry the epoch InitProducerId returned.
 */
import {setTimeout as sleep} from 'node:timers/promises'

import type {ProtocolAdmin} from './protocol/admin.js'
import type {AbortMarker, AbortMarkerResult} from './writer-types.js'

import {KreorgError} from '../core/errors.js'
import {retry} from '../core/retry.js'
import {isTransientKafkaError} from './errors.js'
import {ISOLATION_LEVEL} from './protocol/kafkajs-internals.js'

const TRANSACTION_TIMEOUT_MS = 60_000
/** EndTxn returns before the markers are written (0.2–0.8 s on a loaded test machine). */
const MARKER_WAIT_MS = 30_000
const MARKER_POLL_MS = 100
const SCAN_BYTES = 256 * 1024

/**
 * Runs the transaction. A failed attempt is redone from InitProducerId, which fences and aborts a
 * half-done attempt of the same transactional id (that abort may add a marker of its own, with the
 * same producer id). CONCURRENT_TRANSACTIONS (the previous markers still in flight) is retriable too.
 */
async function abortEmptyTransaction(ext: ProtocolAdmin, topic: string, partitions: number[], transactionalId: string) {
  return retry(
    async () => {
      const coordinator = await ext.transactionCoordinator(transactionalId)
      const {producerId, producerEpoch} = await coordinator.initProducerId({transactionalId, transactionTimeout: TRANSACTION_TIMEOUT_MS})
      await coordinator.addPartitionsToTxn({transactionalId, producerId, producerEpoch, topics: [{topic, partitions}]})
      await coordinator.endTxn({transactionalId, producerId, producerEpoch, transactionResult: false})
      return {producerId: Number(producerId.toString()), producerEpoch}
    },
    // Up to 30 s: the first transaction on a cluster creates __transaction_state, whose coordinators load meanwhile.
    {attempts: 60, delayMs: 500, retryIf: isTransientKafkaError},
  )
}

/** The offset of this producer's ABORT marker at or after `from` and below the high watermark, if it is there yet. */
async function findMarker(
  ext: ProtocolAdmin,
  topic: string,
  partition: number,
  marker: {from: number; producerId: number; producerEpoch: number},
) {
  const {from, producerId, producerEpoch} = marker
  let next = from
  for (;;) {
    const [fetched] = await ext.fetchBatches(topic, [{partition, fetchOffset: next, maxBytes: SCAN_BYTES}])
    if (!fetched || fetched.errorCode !== 0 || fetched.batches.length === 0) return
    const found = fetched.batches.find(
      (b) => b.control && b.producerId === producerId && b.producerEpoch === producerEpoch && b.baseOffset >= from,
    )
    if (found) return {offset: found.baseOffset, highWatermark: fetched.highWatermark}
    const last = fetched.batches.at(-1)!.lastOffset + 1
    if (last >= fetched.highWatermark || last <= next) return
    next = last
  }
}

export async function writeAbortMarkers(
  ext: ProtocolAdmin,
  topic: string,
  partitions: number[],
  transactionalId: string,
): Promise<AbortMarkerResult> {
  const wanted = [...new Set(partitions)].sort((a, b) => a - b)
  if (wanted.length === 0) throw new KreorgError('usage', 'writeAbortMarkers needs at least one partition')
  const before = await retry(() => ext.listOffsets(topic, -1, ISOLATION_LEVEL.READ_UNCOMMITTED, wanted), {
    attempts: 10,
    delayMs: 200,
    retryIf: isTransientKafkaError,
  })
  const {producerId, producerEpoch} = await abortEmptyTransaction(ext, topic, wanted, transactionalId)

  const found = new Map<number, AbortMarker>()
  const deadline = Date.now() + MARKER_WAIT_MS
  while (found.size < wanted.length) {
    for (const partition of wanted.filter((p) => !found.has(p))) {
      const endOffsetBefore = before.get(partition) ?? 0
      const marker = await findMarker(ext, topic, partition, {from: endOffsetBefore, producerId, producerEpoch}).catch((error: unknown) => {
        if (isTransientKafkaError(error)) return
        throw error
      })
      if (marker) found.set(partition, {partition, offset: marker.offset, endOffsetBefore, endOffsetAfter: marker.highWatermark})
    }
    if (found.size === wanted.length) break
    if (Date.now() >= deadline) {
      const missing = wanted.filter((p) => !found.has(p))
      throw new KreorgError(
        'timeout',
        `abort markers of ${transactionalId} (producer id ${producerId}) did not appear on ${topic} partitions ${missing.join(', ')} within ${MARKER_WAIT_MS / 1000}s`,
      )
    }
    await sleep(MARKER_POLL_MS)
  }
  return {transactionalId, producerId, producerEpoch, markers: wanted.map((p) => found.get(p)!)}
}

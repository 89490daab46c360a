/**
 * A Fetch (v11) that returns record batch headers instead of records: who wrote each batch (producer
 * id and epoch, transactional, control) without decompressing anything. kafkajs's own fetch flattens
 * batches into records, so the batch boundaries a writer inventory needs are lost there.
 */
import {Decoder, Encoder, ISOLATION_LEVEL, type KafkajsDecoder, type ProtocolRequest} from './kafkajs-internals.js'

export const API_FETCH = 1
const FETCH_VERSION = 11

/** The header of one record batch (message format v2), or of one legacy (v0/v1) message. */
export interface BatchHeader {
  baseOffset: number
  lastOffset: number
  /** The batch's max timestamp (CreateTime: the newest record's; LogAppendTime: the append time). -1 for legacy v0 messages. */
  maxTimestamp: number
  /** -1 for a non-idempotent producer (and for every legacy message). */
  producerId: number
  producerEpoch: number
  transactional: boolean
  /** A transaction marker (commit/abort), not data. */
  control: boolean
  records: number
  /** Bytes of the batch on the wire. */
  sizeInBytes: number
}

export interface FetchedPartition {
  partition: number
  errorCode: number
  highWatermark: number
  logStartOffset: number
  /** Complete batches only: a batch cut off by the byte limit is left out. */
  batches: BatchHeader[]
  /** Bytes of record data the broker returned for this partition. */
  bytes: number
}

const V2_HEADER_SIZE = 61
const LOG_OVERHEAD = 12 // offset int64 + length int32
const ATTR_TRANSACTIONAL = 0x10
const ATTR_CONTROL = 0x20

/** Parses the batch headers of a RECORDS field; stops at a partial batch at the end. */
export function parseBatchHeaders(records: Buffer): BatchHeader[] {
  const batches: BatchHeader[] = []
  let position = 0
  while (position + LOG_OVERHEAD <= records.length) {
    const baseOffset = Number(records.readBigInt64BE(position))
    const length = records.readInt32BE(position + 8)
    const end = position + LOG_OVERHEAD + length
    if (length <= 0 || end > records.length) break
    const magic = records.readInt8(position + 16)
    if (magic >= 2 && length + LOG_OVERHEAD >= V2_HEADER_SIZE) {
      const attributes = records.readInt16BE(position + 21)
      batches.push({
        baseOffset,
        lastOffset: baseOffset + records.readInt32BE(position + 23),
        maxTimestamp: Number(records.readBigInt64BE(position + 35)),
        producerId: Number(records.readBigInt64BE(position + 43)),
        producerEpoch: records.readInt16BE(position + 51),
        transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
        control: (attributes & ATTR_CONTROL) !== 0,
        records: records.readInt32BE(position + 57),
        sizeInBytes: end - position,
      })
    } else {
      // Message format v0/v1 (only in logs written before Kafka 0.11 clients or brokers): no producer ids.
      // The offset of a compressed v1 wrapper is its last inner offset.
      batches.push({
        baseOffset,
        lastOffset: baseOffset,
        maxTimestamp: magic === 1 ? Number(records.readBigInt64BE(position + 18)) : -1,
        producerId: -1,
        producerEpoch: -1,
        transactional: false,
        control: false,
        records: 1,
        sizeInBytes: end - position,
      })
    }
    position = end
  }
  return batches
}

function readInt64(decoder: KafkajsDecoder): number {
  return Number(decoder.readInt64().toString())
}

function decodeFetchResponse(raw: Buffer): {errorCode: number; partitions: FetchedPartition[]} {
  const decoder = new Decoder(raw)
  decoder.readInt32() // throttle time
  const errorCode = decoder.readInt16()
  decoder.readInt32() // session id
  const partitions: FetchedPartition[] = []
  const topics = decoder.readInt32()
  for (let t = 0; t < topics; t++) {
    decoder.readString()
    const count = decoder.readInt32()
    for (let p = 0; p < count; p++) {
      const partition = decoder.readInt32()
      const partitionError = decoder.readInt16()
      const highWatermark = readInt64(decoder)
      readInt64(decoder) // last stable offset
      const logStartOffset = readInt64(decoder)
      const aborted = decoder.readInt32()
      for (let a = 0; a < aborted; a++) decoder.forward(16) // producer id + first offset
      decoder.readInt32() // preferred read replica
      const size = decoder.readInt32()
      const records = size > 0 ? decoder.readBytes(size) : Buffer.alloc(0)
      partitions.push({
        partition,
        errorCode: partitionError,
        highWatermark,
        logStartOffset,
        batches: parseBatchHeaders(records),
        bytes: Math.max(0, size),
      })
    }
  }
  return {errorCode, partitions}
}

/**
 * Fetch (key 1, v11), read_uncommitted so every batch up to the high watermark shows, including open
 * and aborted transactions. Never waits for new data. Send to the partitions' leader.
 */
export function fetchBatchHeaders(
  topic: string,
  partitions: Array<{partition: number; fetchOffset: number; maxBytes: number}>,
): ProtocolRequest<{errorCode: number; partitions: FetchedPartition[]}> {
  const maxBytes = partitions.reduce((sum, p) => sum + p.maxBytes, 0)
  return {
    request: {
      apiKey: API_FETCH,
      apiVersion: FETCH_VERSION,
      apiName: 'Fetch',
      async encode() {
        const partitionEncoders = partitions.map((p) =>
          new Encoder()
            .writeInt32(p.partition)
            .writeInt32(-1 /* current leader epoch: unchecked */)
            .writeInt64(String(p.fetchOffset))
            .writeInt64('-1')
            .writeInt32(p.maxBytes),
        )
        return new Encoder()
          .writeInt32(-1) // replica id: a consumer
          .writeInt32(0) // max wait: answer with what is there
          .writeInt32(0) // min bytes
          .writeInt32(maxBytes)
          .writeInt8(ISOLATION_LEVEL.READ_UNCOMMITTED)
          .writeInt32(0) // session id: no fetch session
          .writeInt32(-1) // session epoch: full fetch, no session
          .writeArray([new Encoder().writeString(topic).writeArray(partitionEncoders)])
          .writeArray([]) // forgotten topics
          .writeString('') // rack id
      },
    },
    response: {decode: async (raw) => decodeFetchResponse(raw), parse: async (data) => data},
  }
}

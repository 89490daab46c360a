/**
 * Writer-inventory APIs kafkajs 2.2.4 lacks (KIP-664): DescribeProducers, ListTransactions,
 * DescribeTransactions. Schemas from common/message/*.json inside kafka-clients-4.3.1.jar; all flexible.
 */
import {flexibleRequest} from './wire.js'

export const API_DESCRIBE_PRODUCERS = 61
export const API_DESCRIBE_TRANSACTIONS = 65
export const API_LIST_TRANSACTIONS = 66

export interface WireProducerState {
  producerId: number
  producerEpoch: number
  lastSequence: number
  lastTimestamp: number
  coordinatorEpoch: number
  currentTxnStartOffset: number
}

export interface WireProducersPartition {
  partitionIndex: number
  errorCode: number
  errorMessage: string | null
  activeProducers: WireProducerState[]
}

/** DescribeProducers (key 61, v0): send to each partition's leader. */
export function describeProducers(topic: string, partitions: number[]) {
  return flexibleRequest({
    apiKey: API_DESCRIBE_PRODUCERS,
    apiVersion: 0,
    apiName: 'DescribeProducers',
    body: (w) =>
      w
        .array([topic], (t, name) =>
          t
            .string(name)
            .array(partitions, (p, partition) => p.int32(partition))
            .tags(),
        )
        .tags(),
    decode(r) {
      r.int32() // throttle time
      const topics = r.array((t) => {
        t.string() // topic name
        const result = t.array((p): WireProducersPartition => {
          const partition: WireProducersPartition = {
            partitionIndex: p.int32(),
            errorCode: p.int16(),
            errorMessage: p.nullableString(),
            activeProducers: p.array((s): WireProducerState => {
              const state = {
                producerId: s.int64(),
                producerEpoch: s.int32(),
                lastSequence: s.int32(),
                lastTimestamp: s.int64(),
                coordinatorEpoch: s.int32(),
                currentTxnStartOffset: s.int64(),
              }
              s.tags()
              return state
            }),
          }
          p.tags()
          return partition
        })
        t.tags()
        return result
      })
      r.tags()
      return topics.flat()
    },
  })
}

export interface WireListedTransaction {
  transactionalId: string
  producerId: number
  transactionState: string
}

/**
 * ListTransactions (key 66, v0/v1): send to every broker; each lists the transactions it coordinates.
 * `durationFilterMs` (v1+) keeps transactions running longer than that; -1 keeps all.
 */
export function listTransactions(filter: {states: string[]; producerIds: number[]; durationFilterMs: number}, version: number) {
  return flexibleRequest({
    apiKey: API_LIST_TRANSACTIONS,
    apiVersion: version,
    apiName: 'ListTransactions',
    body(w) {
      w.array(filter.states, (a, state) => a.string(state)).array(filter.producerIds, (a, id) => a.int64(id))
      if (version >= 1) w.int64(filter.durationFilterMs)
      w.tags()
    },
    decode(r) {
      r.int32() // throttle time
      const errorCode = r.int16()
      const unknownStateFilters = r.array((s) => s.string())
      const transactions = r.array((t): WireListedTransaction => {
        const transaction = {transactionalId: t.string(), producerId: t.int64(), transactionState: t.string()}
        t.tags()
        return transaction
      })
      r.tags()
      return {errorCode, unknownStateFilters, transactions}
    },
  })
}

export interface WireTransactionDescription {
  errorCode: number
  transactionalId: string
  transactionState: string
  transactionTimeoutMs: number
  transactionStartTimeMs: number
  producerId: number
  producerEpoch: number
  topics: Array<{topic: string; partitions: number[]}>
}

/** DescribeTransactions (key 65, v0): send to the transactional ids' transaction coordinator. */
export function describeTransactions(transactionalIds: string[]) {
  return flexibleRequest({
    apiKey: API_DESCRIBE_TRANSACTIONS,
    apiVersion: 0,
    apiName: 'DescribeTransactions',
    body: (w) => w.array(transactionalIds, (a, id) => a.string(id)).tags(),
    decode(r) {
      r.int32() // throttle time
      const states = r.array((t): WireTransactionDescription => {
        const description: WireTransactionDescription = {
          errorCode: t.int16(),
          transactionalId: t.string(),
          transactionState: t.string(),
          transactionTimeoutMs: t.int32(),
          transactionStartTimeMs: t.int64(),
          producerId: t.int64(),
          producerEpoch: t.int16(),
          topics: t.array((tp) => {
            const topic = {topic: tp.string(), partitions: tp.array((p) => p.int32())}
            tp.tags()
            return topic
          }),
        }
        t.tags()
        return description
      })
      r.tags()
      return states
    },
  })
}

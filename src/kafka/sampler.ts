/**
 * Reads a bounded sample of records from a topic, for the audit, grow's key-movement estimate and
 * grow's post-check. Memory is bounded (keys and sizes are kept, values are not) and so is time:
 * the sampler reads up to the end offsets it saw when it started and never waits for new records.
 *
 * kafkajs has no manual partition assignment, so the sampler joins a consumer group of its own
 * (`kreorg-internal-sample-<random>`, ignored by lag and drain), seeks every partition to its start
 * offset before the first fetch, and never commits: the group holds no offsets, so Kafka removes it
 * as soon as the sampler leaves. Joining costs the broker's `group.initial.rebalance.delay.ms`
 * (3 s by default) once per call.
 */
import {randomBytes} from 'node:crypto'

import type {Consumer, EachBatchPayload, KafkaClient, KafkaMessage} from './client.js'
import type {KafkaCluster, PartitionOffsets} from './types.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {KafkajsCluster} from './kafkajs-cluster.js'
import {INTERNAL_GROUP_PREFIX} from './lag.js'

export {keyId, keyMovement, partitionerMatch} from './key-analysis.js'
export type {DetectedPartitioner, KeyedRecord, KeyMovement, PartitionerMatch, SourcePartitionMovement} from './key-analysis.js'

export interface SampledRecord {
  partition: number
  offset: number
  key: Buffer | null
  /** Size of the value in bytes (0 for a null value / tombstone). */
  valueBytes: number
  timestamp: number
  /** From the record batch header; -1 = not written by an idempotent (or transactional) producer. */
  producerId: number
  /** The record batch is transactional. */
  inTransaction: boolean
  headers?: Record<string, string>
}

export interface SampleOptions {
  /** At most this many records per partition. */
  perPartition: number
  /**
   * `'latest'` (default): the last `perPartition` offsets of each partition. A Map: read forward from
   * these offsets (partition → offset, e.g. end offsets at resume time); partitions missing from the
   * Map (created after it was taken) are read from their log start.
   */
  from?: 'latest' | Map<number, number>
  /** Only these partitions (default: all). */
  partitions?: number[]
  signal?: AbortSignal
  /** Whole-call bound, group join included (default 60 s). */
  timeoutMs?: number
  /** Offsets read so far of the total to read, after each fetched batch. */
  onProgress?: (done: number, total: number) => void
}

export interface PartitionSample {
  partition: number
  low: number
  high: number
  /** First offset to read. */
  start: number
  /** Reading stops before this offset (the end offset seen at the start). */
  stop: number
  /** Next offset the sampler had not yet read when it stopped. */
  reached: number
  records: number
  complete: boolean
}

export interface SampleResult {
  topic: string
  records: SampledRecord[]
  partitions: PartitionSample[]
  /** Every partition was read up to its stop offset or its record quota. */
  complete: boolean
  /** The internal group used (never commits; exposed so tests can prove it left nothing behind). */
  groupId: string
  elapsedMs: number
}

/** What kafkajs attaches to every record it decodes from a v2 record batch (not in its typings). */
interface BatchContext {
  producerId?: string | number
  inTransaction?: boolean
}

function batchContextOf(message: KafkaMessage): BatchContext | undefined {
  const context = (message as {batchContext?: unknown}).batchContext
  return typeof context === 'object' && context !== null ? (context as BatchContext) : undefined
}

function headersOf(message: KafkaMessage): Record<string, string> | undefined {
  if (!message.headers) return undefined
  const entries = Object.entries(message.headers)
  if (entries.length === 0) return undefined
  const headers: Record<string, string> = {}
  for (const [name, value] of entries) {
    const first = Array.isArray(value) ? value[0] : value
    if (first !== undefined) headers[name] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first)
  }
  return headers
}

export function toSampledRecord(partition: number, message: KafkaMessage): SampledRecord {
  const context = batchContextOf(message)
  // Pre-v2 message sets (magic 0/1) carry no producer id: such records cannot be idempotent.
  const producerId = context?.producerId === undefined ? -1 : Number(context.producerId)
  const headers = headersOf(message)
  return {
    partition,
    offset: Number(message.offset),
    key: message.key ?? null,
    valueBytes: message.value?.length ?? 0,
    timestamp: Number(message.timestamp),
    producerId,
    inTransaction: context?.inTransaction === true,
    ...(headers ? {headers} : {}),
  }
}

/** The kafkajs client behind a cluster: only the kafkajs adapter can read records. */
function clientOf(cluster: KafkaCluster): KafkaClient {
  if (cluster instanceof KafkajsCluster) return cluster.kafkaClient
  throw new KreorgError('unexpected', 'sampling records needs the kafkajs-backed cluster (KafkajsCluster)')
}

/** Start and stop offsets per partition, from end offsets read once at the start. */
export function planSample(
  offsets: readonly PartitionOffsets[],
  options: Pick<SampleOptions, 'perPartition' | 'from' | 'partitions'>,
): PartitionSample[] {
  if (!Number.isInteger(options.perPartition) || options.perPartition < 1) {
    throw new KreorgError('usage', `sample size must be a positive integer (got ${options.perPartition})`)
  }
  const only = options.partitions ? new Set(options.partitions) : undefined
  const from = options.from ?? 'latest'
  return offsets
    .filter((o) => !only || only.has(o.partition))
    .map((o): PartitionSample => {
      const requested = from === 'latest' ? o.high - options.perPartition : (from.get(o.partition) ?? o.low)
      const start = Math.min(o.high, Math.max(o.low, requested))
      return {partition: o.partition, low: o.low, high: o.high, start, stop: o.high, reached: start, records: 0, complete: start >= o.high}
    })
}

/** Reads the sample and reports how far each partition got; with `allowPartial`, a timeout returns what was read. */
export async function sampleTopicDetailed(
  cluster: KafkaCluster,
  topic: string,
  options: SampleOptions & {allowPartial?: boolean},
): Promise<SampleResult> {
  const started = Date.now()
  const timeoutMs = options.timeoutMs ?? 60_000
  const offsets = await cluster.endOffsets(topic)
  const plan = planSample(offsets, options)
  const groupId = `${INTERNAL_GROUP_PREFIX}sample-${randomBytes(6).toString('hex')}`
  const records: SampledRecord[] = []
  const byPartition = new Map(plan.map((p) => [p.partition, p]))
  const total = plan.reduce((sum, p) => sum + (p.stop - p.start), 0)
  const result = (): SampleResult => ({
    topic,
    records: records.sort((a, b) => a.partition - b.partition || a.offset - b.offset),
    partitions: plan,
    complete: plan.every((p) => p.complete),
    groupId,
    elapsedMs: Date.now() - started,
  })
  const pending = plan.filter((p) => !p.complete)
  if (pending.length === 0) return result()
  if (options.signal?.aborted) throw new KreorgError('interrupted', `sampling ${topic} was interrupted`)

  const consumer: Consumer = clientOf(cluster).consumer({
    groupId,
    allowAutoTopicCreation: false,
    // Read what consumers see: no aborted transactions. End offsets are last stable offsets too.
    readUncommitted: false,
    // A partition with nothing left must not hold the fetch loop long.
    maxWaitTimeInMs: 200,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    retry: {retries: 2, restartOnFailure: async () => false},
  })

  const progress = () => {
    const done = plan.reduce((sum, p) => sum + (Math.min(p.reached, p.stop) - p.start), 0)
    options.onProgress?.(done, total)
  }

  let finish!: () => void
  let fail!: (error: unknown) => void
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve
    fail = reject
  })
  // It may settle before anything awaits it (abort during connect); the race below still sees it.
  finished.catch(() => {})

  const pauseQuietly = (partition: number) => {
    try {
      consumer.pause([{topic, partitions: [partition]}])
    } catch {
      // Only possible while the consumer stops; nothing to pause then.
    }
  }

  /** Moves a partition's position past `lastOffset`; finishes when every partition is done. */
  const advance = (partition: number, lastOffset: string | null | undefined) => {
    const entry = byPartition.get(partition)
    if (!entry) {
      pauseQuietly(partition)
      return
    }
    if (lastOffset !== null && lastOffset !== undefined) entry.reached = Math.max(entry.reached, Number(lastOffset) + 1)
    if (!entry.complete && (entry.reached >= entry.stop || entry.records >= options.perPartition)) {
      entry.complete = true
      pauseQuietly(partition)
    }
    progress()
    if (plan.every((p) => p.complete)) finish()
  }

  const eachBatch = async ({batch}: EachBatchPayload) => {
    const entry = byPartition.get(batch.partition)
    if (!entry || entry.complete) {
      pauseQuietly(batch.partition)
      return
    }
    for (const message of batch.messages) {
      const offset = Number(message.offset)
      // A fetch can start before the seek lands or return a compressed batch from before `start`.
      if (offset < entry.start || offset >= entry.stop) continue
      if (entry.records >= options.perPartition) break
      records.push(toSampledRecord(batch.partition, message))
      entry.records++
    }
    advance(batch.partition, batch.lastOffset())
  }

  // Batches holding only control records or aborted transactions never reach eachBatch; this event does.
  const offBatchEnd = consumer.on(consumer.events.END_BATCH_PROCESS, ({payload}) => {
    if (payload.topic === topic) advance(payload.partition, payload.lastOffset)
  })
  const offCrash = consumer.on(consumer.events.CRASH, ({payload}) => {
    fail(new KreorgError('unexpected', `sampling ${topic} failed: ${describeCause(payload.error)}`, {cause: payload.error}))
  })

  let timer: NodeJS.Timeout | undefined
  let timedOut = false
  const onAbort = () => fail(new KreorgError('interrupted', `sampling ${topic} was interrupted`))
  try {
    options.signal?.addEventListener('abort', onAbort, {once: true})
    timer = setTimeout(() => {
      timedOut = true
      finish()
    }, timeoutMs)
    await consumer.connect()
    await consumer.subscribe({topics: [topic], fromBeginning: true})
    const running = consumer.run({autoCommit: false, eachBatchAutoResolve: true, eachBatch})
    // run() creates the group synchronously before it awaits the join, so these land before the first fetch.
    for (const entry of plan) {
      if (entry.complete) pauseQuietly(entry.partition)
      else consumer.seek({topic, partition: entry.partition, offset: String(entry.start)})
    }
    const notPlanned = offsets.map((o) => o.partition).filter((p) => !byPartition.has(p))
    if (notPlanned.length > 0) consumer.pause([{topic, partitions: notPlanned}])
    await Promise.race([running.then(() => finished), finished])
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
    offBatchEnd()
    offCrash()
    await consumer.disconnect().catch(() => {})
  }
  const sample = result()
  if (timedOut && !sample.complete && !options.allowPartial) {
    const missing = sample.partitions.filter((p) => !p.complete).map((p) => p.partition)
    throw new KreorgError(
      'timeout',
      `sampling ${topic} did not finish within ${Math.round(timeoutMs / 1000)}s (partitions ${missing.join(', ')} incomplete)`,
      {
        suggestions: ['raise the sampling timeout or lower the sample size'],
      },
    )
  }
  return sample
}

/**
 * The records of a bounded sample, ordered by partition and offset. `from: 'latest'` reads the last
 * `perPartition` offsets of each partition; a Map reads forward from its offsets. Throws
 * KreorgError('timeout') when the sample is not complete within `timeoutMs`.
 */
export async function sampleTopic(cluster: KafkaCluster, topic: string, options: SampleOptions): Promise<SampledRecord[]> {
  return (await sampleTopicDetailed(cluster, topic, options)).records
}

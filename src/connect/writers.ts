import type {PartitionProducers} from '../kafka/types.js'

/**
 * Kafka Connect in the writer inventory. A source task writes through its own Java producer, which
 * kreorg cannot ask for its producer id: by default Connect makes it non-idempotent (batches carry
 * producer id -1; `enable.idempotence=false` in the worker's producer config), and when it is
 * idempotent or exactly-once its producer id is one kreorg has never seen. So the inventory, which
 * refuses writers no agent owns, has to account for the connectors it paused, without letting a
 * foreign writer hide behind them:
 *
 * - In `plan` the connectors still run: producer ids no agent owns are attributed to them provisionally,
 *   at most one per task, and -1 batches too; both are checked again right before the alter.
 * - In `add-partitions` the connectors are confirmed PAUSED, and kreorg recorded, right after that
 *   (and a short settle for in-flight sends), every partition's high watermark and every producer id's
 *   last sequence per partition. A -1 batch below that high watermark was written before the pause;
 *   one at or above it was not written by a paused connector. A producer id is attributed only if its
 *   last sequence on every partition is the one recorded at the pause (it has not written since), and
 *   only up to one producer id per paused task; if more ids are silent than tasks, none is.
 *
 * What it cannot tell: a foreign writer that went quiet exactly when the connectors were paused and
 * stays quiet until the alter is attributed to them. If it writes again after the alter, the fences
 * catch it (the new partitions during prime-consumers, the high watermarks while producers are paused).
 */

export interface ConnectWriterFacts {
  /** `running`: the plan, before the pause (provisional); `paused`: confirmed PAUSED at `pausedAt`. */
  phase: 'paused' | 'running'
  /** The connectors writing to the topic that the inventory may attribute writes to. */
  connectors: Array<{name: string; tasks: number; worker: string}>
  pausedAt?: number
  /** High watermark of every partition right after the pause was confirmed. */
  highWatermarks?: Array<{high: number; partition: number}>
  /** `[partition, producerId, lastSequence]` of the producer ids DescribeProducers knew right after the pause. */
  producerSequences?: Array<[number, number, number]>
}

export interface ConnectAttribution {
  phase: ConnectWriterFacts['phase']
  /** `name (worker)` of every connector writes were attributed to. */
  connectors: string[]
  tasks: number
  /** Producer ids no agent owns, attributed to the connectors' tasks. */
  producerIds: number[]
  /** Partitions whose -1 (non-idempotent) batches were attributed to the connectors. */
  nonIdempotentPartitions: number[]
  pausedAt?: number
}

interface UnownedWriter {
  producerId: number
  /** Why Connect does not account for it, when connectors are involved (goes into the refusal). */
  connect?: string
}

interface AnonymousBatches {
  partition: number
  batches: number
  lastOffset: number
  /** The high watermark when the connectors were confirmed PAUSED: this partition's -1 batches reach past it. */
  afterConnectPause?: number
}

export interface ConnectAccounting<W extends UnownedWriter, N extends AnonymousBatches> {
  attribution: ConnectAttribution
  /** Writers still unaccounted for (with `connect` saying why). */
  unknown: Array<UnownedWriter & W>
  nonIdempotent: N[]
  notes: string[]
}

function iso(ms: number | undefined): string {
  return ms === undefined ? 'an unknown time' : new Date(ms).toISOString()
}

function listing(facts: ConnectWriterFacts): string {
  const names = facts.connectors.map((c) => c.name)
  return `Kafka Connect connector${names.length === 1 ? '' : 's'} ${names.join(', ')}`
}

/** The producer ids of the `paused` snapshot that are unchanged now, per producer id. Pure. */
function silentSincePause(facts: ConnectWriterFacts, producers: readonly PartitionProducers[], producerId: number): boolean {
  const then = new Map<number, number>()
  for (const [partition, id, sequence] of facts.producerSequences ?? []) if (id === producerId) then.set(partition, sequence)
  let seen = false
  for (const partition of producers) {
    for (const producer of partition.producers) {
      if (producer.producerId !== producerId) continue
      seen = true
      if (then.get(partition.partition) !== producer.lastSequence) return false
    }
  }
  return seen
}

/**
 * Moves the writes the connectors account for out of `unknown` and `nonIdempotent`; the rest gain a
 * `connect` explanation for the refusal. Pure.
 */
export function accountForConnect<W extends UnownedWriter, N extends AnonymousBatches>(
  facts: ConnectWriterFacts,
  observed: {unknown: readonly W[]; nonIdempotent: readonly N[]; producers: readonly PartitionProducers[]},
): ConnectAccounting<W, N> {
  const tasks = facts.connectors.reduce((sum, c) => sum + c.tasks, 0)
  const attribution: ConnectAttribution = {
    phase: facts.phase,
    connectors: facts.connectors.map((c) => `${c.name} (${c.worker})`),
    tasks,
    producerIds: [],
    nonIdempotentPartitions: [],
    ...(facts.pausedAt === undefined ? {} : {pausedAt: facts.pausedAt}),
  }
  const notes: string[] = []
  const who = `${listing(facts)} (${tasks} task${tasks === 1 ? '' : 's'})`
  const were = facts.connectors.length === 1 ? 'was' : 'were'
  let unknown: Array<UnownedWriter & W>
  let nonIdempotent: N[]

  if (facts.phase === 'running') {
    if (observed.unknown.length > 0 && observed.unknown.length <= tasks) {
      attribution.producerIds = observed.unknown.map((w) => w.producerId)
      unknown = []
      notes.push(
        `producer id(s) ${attribution.producerIds.join(', ')} belong to no agent: attributed to ${who}, which kreorg pauses before adding partitions; checked again after the pause`,
      )
    } else {
      unknown = observed.unknown.map((w) =>
        tasks === 0
          ? w
          : {...w, connect: `${who} can account for at most ${tasks} producer id(s), and ${observed.unknown.length} belong to no agent`},
      )
    }
    if (tasks > 0 && observed.nonIdempotent.length > 0) {
      attribution.nonIdempotentPartitions = observed.nonIdempotent.map((n) => n.partition)
      nonIdempotent = []
      notes.push(
        `non-idempotent writes (producer id -1) on partition(s) ${attribution.nonIdempotentPartitions.join(', ')}: attributed to ${who} (Connect's producers are not idempotent by default), which kreorg pauses before adding partitions; checked again after the pause`,
      )
    } else {
      nonIdempotent = [...observed.nonIdempotent]
    }
    return {attribution, unknown, nonIdempotent, notes}
  }

  // Confirmed PAUSED: only what was written before the pause can be theirs.
  const when = iso(facts.pausedAt)
  const silent: Array<UnownedWriter & W> = []
  unknown = []
  for (const writer of observed.unknown) {
    if (silentSincePause(facts, observed.producers, writer.producerId)) silent.push(writer)
    else unknown.push({...writer, connect: `it wrote after ${listing(facts)} ${were} confirmed PAUSED at ${when}, so it is not Connect's`})
  }
  if (silent.length > 0 && silent.length <= tasks) {
    attribution.producerIds = silent.map((w) => w.producerId)
    notes.push(
      `producer id(s) ${attribution.producerIds.join(', ')} belong to no agent and have not written since ${who} ${were} confirmed PAUSED at ${when}: attributed to ${facts.connectors.length === 1 ? 'it' : 'them'}`,
    )
  } else if (tasks === 0) {
    unknown.push(...silent)
  } else {
    unknown.push(
      ...silent.map((w) => ({
        ...w,
        connect: `${silent.length} producer ids that belong to no agent have not written since ${who} ${were} confirmed PAUSED at ${when}, more than one per task: kreorg cannot tell which are Connect's`,
      })),
    )
  }
  const high = new Map((facts.highWatermarks ?? []).map((o) => [o.partition, o.high]))
  nonIdempotent = []
  for (const entry of observed.nonIdempotent) {
    const atPause = high.get(entry.partition) ?? 0
    if (entry.lastOffset < atPause) attribution.nonIdempotentPartitions.push(entry.partition)
    else nonIdempotent.push({...entry, afterConnectPause: atPause})
  }
  if (attribution.nonIdempotentPartitions.length > 0) {
    notes.push(
      `non-idempotent writes (producer id -1) on partition(s) ${attribution.nonIdempotentPartitions.join(', ')} all lie before the offsets recorded when ${who} ${were} confirmed PAUSED at ${when}: attributed to ${facts.connectors.length === 1 ? 'it' : 'them'}`,
    )
  }
  unknown.sort((a, b) => a.producerId - b.producerId)
  return {attribution, unknown, nonIdempotent, notes}
}

/**
 * An open transaction a running connector's task holds (exactly-once source support, KIP-618: the task
 * commits a transaction per batch, so one is open at almost any moment). In `plan` it is no reason to
 * refuse when its producer id is attributed to the tasks and its transactional id, when known, is the
 * one Connect gives a task (`<worker group>-<connector>-<task>`): the pause ends it, and right before
 * the alter (`paused`) an open transaction is refused as any other. Pure.
 */
export function heldByRunningTask(
  facts: ConnectWriterFacts,
  attribution: ConnectAttribution,
  txn: {producerId: number; transactionalId?: string},
): boolean {
  if (facts.phase !== 'running' || !attribution.producerIds.includes(txn.producerId)) return false
  if (txn.transactionalId === undefined) return true
  const id = txn.transactionalId
  const task = /-(\d+)$/.exec(id)
  if (!task) return false
  const owner = id.slice(0, task.index)
  return facts.connectors.some((c) => Number(task[1]) < c.tasks && owner.endsWith(`-${c.name}`))
}

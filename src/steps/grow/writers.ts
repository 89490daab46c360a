import type {BatchProducerScan, KafkaCluster, ListedTransaction, PartitionProducers} from '../../kafka/types.js'
import type {AgentView, ControlPort} from './control-port.js'

/**
 * Writer inventory (issue 14): who writes to the topic, taken in `plan` and again right before the
 * alter. Every active producer id must belong to an agent (or to kreorg's own abort markers);
 * open transactions and non-idempotent writes are named. A writer kreorg cannot account for would
 * put records in new partitions behind the pin's back, so the run refuses before anything changes.
 */
import {accountForConnect, type ConnectAttribution, type ConnectWriterFacts, heldByRunningTask} from '../../connect/writers.js'
import {formatDuration} from '../../core/duration.js'

/** Transactional ids of kreorg's marker-only aborts start with this; their producer ids are kreorg's own. */
export const MARKER_TRANSACTIONAL_PREFIX = 'kreorg-marker-'

export function markerTransactionalId(runId: string): string {
  return `${MARKER_TRANSACTIONAL_PREFIX}${runId}`
}

export interface WriterOptions {
  lookbackMs: number
  ignoreProducers: readonly number[]
  allowNonIdempotent: boolean
  /** Kafka Connect source connectors kreorg pauses: what their tasks may have written (src/connect/writers.ts). */
  connect?: ConnectWriterFacts
}

/** An agent with the producer id it writes with: -1 non-idempotent, undefined when it cannot be told. */
export interface AgentWriter {
  agentId: string
  alive: boolean
  producerId: number | undefined
}

export interface UnknownWriter {
  producerId: number
  partitions: number[]
  lastWriteAt: number
  transactionalId?: string
  /** Why the paused Kafka Connect connectors do not account for it. */
  connect?: string
}

export interface OpenTransaction {
  producerId: number
  partitions: Array<{partition: number; startOffset: number}>
  transactionalId?: string
  /** The agent owning the producer id, when one does (an agent with `txn` finishes it before acking a pause). */
  agentId?: string
}

export interface WriterInventory {
  checkedAt: number
  /** Producer ids that wrote within the lookback, per kind. */
  agentProducers: Array<{producerId: number; agentId: string}>
  markerProducers: number[]
  ignoredProducers: number[]
  unknown: UnknownWriter[]
  openTransactions: OpenTransaction[]
  /** Data batches with producer id -1 within the scan window, per partition. */
  nonIdempotent: Array<{partition: number; batches: number; lastOffset: number; afterConnectPause?: number}>
  /** Writes attributed to Kafka Connect source connectors (absent without --connect-url). */
  connect?: ConnectAttribution
  /** Reasons to refuse (exit 3), one line each. */
  problems: string[]
  notes: string[]
}

export interface WriterFacts {
  producers: PartitionProducers[]
  agents: AgentWriter[]
  /** Transactions for the producer ids that need a name (unknown writers, open transactions). */
  transactions: Array<Pick<ListedTransaction, 'transactionalId' | 'producerId'>>
  /** Producer ids of the batches written within the scan window. */
  batches: Pick<BatchProducerScan, 'partitions'>
  now: number
}

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : 'unknown time'
}

interface ProducerActivity {
  active: Map<number, {partitions: Set<number>; lastWriteAt: number}>
  open: Map<number, OpenTransaction>
}

/** Producer ids that wrote within the lookback (or hold a transaction open), and the open transactions. */
function activity(producers: PartitionProducers[], since: number): ProducerActivity {
  const active = new Map<number, {partitions: Set<number>; lastWriteAt: number}>()
  const open = new Map<number, OpenTransaction>()
  for (const partition of producers) {
    for (const producer of partition.producers) {
      if (producer.currentTxnStartOffset >= 0) {
        const entry = open.get(producer.producerId) ?? {producerId: producer.producerId, partitions: []}
        entry.partitions.push({partition: partition.partition, startOffset: producer.currentTxnStartOffset})
        open.set(producer.producerId, entry)
      }
      if (producer.lastTimestamp < since && producer.currentTxnStartOffset < 0) continue
      const entry = active.get(producer.producerId) ?? {partitions: new Set<number>(), lastWriteAt: 0}
      entry.partitions.add(partition.partition)
      entry.lastWriteAt = Math.max(entry.lastWriteAt, producer.lastTimestamp)
      active.set(producer.producerId, entry)
    }
  }
  return {active, open}
}

/** Partitions with data batches of producer id -1 in the scan. */
function nonIdempotentBatches(batches: WriterFacts['batches']): WriterInventory['nonIdempotent'] {
  const found: WriterInventory['nonIdempotent'] = []
  for (const scan of batches.partitions) {
    const anonymous = scan.producers.find((p) => p.producerId < 0 && p.batches > 0)
    if (anonymous) found.push({partition: scan.partition, batches: anonymous.batches, lastOffset: anonymous.lastOffset})
  }
  return found.sort((a, b) => a.partition - b.partition)
}

/** -1 batches: foreign when every agent is idempotent; otherwise ambiguous unless the operator accepts them. */
function judgeNonIdempotent(inventory: WriterInventory, agents: AgentWriter[], allowNonIdempotent: boolean): void {
  if (inventory.nonIdempotent.length === 0) return
  const where = inventory.nonIdempotent
    .map(
      (p) =>
        `${p.partition} (${p.batches} batch${p.batches === 1 ? '' : 'es'}${p.afterConnectPause === undefined ? '' : `, the last at offset ${p.lastOffset}, at or after offset ${p.afterConnectPause} where the Kafka Connect connectors were confirmed PAUSED`})`,
    )
    .join(', ')
  const suspects = agents.filter((a) => a.producerId === undefined || a.producerId < 0)
  if (suspects.length === 0) {
    inventory.problems.push(
      `non-idempotent writes (producer id -1) on partition(s) ${where} while every agent is idempotent: a writer without an agent writes to this topic`,
    )
  } else if (allowNonIdempotent) {
    inventory.notes.push(
      `non-idempotent writes on partition(s) ${where} accepted (--allow-non-idempotent): only the high-watermark fence can catch a foreign non-idempotent writer`,
    )
  } else {
    inventory.problems.push(
      `non-idempotent writes (producer id -1) on partition(s) ${where}; agent(s) ${suspects.map((a) => a.agentId).join(', ')} may write them (not idempotent, or producer id unknown), so they cannot be told from a foreign writer: make the agents idempotent, or pass --allow-non-idempotent if no other producer writes`,
    )
  }
}

/** Pure: judges the facts gathered from the cluster and the heartbeats. */
export function classifyWriters(facts: WriterFacts, options: WriterOptions): WriterInventory {
  const byAgent = new Map<number, string>()
  for (const agent of facts.agents)
    if (agent.producerId !== undefined && agent.producerId >= 0) byAgent.set(agent.producerId, agent.agentId)
  const txnById = new Map<number, {transactionalId: string}>(facts.transactions.map((t) => [t.producerId, t]))
  const isMarker = (producerId: number) => txnById.get(producerId)?.transactionalId.startsWith(MARKER_TRANSACTIONAL_PREFIX) === true
  const {active, open} = activity(facts.producers, facts.now - options.lookbackMs)
  const inventory: WriterInventory = {
    checkedAt: facts.now,
    agentProducers: [],
    markerProducers: [],
    ignoredProducers: [],
    unknown: [],
    openTransactions: [],
    nonIdempotent: nonIdempotentBatches(facts.batches),
    problems: [],
    notes: [],
  }
  for (const [producerId, entry] of [...active].sort((a, b) => a[0] - b[0])) {
    const agentId = byAgent.get(producerId)
    if (agentId !== undefined) inventory.agentProducers.push({producerId, agentId})
    else if (isMarker(producerId)) inventory.markerProducers.push(producerId)
    else if (options.ignoreProducers.includes(producerId)) inventory.ignoredProducers.push(producerId)
    else {
      const transactionalId = txnById.get(producerId)?.transactionalId
      inventory.unknown.push({
        producerId,
        partitions: [...entry.partitions].sort((a, b) => a - b),
        lastWriteAt: entry.lastWriteAt,
        ...(transactionalId ? {transactionalId} : {}),
      })
    }
  }
  for (const txn of open.values()) {
    const agentId = byAgent.get(txn.producerId)
    const transactionalId = txnById.get(txn.producerId)?.transactionalId
    inventory.openTransactions.push({...txn, ...(transactionalId ? {transactionalId} : {}), ...(agentId ? {agentId} : {})})
  }
  if (options.connect) {
    const accounted = accountForConnect(options.connect, {...inventory, producers: facts.producers})
    Object.assign(inventory, {unknown: accounted.unknown, nonIdempotent: accounted.nonIdempotent, connect: accounted.attribution})
    inventory.notes.push(...accounted.notes)
  }
  for (const writer of inventory.unknown) {
    inventory.problems.push(
      `unknown writer: producer id ${writer.producerId}${writer.transactionalId ? ` (transactional id ${writer.transactionalId})` : ''} wrote to partition(s) ${writer.partitions.join(', ')}, last at ${iso(writer.lastWriteAt)}, and no agent owns it${writer.connect ? ` (${writer.connect})` : ''}: stop it or wrap it with a kreorg agent; --ignore-producer ${writer.producerId} if it is known to be dead`,
    )
  }
  for (const txn of inventory.openTransactions.filter(
    (t) => t.agentId === undefined && !isMarker(t.producerId) && !options.ignoreProducers.includes(t.producerId),
  )) {
    if (options.connect && inventory.connect && heldByRunningTask(options.connect, inventory.connect, txn)) {
      inventory.notes.push(
        `open transaction${txn.transactionalId ? ` ${txn.transactionalId}` : ''} (producer id ${txn.producerId}) is a running Kafka Connect task's (exactly-once source): the pause ends it; checked again right before the alter`,
      )
      continue
    }
    inventory.problems.push(
      `open transaction${txn.transactionalId ? ` ${txn.transactionalId}` : ''} (producer id ${txn.producerId}) on partition(s) ${txn.partitions.map((p) => `${p.partition}@${p.startOffset}`).join(', ')} is not owned by an agent: its writes are invisible to read_committed consumers until it ends`,
    )
  }
  judgeNonIdempotent(inventory, facts.agents, options.allowNonIdempotent)
  return inventory
}

/** Resolves each agent's producer id: from its heartbeat, else from the batch at its last write. */
export async function agentWriters(cluster: KafkaCluster, topic: string, agents: AgentView[]): Promise<AgentWriter[]> {
  return Promise.all(
    agents.map(async (agent): Promise<AgentWriter> => {
      // An agent that says its producer is not idempotent writes batches with producer id -1.
      if (agent.idempotent === false) return {agentId: agent.agentId, alive: agent.alive ?? true, producerId: -1}
      let producerId = agent.producerId !== undefined && agent.producerId >= 0 ? agent.producerId : undefined
      if (producerId === undefined && agent.lastWrite) {
        producerId =
          (await cluster.producerIdOfBatchAt(topic, agent.lastWrite.partition, agent.lastWrite.offset).catch(() => null)) ?? undefined
      }
      return {agentId: agent.agentId, alive: agent.alive ?? true, producerId}
    }),
  )
}

export interface InventoryInputs extends WriterOptions {
  topic: string
  scanMs: number
}

/** Bytes the non-idempotent scan reads at most, over all partitions. */
export const WRITER_SCAN_MAX_BYTES = 64 * 1024 * 1024

/** Reads everything the inventory judges: producers, heartbeats within the lookback, recent batches, transactions. */
export async function takeWriterInventory(
  cluster: KafkaCluster,
  control: Pick<ControlPort, 'agents'>,
  inputs: InventoryInputs,
): Promise<WriterInventory> {
  const now = Date.now()
  const [producers, agents, batches] = await Promise.all([
    cluster.describeProducers(inputs.topic),
    control.agents(inputs.topic, {includeStaleWithinMs: inputs.lookbackMs}),
    inputs.scanMs > 0
      ? cluster.scanRecentBatchProducers(inputs.topic, inputs.scanMs, WRITER_SCAN_MAX_BYTES)
      : Promise.resolve({partitions: []}),
  ])
  const writers = await agentWriters(cluster, inputs.topic, agents)
  const known = new Set(writers.flatMap((w) => (w.producerId !== undefined && w.producerId >= 0 ? [w.producerId] : [])))
  const needName = new Set<number>()
  for (const p of producers) for (const producer of p.producers) if (!known.has(producer.producerId)) needName.add(producer.producerId)
  const transactions = needName.size > 0 ? await cluster.listTransactions({producerIds: [...needName]}).catch(() => []) : []
  return classifyWriters({producers, agents: writers, transactions, batches, now}, inputs)
}

export function writerInventoryInputs(inputs: {
  topic: string
  writerLookbackMs: number
  writerScanMs: number
  ignoreProducers: number[]
  allowNonIdempotent: boolean
}): InventoryInputs {
  return {
    topic: inputs.topic,
    lookbackMs: inputs.writerLookbackMs,
    scanMs: inputs.writerScanMs,
    ignoreProducers: inputs.ignoreProducers,
    allowNonIdempotent: inputs.allowNonIdempotent,
  }
}

export function describeInventory(inventory: WriterInventory, lookbackMs: number): string {
  const parts = [
    `${inventory.agentProducers.length} agent producer id(s)`,
    ...(inventory.markerProducers.length > 0 ? [`${inventory.markerProducers.length} kreorg marker id(s)`] : []),
    ...(inventory.ignoredProducers.length > 0 ? [`ignored ${inventory.ignoredProducers.join(', ')}`] : []),
    `${inventory.unknown.length} unknown`,
  ]
  return `writers in the last ${formatDuration(lookbackMs)}: ${parts.join(', ')}`
}

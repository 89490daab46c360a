/**
 * The application's transactions, as a pause sees them: which are still open (a pause is acked only
 * after they end) and where ended ones wrote (the ack waits for their markers).
 */
import type {KafkaClient, Producer, RecordMetadata, Transaction} from '../kafka/client.js'
import type {AgentEvents} from './events.js'

import {type AgentLifecycle, errorMessage, sleep} from './options.js'

export interface TransactionTrackerOptions {
  kafka: KafkaClient
  /** Topics the agent manages: writes elsewhere never hold back a pause ack. */
  manages: (topic: string) => boolean
  lifecycle: AgentLifecycle
  events: AgentEvents
  markerTimeoutMs: number
  /** Every write inside a transaction, as a send result (heartbeats report the latest per topic). */
  onWrites: (metadata: readonly RecordMetadata[]) => void
}

export class TransactionTracker {
  private readonly open = new Set<Promise<void>>()
  /** Per topic, partition → highest base offset written in an ended transaction whose markers were not yet seen. */
  private readonly unsettled = new Map<string, Map<number, number>>()

  constructor(private readonly options: TransactionTrackerOptions) {}

  /** Settles when the transactions open now end (commit or abort). */
  get openTransactions(): readonly Promise<void>[] {
    return [...this.open]
  }

  get openCount(): number {
    return this.open.size
  }

  /** Starts a transaction on `producer`, wrapped so the tracker learns where it writes and when it ends. */
  async begin(producer: Producer): Promise<Transaction> {
    const transaction = await producer.transaction()
    let done!: () => void
    const finished = new Promise<void>((resolve) => (done = resolve))
    this.open.add(finished)
    const end = () => {
      this.open.delete(finished)
      done()
    }
    const commit = transaction.commit.bind(transaction)
    const abort = transaction.abort.bind(transaction)
    const send = transaction.send.bind(transaction)
    const sendBatch = transaction.sendBatch.bind(transaction)
    // Where the transaction wrote, so a pause ack can wait for its markers (see waitForMarkers).
    transaction.send = async (record) => {
      const metadata = await send(record)
      this.noteWrites(metadata)
      return metadata
    }
    transaction.sendBatch = async (batch) => {
      const metadata = await sendBatch(batch)
      this.noteWrites(metadata)
      return metadata
    }
    transaction.commit = async () => {
      try {
        return await commit()
      } finally {
        end()
      }
    }
    transaction.abort = async () => {
      try {
        return await abort()
      } finally {
        end()
      }
    }
    return transaction
  }

  private noteWrites(metadata: readonly RecordMetadata[]): void {
    this.options.onWrites(metadata)
    for (const m of metadata) {
      const offset = Number(m.baseOffset)
      if (!Number.isFinite(offset) || offset < 0 || !this.options.manages(m.topicName)) continue
      const partitions = this.unsettled.get(m.topicName) ?? new Map<number, number>()
      partitions.set(m.partition, Math.max(offset, partitions.get(m.partition) ?? -1))
      this.unsettled.set(m.topicName, partitions)
    }
  }

  /**
   * A committed (or aborted) transaction is not finished on the partitions when commit() returns:
   * the broker answers EndTxn once the decision is in its transaction log and writes the COMMIT/ABORT
   * markers to each partition afterwards. Until then the partition's last stable offset (the end
   * offset consumers and kreorg see) sits below the transaction, and it jumps past records and
   * marker later. An ack sent before that would let end offsets move after every agent said
   * "paused", which the grow runbook's quiet-period check rightly calls an unknown writer. So the
   * pause ack waits until the last stable offset of every partition this agent's ended
   * transactions wrote is past their records (bounded: a foreign open transaction below ours holds
   * it back, and that is for the quiet-period check to report, not for this agent to hang on).
   */
  async waitForMarkers(topic: string): Promise<void> {
    const partitions = this.unsettled.get(topic)
    if (!partitions || partitions.size === 0) return
    const {kafka, lifecycle, events, markerTimeoutMs} = this.options
    const admin = kafka.admin()
    const deadline = Date.now() + markerTimeoutMs
    let problem = 'markers not visible yet'
    try {
      await admin.connect()
      for (;;) {
        try {
          // fetchTopicOffsets lists read_committed offsets: `high` is the last stable offset.
          const offsets = await admin.fetchTopicOffsets(topic)
          for (const o of offsets) {
            const written = partitions.get(o.partition)
            if (written !== undefined && Number(o.high) > written) partitions.delete(o.partition)
          }
          if (partitions.size === 0) return
          problem = `partitions ${[...partitions.keys()].join(', ')} still end below this agent's last transaction`
        } catch (error) {
          problem = errorMessage(error)
        }
        if (Date.now() >= deadline || lifecycle.closed) break
        await sleep(50)
      }
      events.warn(`${topic}: acking the pause without seeing the transaction markers within ${markerTimeoutMs}ms (${problem})`)
    } catch (error) {
      events.warn(`${topic}: cannot check the transaction markers before acking the pause: ${errorMessage(error)}`)
    } finally {
      partitions.clear()
      await admin.disconnect().catch(() => {})
    }
  }
}

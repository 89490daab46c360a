/**
 * The producer id of a kafkajs producer, for heartbeats (protocol 1.1 B): kreorg's writer inventory
 * matches it against the producer ids the brokers report (DescribeProducers), so a writer without an
 * agent stands out. kafkajs keeps the id inside its private EOS manager; the id arrives in the answer
 * to InitProducerId, which the manager sends through a broker it gets from the producer's own
 * cluster (the controller, or the transaction coordinator). We watch those brokers' answers.
 *
 * When kafkajs internals are not where 2.2 keeps them, nothing is watched and the id stays unknown
 * (heartbeats say -1; kreorg then reads the producer id from the batch at the agent's `lastWrite`).
 */
import type {KafkaClient} from '../kafka/client.js'

const CREATE_CLUSTER = 'private:Kafka:createCluster'

type AsyncFn = (...args: unknown[]) => Promise<unknown>

const watchedBrokers = new WeakSet<object>()

/**
 * Runs `create` (which builds one producer on `kafka`), capturing the cluster kafkajs creates for it.
 * Nested captures (src/kafka/producer-metadata.ts does the same) each see the cluster.
 */
export function captureProducerCluster<T>(kafka: KafkaClient, create: () => T): {result: T; cluster: unknown} {
  const holder = kafka as unknown as Record<symbol, unknown>
  const symbol = Object.getOwnPropertySymbols(holder).find((s) => s.description === CREATE_CLUSTER)
  const original = symbol ? holder[symbol] : undefined
  if (!symbol || typeof original !== 'function') return {result: create(), cluster: undefined}
  let cluster: unknown
  // Swapped for the duration of this synchronous call only.
  holder[symbol] = (...args: unknown[]) => {
    cluster = (original as (...a: unknown[]) => unknown).apply(kafka, args)
    return cluster
  }
  try {
    return {result: create(), cluster}
  } finally {
    holder[symbol] = original
  }
}

function watchBroker(broker: unknown, onProducerId: (id: number) => void): void {
  if (typeof broker !== 'object' || broker === null || watchedBrokers.has(broker)) return
  const target = broker as Record<string, unknown>
  const init = target.initProducerId
  if (typeof init !== 'function') return
  watchedBrokers.add(broker)
  target.initProducerId = async function (this: unknown, ...args: unknown[]) {
    const result = (await (init as AsyncFn).apply(this, args)) as {producerId?: unknown} | undefined
    const id = Number(result?.producerId)
    if (Number.isSafeInteger(id) && id >= 0) onProducerId(id)
    return result
  }
}

/** Calls `onProducerId` with every id the producer's InitProducerId requests return; false if kafkajs hides them. */
export function watchProducerIds(cluster: unknown, onProducerId: (id: number) => void): boolean {
  if (typeof cluster !== 'object' || cluster === null) return false
  const target = cluster as Record<string, unknown>
  let watching = false
  for (const name of ['findControllerBroker', 'findGroupCoordinator']) {
    const find = target[name]
    if (typeof find !== 'function') continue
    target[name] = async function (this: unknown, ...args: unknown[]) {
      const broker = await (find as AsyncFn).apply(this, args)
      watchBroker(broker, onProducerId)
      return broker
    }
    watching = true
  }
  return watching
}

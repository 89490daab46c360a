/**
 * The admin requests kafkajs 2.2.4 lacks, sent over kafkajs's own broker connections (same SASL/TLS,
 * same ApiVersions), routed like the Java AdminClient routes them:
 *  - ListGroups v5, ListTransactions  → every broker (each answers for what it coordinates)
 *  - ConsumerGroupDescribe            → the group's coordinator (FindCoordinator type 0)
 *  - DescribeTransactions             → the transactional id's coordinator (FindCoordinator type 1)
 *  - DescribeProducers, ListOffsets, Fetch → each partition's leader
 * Nothing here retries: callers wrap calls in a retry on transient errors (a leader or coordinator
 * moving answers with a retriable protocol error, and every call re-resolves its route).
 *
 * Why over kafkajs rather than another client (issue 13 §5, /work/spikes/REPORT.md Q5): the only
 * line of Platformatic's Kafka client that runs on Node 20 (1.x) cannot decode ConsumerGroupDescribe
 * for a group with members, its fixed line needs Node 22.22 or newer, and neither routes these APIs
 * itself. Extending kafkajs keeps one client, one auth/TLS stack and one adapter; revisit when kreorg
 * drops Node 20.
 */
import type {KafkaClient} from '../client.js'

import {KreorgError} from '../../core/errors.js'
import {fetchBatchHeaders, type FetchedPartition} from './fetch-batches.js'
import {
  API_CONSUMER_GROUP_DESCRIBE,
  API_DESCRIBE_GROUPS,
  API_LIST_GROUPS,
  consumerGroupDescribe,
  describeClassicGroups,
  listGroups,
  type WireClassicGroup,
  type WireConsumerGroup,
  type WireListedGroup,
} from './group-requests.js'
import {
  COORDINATOR_TYPE,
  createErrorFromCode,
  createInternalCluster,
  type InternalBroker,
  type InternalCluster,
} from './kafkajs-internals.js'
import {
  API_DESCRIBE_PRODUCERS,
  API_DESCRIBE_TRANSACTIONS,
  API_LIST_TRANSACTIONS,
  describeProducers,
  describeTransactions,
  listTransactions,
  type WireListedTransaction,
  type WireProducersPartition,
  type WireTransactionDescription,
} from './txn-requests.js'

const GROUP_ID_NOT_FOUND = 69
const TRANSACTIONAL_ID_NOT_FOUND = 105
/** How long a broker list read for an every-broker request is reused. */
const BROKER_LIST_TTL_MS = 5000
/** Parallel coordinator look-ups: quick on hundreds of groups, gentle on the brokers. */
const LOOKUP_CONCURRENCY = 16

const API_NAMES: Record<number, string> = {
  [API_LIST_GROUPS]: 'ListGroups v3+',
  [API_CONSUMER_GROUP_DESCRIBE]: 'ConsumerGroupDescribe (Kafka 3.7+)',
  [API_DESCRIBE_PRODUCERS]: 'DescribeProducers (Kafka 2.8+)',
  [API_DESCRIBE_TRANSACTIONS]: 'DescribeTransactions (Kafka 3.0+)',
  [API_LIST_TRANSACTIONS]: 'ListTransactions (Kafka 3.0+)',
}

/** The highest version of `apiKey` in [min, max] that `broker` speaks, or null. */
function negotiate(broker: InternalBroker, apiKey: number, min: number, max: number): number | null {
  const range = broker.versions?.[apiKey]
  if (!range || range.maxVersion < min || range.minVersion > max) return null
  return Math.min(range.maxVersion, max)
}

function requireVersion(broker: InternalBroker, apiKey: number, min: number, max: number): number {
  const version = negotiate(broker, apiKey, min, max)
  if (version === null) {
    throw new KreorgError('precondition', `broker ${broker.nodeId ?? '?'} does not support ${API_NAMES[apiKey] ?? `API ${apiKey}`}`, {
      suggestions: ['kreorg needs Apache Kafka 3.7 or newer (or a compatible broker) for its writer and group checks'],
    })
  }
  return version
}

function protocolError(code: number, context: Record<string, unknown>): Error {
  return Object.assign(createErrorFromCode(code), context)
}

export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  const workers = Array.from({length: Math.min(limit, items.length)}, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index]!)
    }
  })
  await Promise.all(workers)
  return results
}

export interface RoutedGroup {
  groupId: string
  coordinator: InternalBroker
}

/** Sends one request per coordinator for the groups it coordinates. */
async function perCoordinator<R>(
  routed: readonly RoutedGroup[],
  send: (coordinator: InternalBroker, groupIds: string[]) => Promise<R[]>,
): Promise<R[]> {
  const byCoordinator = groupBy(routed, (r) => r.coordinator.nodeId ?? -1)
  const results = await Promise.all(
    [...byCoordinator.values()].map((own) =>
      send(
        own[0]!.coordinator,
        own.map((r) => r.groupId),
      ),
    ),
  )
  return results.flat()
}

function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const groups = new Map<number, T[]>()
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item])
  return groups
}

export class ProtocolAdmin {
  private cluster: InternalCluster | undefined
  private connecting: Promise<InternalCluster> | undefined
  /** kafkajs keeps one "last metadata" per cluster: metadata reads are serialized so each reads its own. */
  private metadataQueue: Promise<unknown> = Promise.resolve()
  private brokerList: {ids: number[]; readAt: number} | undefined

  constructor(private readonly kafka: KafkaClient) {}

  async close(): Promise<void> {
    const {cluster} = this
    this.cluster = undefined
    this.connecting = undefined
    this.brokerList = undefined
    await cluster?.disconnect().catch(() => {})
  }

  /** The internal cluster, connected on first use (and again after a close). */
  async connected(): Promise<InternalCluster> {
    // A connect in flight first: kafkajs reports the seed broker connected as soon as its socket is
    // up, before its ApiVersions lookup is set, so a concurrent caller trusting isConnected() then
    // failed with "Broker not connected" (seen with several first calls at once on a new cluster).
    if (this.connecting) return this.connecting
    if (this.cluster?.isConnected()) return this.cluster
    this.connecting ??= (async () => {
      const cluster = this.cluster ?? createInternalCluster(this.kafka)
      this.cluster = cluster
      try {
        await cluster.connect()
        return cluster
      } finally {
        this.connecting = undefined
      }
    })()
    return this.connecting
  }

  private async readMetadata<T>(topics: string[], read: (cluster: InternalCluster) => T): Promise<T> {
    const cluster = await this.connected()
    const run = this.metadataQueue.then(async () => {
      await cluster.brokerPool.refreshMetadata(topics)
      return read(cluster)
    })
    this.metadataQueue = run.catch(() => {})
    return run
  }

  /** Partition → leader node id, from a fresh Metadata request for the topic. */
  async leaders(topic: string): Promise<Map<number, number>> {
    try {
      return await this.readMetadata([topic], (cluster) => {
        const partitions = cluster.brokerPool.metadata?.topicMetadata.find((t) => t.topic === topic)?.partitionMetadata ?? []
        if (partitions.length === 0) throw protocolError(3 /* UNKNOWN_TOPIC_OR_PARTITION */, {topic})
        return new Map(partitions.map((p) => [p.partitionId, p.leader]))
      })
    } catch (error) {
      if ((error as {type?: string}).type === 'UNKNOWN_TOPIC_OR_PARTITION') {
        throw new KreorgError('topic-missing', `topic "${topic}" does not exist`, {cause: error})
      }
      throw error
    }
  }

  /** Every broker, for requests each broker answers for its own share (groups, transactions). */
  async brokers(): Promise<InternalBroker[]> {
    if (!this.brokerList || Date.now() - this.brokerList.readAt > BROKER_LIST_TTL_MS) {
      const ids = await this.readMetadata([], (cluster) => (cluster.brokerPool.metadata?.brokers ?? []).map((b) => b.nodeId))
      this.brokerList = {ids, readAt: Date.now()}
    }
    const cluster = await this.connected()
    return Promise.all(this.brokerList.ids.map((nodeId) => cluster.findBroker({nodeId})))
  }

  /** Routes `partitions` of `topic` to their leaders and runs `send` once per leader. */
  async perLeader<R>(
    topic: string,
    partitions: number[] | undefined,
    send: (broker: InternalBroker, partitions: number[]) => Promise<R[]>,
  ): Promise<R[]> {
    const leaders = await this.leaders(topic)
    const wanted = partitions ?? [...leaders.keys()].sort((a, b) => a - b)
    const missing = wanted.filter((p) => (leaders.get(p) ?? -1) < 0)
    // No leader (or not in metadata yet): the partition is moving or brand new, which a retry outlasts.
    if (missing.length > 0) throw protocolError(5 /* LEADER_NOT_AVAILABLE */, {topic, partitions: missing})
    const cluster = await this.connected()
    const byLeader = groupBy(wanted, (p) => leaders.get(p)!)
    const results = await Promise.all([...byLeader].map(async ([nodeId, own]) => send(await cluster.findBroker({nodeId}), own)))
    return results.flat()
  }

  /** ListGroups v3+ from every broker, with group types from v5; null when a broker only speaks older versions. */
  async listGroups(): Promise<WireListedGroup[] | null> {
    const brokers = await this.brokers()
    if (brokers.some((broker) => negotiate(broker, API_LIST_GROUPS, 3, 5) === null)) return null
    const lists = await Promise.all(
      brokers.map(async (broker) => {
        const {errorCode, groups} = await broker.connectionPool.send(listGroups(negotiate(broker, API_LIST_GROUPS, 3, 5)!))
        if (errorCode !== 0) throw protocolError(errorCode, {broker: broker.nodeId})
        return groups
      }),
    )
    return lists.flat()
  }

  /** Each group's coordinator (FindCoordinator per id, a few at a time). */
  async groupCoordinators(groupIds: readonly string[]): Promise<RoutedGroup[]> {
    const cluster = await this.connected()
    return mapLimited(groupIds, LOOKUP_CONCURRENCY, async (groupId) => ({
      groupId,
      coordinator: await cluster.findGroupCoordinator({groupId, coordinatorType: COORDINATOR_TYPE.GROUP}),
    }))
  }

  /**
   * ConsumerGroupDescribe: an entry per group, errorCode 69 for groups that are not KIP-848 `consumer`
   * groups (classic, streams, missing). Null when a coordinator does not know the API (Kafka < 3.7,
   * where every group is classic).
   */
  async describeConsumerGroups(routed: readonly RoutedGroup[]): Promise<Map<string, WireConsumerGroup> | null> {
    if (routed.some(({coordinator}) => negotiate(coordinator, API_CONSUMER_GROUP_DESCRIBE, 0, 1) === null)) return null
    const described = await perCoordinator(routed, (coordinator, ids) =>
      coordinator.connectionPool.send(consumerGroupDescribe(ids, negotiate(coordinator, API_CONSUMER_GROUP_DESCRIBE, 0, 1)!)),
    )
    for (const group of described) {
      if (group.errorCode !== 0 && group.errorCode !== GROUP_ID_NOT_FOUND) {
        throw protocolError(group.errorCode, {groupId: group.groupId, detail: group.errorMessage})
      }
    }
    return new Map(described.map((group) => [group.groupId, group]))
  }

  /**
   * DescribeGroups v5+ (with static members' instance ids): an entry per group; a group that is not
   * classic (or does not exist) says state Dead (v5) or errorCode 69 (v6). Null when a coordinator
   * only speaks older versions.
   */
  async describeClassicGroups(routed: readonly RoutedGroup[]): Promise<Map<string, WireClassicGroup> | null> {
    if (routed.some(({coordinator}) => negotiate(coordinator, API_DESCRIBE_GROUPS, 5, 6) === null)) return null
    const described = await perCoordinator(routed, (coordinator, ids) =>
      coordinator.connectionPool.send(describeClassicGroups(ids, negotiate(coordinator, API_DESCRIBE_GROUPS, 5, 6)!)),
    )
    for (const group of described) {
      if (group.errorCode !== 0 && group.errorCode !== GROUP_ID_NOT_FOUND) throw protocolError(group.errorCode, {groupId: group.groupId})
    }
    return new Map(described.map((group) => [group.groupId, group]))
  }

  async describeProducers(topic: string, partitions?: number[]): Promise<WireProducersPartition[]> {
    const described = await this.perLeader(topic, partitions, async (broker, own) => {
      requireVersion(broker, API_DESCRIBE_PRODUCERS, 0, 0)
      return broker.connectionPool.send(describeProducers(topic, own))
    })
    for (const p of described) {
      if (p.errorCode !== 0) throw protocolError(p.errorCode, {topic, partition: p.partitionIndex, detail: p.errorMessage})
    }
    return described.sort((a, b) => a.partitionIndex - b.partitionIndex)
  }

  async listTransactions(filter: {states: string[]; producerIds: number[]}): Promise<Array<WireListedTransaction & {coordinator: number}>> {
    const brokers = await this.brokers()
    const lists = await Promise.all(
      brokers.map(async (broker) => {
        const version = requireVersion(broker, API_LIST_TRANSACTIONS, 0, 1)
        const response = await broker.connectionPool.send(listTransactions({...filter, durationFilterMs: -1}, version))
        if (response.errorCode !== 0) throw protocolError(response.errorCode, {broker: broker.nodeId})
        return response.transactions.map((t) => ({...t, coordinator: broker.nodeId ?? -1}))
      }),
    )
    return lists.flat()
  }

  /** DescribeTransactions per coordinator; ids the coordinator does not know are left out. */
  async describeTransactions(transactionalIds: readonly string[]): Promise<WireTransactionDescription[]> {
    const cluster = await this.connected()
    const routed = await mapLimited(transactionalIds, LOOKUP_CONCURRENCY, async (transactionalId) => ({
      transactionalId,
      coordinator: await cluster.findGroupCoordinator({groupId: transactionalId, coordinatorType: COORDINATOR_TYPE.TRANSACTION}),
    }))
    const byCoordinator = groupBy(routed, (r) => r.coordinator.nodeId ?? -1)
    const described = await Promise.all(
      [...byCoordinator.values()].map(async (own) => {
        const {coordinator} = own[0]!
        requireVersion(coordinator, API_DESCRIBE_TRANSACTIONS, 0, 0)
        return coordinator.connectionPool.send(describeTransactions(own.map((r) => r.transactionalId)))
      }),
    )
    const found: WireTransactionDescription[] = []
    for (const t of described.flat()) {
      if (t.errorCode === TRANSACTIONAL_ID_NOT_FOUND) continue
      if (t.errorCode !== 0) throw protocolError(t.errorCode, {transactionalId: t.transactionalId})
      found.push(t)
    }
    return found
  }

  /**
   * ListOffsets on each partition's leader: partition → offset. `timestamp` -1 = end, -2 = log start,
   * else the first offset whose timestamp is at or after it (-1 when there is none).
   */
  async listOffsets(topic: string, timestamp: number, isolationLevel: number, partitions?: number[]): Promise<Map<number, number>> {
    const answered = await this.perLeader(topic, partitions, async (broker, own) => {
      const {responses} = await broker.listOffsets({
        replicaId: -1,
        isolationLevel,
        topics: [{topic, partitions: own.map((partition) => ({partition, timestamp}))}],
      })
      return responses.flatMap((r) => r.partitions)
    })
    return new Map(answered.map((p) => [p.partition, Number(p.offset)]))
  }

  /** Batch headers from each partition's leader (read_uncommitted), starting at the batch that holds `fetchOffset`. */
  async fetchBatches(
    topic: string,
    requests: Array<{partition: number; fetchOffset: number; maxBytes: number}>,
  ): Promise<FetchedPartition[]> {
    const byPartition = new Map(requests.map((r) => [r.partition, r]))
    return this.perLeader(topic, [...byPartition.keys()], async (broker, own) => {
      const {errorCode, partitions} = await broker.connectionPool.send(
        fetchBatchHeaders(
          topic,
          own.map((p) => byPartition.get(p)!),
        ),
      )
      if (errorCode !== 0) throw protocolError(errorCode, {topic})
      return partitions
    })
  }

  async transactionCoordinator(transactionalId: string): Promise<InternalBroker> {
    const cluster = await this.connected()
    return cluster.findGroupCoordinator({groupId: transactionalId, coordinatorType: COORDINATOR_TYPE.TRANSACTION})
  }
}

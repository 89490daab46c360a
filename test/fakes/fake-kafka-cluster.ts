import type {
  AbortMarkerResult,
  AclBinding,
  AclResource,
  ActiveProducer,
  BatchProducer,
  BatchProducerScan,
  ClusterInfo,
  CommittedOffset,
  GroupDescription,
  GroupMember,
  GroupState,
  GroupType,
  KafkaCluster,
  ListedGroup,
  ListedTransaction,
  NewTopic,
  PartitionAssignment,
  PartitionInfo,
  PartitionOffsets,
  PartitionProducers,
  TopicDescription,
  TransactionDescription,
  TransactionFilter,
} from '../../src/kafka/types.js'

import {KreorgError} from '../../src/core/errors.js'
import {FaultPlan, protocolError} from './faults.js'

/**
 * `KafkaCluster` in memory, for unit tests of pure logic (recovery, retries, pre-checks): topics with
 * partitions and end offsets, groups with members and committed offsets, createPartitions, and
 * failures injected per method. It answers instantly and consistently: what Kafka itself does
 * (metadata propagation, coordinator moves, the adapter's own retries) is tested on a real broker.
 */

export type ClusterMethod = {
  [K in keyof KafkaCluster]-?: NonNullable<KafkaCluster[K]> extends (...args: never[]) => unknown ? K : never
}[keyof KafkaCluster]

interface FakePartition {
  info: PartitionInfo
  low: number
  high: number
  /** Producer id of the batch at each offset from 0 (-1: non-idempotent), and when it was written. */
  writers: Array<{producerId: number; at: number}>
  /** Active producers as DescribeProducers would list them. */
  producers: ActiveProducer[]
}

interface FakeTopic {
  partitions: FakePartition[]
  replicationFactor: number
  configs: Record<string, string>
}

interface FakeGroup {
  type: GroupType
  state: GroupState | undefined
  members: GroupMember[]
  /** topic → partition → committed offset */
  committed: Map<string, Map<number, number>>
}

export interface FakeTopicSpec {
  partitions: number
  replicationFactor?: number
  configs?: Record<string, string>
  /** Records already in each partition (end offset), default 0. */
  records?: number
}

export interface FakeMember {
  memberId?: string
  groupInstanceId?: string
  clientId?: string
  /** Partitions assigned per topic. */
  assignment: Record<string, number[]>
}

export class FakeKafkaCluster implements KafkaCluster {
  readonly brokers: readonly string[]
  /** Every interface call, in order, for tests that assert what was (not) asked of the cluster. */
  readonly calls: Array<{method: ClusterMethod; args: unknown[]}> = []
  readonly faults = new FaultPlan<ClusterMethod>()
  private readonly listeners: Array<{method: ClusterMethod; listener: (args: unknown[], count: number) => void}> = []
  private readonly nodeIds: number[]
  private readonly topics = new Map<string, FakeTopic>()
  private readonly groups = new Map<string, FakeGroup>()
  private readonly transactions = new Map<string, TransactionDescription>()
  private nextProducerId = 1000
  private connected = false

  constructor(options: {brokers?: number} = {}) {
    this.nodeIds = Array.from({length: options.brokers ?? 1}, (_, i) => i + 1)
    this.brokers = this.nodeIds.map((id) => `fake-${id}:9092`)
  }

  // -- Arranging the cluster (not part of KafkaCluster) ------------------------------------------

  addTopic(topic: string, spec: FakeTopicSpec): this {
    const replicationFactor = spec.replicationFactor ?? 1
    const fake: FakeTopic = {partitions: [], replicationFactor, configs: {...spec.configs}}
    this.topics.set(topic, fake)
    this.extend(fake, spec.partitions)
    for (const p of fake.partitions) this.produce(topic, p.info.partition, spec.records ?? 0)
    return this
  }

  /** Appends records to a partition (its end offset moves): a producer writing, as `producerId` (-1: non-idempotent). */
  produce(topic: string, partition: number, count = 1, producerId = -1): this {
    const p = this.partition(topic, partition)
    for (let i = 0; i < count; i++) p.writers.push({producerId, at: Date.now()})
    p.high += count
    return this
  }

  /** What DescribeProducers lists for a partition. */
  setProducers(topic: string, partition: number, producers: ActiveProducer[]): this {
    this.partition(topic, partition).producers = producers.map((p) => ({...p}))
    return this
  }

  /** A transaction the coordinator knows (listed and described); remove it with `clearTransaction`. */
  setTransaction(description: TransactionDescription): this {
    this.transactions.set(description.transactionalId, {...description, topics: {...description.topics}})
    return this
  }

  clearTransaction(transactionalId: string): this {
    this.transactions.delete(transactionalId)
    return this
  }

  /** Creates or replaces a group's membership; a group with members is 'Stable', without 'Empty'. */
  setGroup(groupId: string, options: {members?: FakeMember[]; state?: GroupState; type?: GroupType} = {}): this {
    const group = this.group(groupId)
    group.type = options.type ?? 'classic'
    group.members = (options.members ?? []).map((m, i) => ({
      memberId: m.memberId ?? `${groupId}-member-${i}`,
      groupInstanceId: m.groupInstanceId ?? null,
      clientId: m.clientId ?? `${groupId}-client`,
      clientHost: '/127.0.0.1',
      assignment: m.assignment,
    }))
    group.state = options.state
    return this
  }

  /** Commits as the group's own consumers would (allowed while members are active). */
  commit(groupId: string, topic: string, offsets: CommittedOffset[]): this {
    const byPartition = this.group(groupId).committed.get(topic) ?? new Map<number, number>()
    for (const o of offsets) byPartition.set(o.partition, o.offset)
    this.group(groupId).committed.set(topic, byPartition)
    return this
  }

  /** The group consumed everything there is now: commits every partition's end offset. */
  catchUp(groupId: string, topic: string): this {
    return this.commit(
      groupId,
      topic,
      this.requireTopic(topic).partitions.map((p) => ({partition: p.info.partition, offset: p.high})),
    )
  }

  partitionCount(topic: string): number {
    return this.requireTopic(topic).partitions.length
  }

  /** Changes one partition's leader/ISR (e.g. an under-replicated partition for health checks). */
  setPartition(topic: string, partition: number, info: Partial<Omit<PartitionInfo, 'partition'>>): this {
    const p = this.partition(topic, partition)
    p.info = {...p.info, ...info}
    return this
  }

  /**
   * Runs `listener` as each call of `method` arrives (before it is answered), with the call's
   * arguments and how many such calls there have been: e.g. a group catching up while drain polls.
   */
  on(method: ClusterMethod, listener: (args: unknown[], count: number) => void): this {
    this.listeners.push({method, listener})
    return this
  }

  callsOf(method: ClusterMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args)
  }

  // -- KafkaCluster ------------------------------------------------------------------------------

  connect(): Promise<void> {
    return this.call('connect', [], () => {
      this.connected = true
    })
  }

  close(): Promise<void> {
    return this.call('close', [], () => {
      this.connected = false
    })
  }

  get isConnected(): boolean {
    return this.connected
  }

  describeCluster(): Promise<ClusterInfo> {
    return this.call('describeCluster', [], () => ({
      clusterId: 'fake-cluster',
      controller: this.nodeIds[0] ?? null,
      brokers: this.nodeIds.map((nodeId) => ({nodeId, host: `fake-${nodeId}`, port: 9092})),
    }))
  }

  listTopics(): Promise<string[]> {
    return this.call('listTopics', [], () => [...this.topics.keys()].sort())
  }

  describeTopic(topic: string): Promise<TopicDescription> {
    return this.call('describeTopic', [topic], () => this.description(topic))
  }

  describeTopicOnBroker(broker: string, topic: string): Promise<TopicDescription> {
    return this.call('describeTopicOnBroker', [broker, topic], () => this.description(topic))
  }

  topicConfig(topic: string, names: string[]): Promise<Record<string, string | undefined>> {
    return this.call('topicConfig', [topic, names], () => {
      const {configs} = this.requireTopic(topic)
      return Object.fromEntries(names.map((name) => [name, configs[name]]))
    })
  }

  createTopic(spec: NewTopic): Promise<boolean> {
    return this.call('createTopic', [spec], () => {
      if (this.topics.has(spec.topic)) return false
      this.addTopic(spec.topic, {partitions: spec.partitions, replicationFactor: spec.replicationFactor ?? 1, configs: spec.configs ?? {}})
      return true
    })
  }

  deleteTopics(topics: string[]): Promise<void> {
    return this.call('deleteTopics', [topics], () => {
      for (const topic of topics) this.topics.delete(topic)
    })
  }

  createPartitions(topic: string, totalCount: number, assignments?: PartitionAssignment[]): Promise<void> {
    return this.call('createPartitions', [topic, totalCount, assignments], () => {
      const fake = this.requireTopic(topic)
      if (totalCount <= fake.partitions.length) {
        // What the broker answers (INVALID_PARTITIONS) when the count is not above the current one.
        throw protocolError(
          'INVALID_PARTITIONS',
          `Topic currently has ${fake.partitions.length} partitions, which is higher than the requested ${totalCount}.`,
        )
      }
      this.extend(fake, totalCount, assignments)
    })
  }

  /** Recorded as one createPartitions call per topic, so tests that count alters read the same. */
  async createPartitionsForTopics(
    requests: ReadonlyArray<{topic: string; totalCount: number; assignments?: PartitionAssignment[]}>,
  ): Promise<void> {
    for (const {topic, totalCount, assignments} of requests) await this.createPartitions(topic, totalCount, assignments)
  }

  endOffsets(topic: string): Promise<PartitionOffsets[]> {
    return this.call('endOffsets', [topic], () =>
      this.requireTopic(topic).partitions.map((p) => ({partition: p.info.partition, low: p.low, high: p.high})),
    )
  }

  /** The fake has no open transactions on its logs: the same as endOffsets. */
  highWatermarks(topic: string): Promise<PartitionOffsets[]> {
    return this.call('highWatermarks', [topic], () =>
      this.requireTopic(topic).partitions.map((p) => ({partition: p.info.partition, low: p.low, high: p.high})),
    )
  }

  listGroupIds(): Promise<string[]> {
    return this.call('listGroupIds', [], () => [...this.groups.keys()].sort())
  }

  describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return this.call('describeGroups', [groupIds], () =>
      groupIds.map((groupId): GroupDescription => {
        const group = this.groups.get(groupId)
        const members = (group?.members ?? []).map((m) => ({...m, assignment: {...m.assignment}}))
        const state: GroupState = group?.state ?? (group === undefined ? 'Dead' : members.length > 0 ? 'Stable' : 'Empty')
        const type: GroupType = group === undefined ? 'unknown' : group.type
        return {
          groupId,
          type,
          state,
          protocolType: group === undefined ? '' : 'consumer',
          assignor: group === undefined ? '' : 'range',
          members,
        }
      }),
    )
  }

  listGroups(): Promise<ListedGroup[]> {
    return this.call('listGroups', [], () =>
      [...this.groups.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([groupId, g]) => ({
          groupId,
          type: g.type,
          protocolType: 'consumer',
          state: g.state ?? (g.members.length > 0 ? 'Stable' : 'Empty'),
        })),
    )
  }

  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    return this.call('committedOffsets', [groupId, topic], () => {
      const committed = this.groups.get(groupId)?.committed.get(topic)
      return this.requireTopic(topic).partitions.map((p) => ({partition: p.info.partition, offset: committed?.get(p.info.partition) ?? -1}))
    })
  }

  partitionCounts(): Promise<Map<string, number>> {
    return this.call('partitionCounts', [], () => new Map([...this.topics].map(([name, t]) => [name, t.partitions.length])))
  }

  committedTopics(groupId: string, topics: string[]): Promise<string[]> {
    return this.call('committedTopics', [groupId, topics], () => {
      const committed = this.groups.get(groupId)?.committed ?? new Map<string, Map<number, number>>()
      return topics.filter((t) => [...(committed.get(t)?.values() ?? [])].some((o) => o >= 0)).sort()
    })
  }

  commitOffsets(groupId: string, topic: string, offsets: CommittedOffset[]): Promise<void> {
    return this.call('commitOffsets', [groupId, topic, offsets], () => {
      const members = this.groups.get(groupId)?.members.length ?? 0
      // The interface's contract (KafkajsCluster does the same): offsets only for a group without members.
      if (members > 0)
        throw new KreorgError(
          'precondition',
          `group ${groupId} has ${members} active member(s); Kafka only takes offsets for an empty group`,
        )
      this.commit(groupId, topic, offsets)
    })
  }

  describeProducers(topic: string, partitions?: number[]): Promise<PartitionProducers[]> {
    return this.call('describeProducers', [topic, partitions], () =>
      this.requireTopic(topic)
        .partitions.filter((p) => partitions === undefined || partitions.includes(p.info.partition))
        .map((p) => ({partition: p.info.partition, producers: p.producers.map((s) => ({...s}))})),
    )
  }

  listTransactions(filter: TransactionFilter = {}): Promise<ListedTransaction[]> {
    return this.call('listTransactions', [filter], () =>
      [...this.transactions.values()]
        .filter((t) => !filter.states?.length || (filter.states as string[]).includes(t.state))
        .filter((t) => !filter.producerIds?.length || filter.producerIds.includes(t.producerId))
        .map((t) => ({transactionalId: t.transactionalId, producerId: t.producerId, state: t.state, coordinator: this.nodeIds[0] ?? 1})),
    )
  }

  describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    return this.call('describeTransactions', [transactionalIds], () =>
      transactionalIds.flatMap((id) => {
        const t = this.transactions.get(id)
        return t ? [{...t, topics: {...t.topics}}] : []
      }),
    )
  }

  /** One marker per partition (end offset +1), written by a new producer id each call. */
  writeAbortMarkers(topic: string, partitions: number[], transactionalId: string): Promise<AbortMarkerResult> {
    return this.call('writeAbortMarkers', [topic, partitions, transactionalId], () => {
      const producerId = this.nextProducerId++
      const markers = partitions.map((partition) => {
        const endOffsetBefore = this.partition(topic, partition).high
        this.produce(topic, partition, 1, producerId)
        return {partition, offset: endOffsetBefore, endOffsetBefore, endOffsetAfter: endOffsetBefore + 1}
      })
      return {transactionalId, producerId, producerEpoch: 0, markers}
    })
  }

  producerIdOfBatchAt(topic: string, partition: number, offset: number): Promise<number | null> {
    return this.call(
      'producerIdOfBatchAt',
      [topic, partition, offset],
      () => this.partition(topic, partition).writers[offset]?.producerId ?? null,
    )
  }

  /** Every record is its own batch; the byte budget is not modelled (never truncated). */
  scanRecentBatchProducers(topic: string, sinceMs: number, maxBytes: number): Promise<BatchProducerScan> {
    return this.call('scanRecentBatchProducers', [topic, sinceMs, maxBytes], () => {
      const since = Date.now() - sinceMs
      const partitions = this.requireTopic(topic).partitions.map((p) => {
        const byProducer = new Map<number, BatchProducer>()
        const first = p.writers.findIndex((w) => w.at >= since)
        const fromOffset = first === -1 ? p.high : first
        p.writers.slice(fromOffset).forEach((w, i) => {
          const offset = fromOffset + i
          const entry = byProducer.get(w.producerId) ?? {
            producerId: w.producerId,
            batches: 0,
            records: 0,
            controlBatches: 0,
            transactional: false,
            firstOffset: offset,
            lastOffset: offset,
            lastTimestamp: w.at,
          }
          entry.batches++
          entry.records++
          entry.lastOffset = offset
          entry.lastTimestamp = Math.max(entry.lastTimestamp, w.at)
          byProducer.set(w.producerId, entry)
        })
        const producers = [...byProducer.values()].sort((a, b) => a.producerId - b.producerId)
        return {partition: p.info.partition, fromOffset, endOffset: p.high, scannedToOffset: p.high, truncated: false, bytes: 0, producers}
      })
      return {topic, since, truncated: false, bytes: 0, partitions}
    })
  }

  validateCreatePartitions(topic: string, totalCount: number): Promise<void> {
    return this.call('validateCreatePartitions', [topic, totalCount], () => {
      this.requireTopic(topic)
    })
  }

  validateCreateTopic(spec: NewTopic): Promise<void> {
    return this.call('validateCreateTopic', [spec], () => {})
  }

  describeAcls(resource: AclResource): Promise<AclBinding[]> {
    // An open cluster (no authorizer): everyone may do everything.
    return this.call('describeAcls', [resource], () => [
      {
        resourceType: resource.type,
        resourceName: '*',
        patternType: 'literal',
        principal: 'User:*',
        host: '*',
        operation: 'all',
        permission: 'allow',
      },
    ])
  }

  // -- internals ---------------------------------------------------------------------------------

  private async call<T>(method: ClusterMethod, args: unknown[], work: () => T): Promise<T> {
    this.calls.push({method, args})
    const count = this.calls.filter((c) => c.method === method).length
    for (const entry of this.listeners) if (entry.method === method) entry.listener(args, count)
    // A real request never answers within the same tick.
    await Promise.resolve()
    return this.faults.apply(method, work)
  }

  private requireTopic(topic: string): FakeTopic {
    const fake = this.topics.get(topic)
    if (!fake) throw new KreorgError('topic-missing', `topic "${topic}" does not exist`)
    return fake
  }

  private partition(topic: string, partition: number): FakePartition {
    const p = this.requireTopic(topic).partitions[partition]
    if (!p) throw new Error(`fake cluster: ${topic} has no partition ${partition}`)
    return p
  }

  private description(topic: string): TopicDescription {
    return {
      name: topic,
      partitions: this.requireTopic(topic).partitions.map((p) => ({...p.info, replicas: [...p.info.replicas], isr: [...p.info.isr]})),
    }
  }

  private group(groupId: string): FakeGroup {
    let group = this.groups.get(groupId)
    if (!group) this.groups.set(groupId, (group = {type: 'classic', state: undefined, members: [], committed: new Map()}))
    return group
  }

  private extend(fake: FakeTopic, totalCount: number, assignments?: PartitionAssignment[]): void {
    for (let i = 0, partition = fake.partitions.length; partition < totalCount; partition++, i++) {
      const replicas = assignments?.[i]?.replicas ?? this.placeReplicas(partition, fake.replicationFactor)
      fake.partitions.push({
        info: {partition, leader: replicas[0] ?? -1, replicas, isr: [...replicas], offlineReplicas: []},
        low: 0,
        high: 0,
        writers: [],
        producers: [],
      })
    }
  }

  private placeReplicas(partition: number, replicationFactor: number): number[] {
    const count = Math.min(replicationFactor, this.nodeIds.length)
    return Array.from({length: count}, (_, i) => this.nodeIds[(partition + i) % this.nodeIds.length]!)
  }
}

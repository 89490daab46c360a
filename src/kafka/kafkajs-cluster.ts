import type {Admin, KafkaClient} from './client.js'
import type {
  AbortMarkerResult,
  AclBinding,
  AclResource,
  BatchProducerScan,
  ClusterInfo,
  CommittedOffset,
  ConnectionOptions,
  GroupDescription,
  KafkaCluster,
  ListedGroup,
  ListedTransaction,
  NewTopic,
  PartitionAssignment,
  PartitionOffsets,
  PartitionProducers,
  TopicDescription,
  TransactionDescription,
  TransactionFilter,
} from './types.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {writeAbortMarkers} from './abort-markers.js'
import {describeAclsWith} from './acl-describe.js'
import {findSaslAuthError, saslFailureHint, saslMechanismLabel} from './auth/index.js'
import {producerIdOfBatchAt, scanRecentBatchProducers} from './batch-producers.js'
import {createKafkaClient} from './client.js'
import {isTransientKafkaError} from './errors.js'
import {describeGroupsWith, listGroupsWith} from './groups.js'
import {commitOffsetsAsAdmin} from './offset-commit.js'
import {ProtocolAdmin} from './protocol/admin.js'
import {committedTopicsWith, describeWith, mapTopicError, partitionCountsWith} from './topic-metadata.js'
import {describeProducersWith, describeTransactionsWith, highWatermarksWith, listTransactionsWith} from './writers.js'

function isAuthError(error: unknown): boolean {
  const name = (error as {name?: string} | undefined)?.name ?? ''
  return name.includes('SASL') || /SASL|authentication/i.test(describeCause(error))
}

async function withDeadline<T>(ms: number, work: Promise<T>, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Group reads wait longer: a coordinator loading its offsets partition (a fresh cluster creating
 * __consumer_offsets, a broker restarting) answers COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR for
 * seconds, and each of these requests is a single attempt (kafkajs's own retrier is not in the path).
 */
const GROUP_COORDINATOR_BUDGET_MS = 20_000

/**
 * Retries transient Kafka errors (isTransientKafkaError: leadership or a coordinator moving, e.g. a
 * broker restarting) for a few seconds: a lag read or a drain poll must not fail on a failover that the
 * next request would survive. Anything else is rethrown at once.
 */
async function retryTransient<T>(work: () => Promise<T>, budgetMs = 5000): Promise<T> {
  const deadline = Date.now() + budgetMs
  for (;;) {
    try {
      return await work()
    } catch (error) {
      if (!isTransientKafkaError(error) || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

export class KafkajsCluster implements KafkaCluster {
  readonly brokers: readonly string[]
  private readonly client: KafkaClient
  private readonly admin: Admin
  /** The requests kafkajs lacks (KIP-848 groups, KIP-664 writers, markers, batch headers), over its own connections. */
  private readonly ext: ProtocolAdmin
  private connected = false

  constructor(private readonly options: ConnectionOptions) {
    this.brokers = options.brokers
    this.client = createKafkaClient(options)
    this.admin = this.client.admin()
    this.ext = new ProtocolAdmin(this.client)
  }

  /** The underlying client, for modules inside src/kafka that produce or consume. */
  get kafkaClient(): KafkaClient {
    return this.client
  }

  get connectionOptions(): ConnectionOptions {
    return this.options
  }

  async connect(): Promise<void> {
    if (this.connected) return
    const brokers = this.brokers.join(',')
    const seconds = Math.round(this.options.connectTimeoutMs / 1000)
    try {
      await withDeadline(
        this.options.connectTimeoutMs,
        // Connecting alone can succeed against a half-open listener; a metadata round trip proves the cluster answers.
        this.admin.connect().then(() => this.admin.describeCluster()),
        () => new KreorgError('connect', `cannot reach Kafka at ${brokers} within ${seconds}s`),
      )
      this.connected = true
    } catch (error) {
      await this.admin.disconnect().catch(() => {})
      if (error instanceof KreorgError) {
        throw new KreorgError('connect', error.message, {
          suggestions: ['check --brokers (or KAFKA_BROKERS) and that the brokers are up; raise --connect-timeout for slow networks'],
        })
      }
      const authError = findSaslAuthError(error)
      if (authError || isAuthError(error)) {
        const mechanism = this.options.sasl ? saslMechanismLabel(this.options.sasl) : 'SASL'
        throw new KreorgError('auth', `authentication with ${mechanism} failed at ${brokers}: ${describeCause(authError ?? error)}`, {
          suggestions: [this.options.sasl ? saslFailureHint(this.options.sasl) : 'check the SASL settings'],
          cause: error,
        })
      }
      throw new KreorgError('connect', `cannot reach Kafka at ${brokers}: ${describeCause(error)}`, {
        suggestions: ['check --brokers (or KAFKA_BROKERS) and that the brokers are up'],
        cause: error,
      })
    }
  }

  async close(): Promise<void> {
    this.connected = false
    await Promise.all([this.admin.disconnect().catch(() => {}), this.ext.close()])
  }

  async describeCluster(): Promise<ClusterInfo> {
    const info = await this.admin.describeCluster()
    return {
      clusterId: info.clusterId,
      controller: info.controller ?? null,
      brokers: info.brokers.map(({nodeId, host, port}) => ({nodeId, host, port})),
    }
  }

  async listTopics(): Promise<string[]> {
    return (await this.admin.listTopics()).sort()
  }

  async describeTopic(topic: string): Promise<TopicDescription> {
    return describeWith(this.admin, topic)
  }

  async describeTopicOnBroker(broker: string, topic: string): Promise<TopicDescription> {
    // A client seeded with a single broker sends its first metadata request to that broker.
    const single = createKafkaClient({...this.options, brokers: [broker]}).admin()
    try {
      await single.connect()
      return await describeWith(single, topic)
    } finally {
      await single.disconnect().catch(() => {})
    }
  }

  async topicConfig(topic: string, names: string[]): Promise<Record<string, string | undefined>> {
    const result = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{type: 2 /* TOPIC */, name: topic, configNames: names}],
    })
    const entries = result.resources[0]?.configEntries ?? []
    return Object.fromEntries(names.map((name) => [name, entries.find((e) => e.configName === name)?.configValue]))
  }

  async createTopic(spec: NewTopic): Promise<boolean> {
    // kafkajs's own waitForLeaders gives up at once on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker
    // under load still answers for a moment after creating the topic: wait for the leaders here instead.
    const created = await this.admin.createTopics({
      waitForLeaders: false,
      topics: [
        {
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor ?? -1,
          configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({name, value})),
        },
      ],
    })
    if (created) await this.waitForLeaders(spec.topic, spec.partitions)
    return created
  }

  /**
   * Until metadata shows `partitions` partitions of `topic`, each with a leader that already acts as
   * one (bounded by the request timeout). Metadata can name a leader before that broker has taken
   * the partition over: it then answers NOT_LEADER_OR_FOLLOWER for a moment, and a producer that
   * hits it on some partitions of a request resends the whole request (kafkajs does), duplicating
   * the records of the partitions that were written. A ListOffsets answered for every partition
   * means their leaders serve requests.
   */
  private async waitForLeaders(topic: string, partitions: number): Promise<void> {
    const deadline = Date.now() + (this.options.requestTimeoutMs ?? 30_000)
    for (;;) {
      let problem: string
      try {
        const description = await describeWith(this.admin, topic)
        if (description.partitions.length >= partitions && description.partitions.every((p) => p.leader >= 0)) {
          const offsets = await this.admin.fetchTopicOffsets(topic)
          if (offsets.length >= partitions) return
          problem = `${offsets.length}/${partitions} partitions answer for their offsets`
        } else {
          problem = `${description.partitions.filter((p) => p.leader >= 0).length}/${partitions} partitions have a leader`
        }
      } catch (error) {
        problem = describeCause(error)
      }
      if (Date.now() >= deadline)
        throw new KreorgError('timeout', `topic ${topic} was created but its partitions have no leaders yet: ${problem}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({topics})
  }

  async createPartitions(topic: string, totalCount: number, assignments?: PartitionAssignment[]): Promise<void> {
    await this.createPartitionsForTopics([{topic, totalCount, ...(assignments ? {assignments} : {})}])
  }

  async createPartitionsForTopics(
    requests: ReadonlyArray<{topic: string; totalCount: number; assignments?: PartitionAssignment[]}>,
  ): Promise<void> {
    await this.admin.createPartitions({
      validateOnly: false,
      topicPartitions: requests.map(({topic, totalCount, assignments}) => ({
        topic,
        count: totalCount,
        ...(assignments ? {assignments: assignments.map((a) => a.replicas)} : {}),
      })),
    })
  }

  async endOffsets(topic: string): Promise<PartitionOffsets[]> {
    // Right after a topic is created (or partitions added) a broker can answer metadata without the
    // new partitions for a moment; kafkajs then fails inside fetchTopicOffsets with a TypeError.
    // That is "not yet", not a bug of the caller: retry briefly before calling the topic missing.
    const deadline = Date.now() + 5000
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic)
        return offsets
          .map((o) => ({partition: o.partition, low: Number(o.low), high: Number(o.high)}))
          .sort((a, b) => a.partition - b.partition)
      } catch (error) {
        // Leadership moving (a new topic, a broker restart) is retriable too: kafkajs marks it so.
        const retriable = error instanceof TypeError || (error as {retriable?: boolean}).retriable === true
        if (!retriable || Date.now() >= deadline)
          throw mapTopicError(error instanceof TypeError ? {type: 'UNKNOWN_TOPIC_OR_PARTITION'} : error, topic)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  async highWatermarks(topic: string): Promise<PartitionOffsets[]> {
    return retryTransient(() => highWatermarksWith(this.ext, topic))
  }

  async listGroupIds(): Promise<string[]> {
    // Share groups (KIP-932) keep no committed offsets kreorg could read: only the types that do.
    return (await this.listGroups()).filter((g) => g.type !== 'unknown').map((g) => g.groupId)
  }

  async listGroups(): Promise<ListedGroup[]> {
    return retryTransient(() => listGroupsWith(this.admin, this.ext), GROUP_COORDINATOR_BUDGET_MS)
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return retryTransient(() => describeGroupsWith(this.admin, this.ext, groupIds), GROUP_COORDINATOR_BUDGET_MS)
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const result = await retryTransient(() => this.admin.fetchOffsets({groupId, topics: [topic]}))
    const partitions = result.find((t) => t.topic === topic)?.partitions ?? []
    return partitions.map((p) => ({partition: p.partition, offset: Number(p.offset)})).sort((a, b) => a.partition - b.partition)
  }

  async partitionCounts(): Promise<Map<string, number>> {
    return retryTransient(() => partitionCountsWith(this.admin))
  }

  async committedTopics(groupId: string, topics: string[]): Promise<string[]> {
    return retryTransient(() => committedTopicsWith(this.admin, groupId, topics))
  }

  async commitOffsets(groupId: string, topic: string, offsets: CommittedOffset[]): Promise<void> {
    const [group] = await this.describeGroups([groupId])
    if (group && group.members.length > 0) {
      throw new KreorgError(
        'precondition',
        `group ${groupId} has ${group.members.length} active member(s); Kafka only takes offsets for an empty group`,
      )
    }
    // Streams groups are not described member by member: only their state says they are empty.
    if (group?.type === 'streams' && group.state !== 'Empty' && group.state !== 'Dead') {
      throw new KreorgError(
        'precondition',
        `group ${groupId} is a Kafka Streams group in state ${group.state} and may have active members; kreorg does not commit offsets for it`,
      )
    }
    if (await commitOffsetsAsAdmin(this.client, groupId, topic, offsets)) return
    // setOffsets commits by joining the group as a classic member: only for classic (or not yet existing) groups.
    if (group && group.type !== 'classic' && group.type !== 'unknown') {
      throw new KreorgError(
        'unexpected',
        `cannot commit offsets for ${group.type} group ${groupId}: the kafkajs internals kreorg commits through are missing`,
      )
    }
    await this.admin.setOffsets({
      groupId,
      topic,
      partitions: offsets.map((o) => ({partition: o.partition, offset: String(o.offset)})),
    })
  }

  async validateCreatePartitions(topic: string, totalCount: number): Promise<void> {
    await this.admin.createPartitions({validateOnly: true, topicPartitions: [{topic, count: totalCount}]})
  }

  async validateCreateTopic(spec: NewTopic): Promise<void> {
    await this.admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [
        {
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor ?? -1,
          configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({name, value})),
        },
      ],
    })
  }

  async describeAcls(resource: AclResource): Promise<AclBinding[]> {
    return describeAclsWith(this.admin, resource)
  }

  async describeProducers(topic: string, partitions?: number[]): Promise<PartitionProducers[]> {
    return retryTransient(() => describeProducersWith(this.ext, topic, partitions))
  }

  async listTransactions(filter?: TransactionFilter): Promise<ListedTransaction[]> {
    return retryTransient(() => listTransactionsWith(this.ext, filter))
  }

  async describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    return retryTransient(() => describeTransactionsWith(this.ext, transactionalIds))
  }

  async writeAbortMarkers(topic: string, partitions: number[], transactionalId: string): Promise<AbortMarkerResult> {
    return writeAbortMarkers(this.ext, topic, partitions, transactionalId)
  }

  async producerIdOfBatchAt(topic: string, partition: number, offset: number): Promise<number | null> {
    return retryTransient(() => producerIdOfBatchAt(this.ext, topic, partition, offset))
  }

  async scanRecentBatchProducers(topic: string, sinceMs: number, maxBytes: number): Promise<BatchProducerScan> {
    return retryTransient(() => scanRecentBatchProducers(this.ext, topic, sinceMs, maxBytes))
  }
}

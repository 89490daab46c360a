import type {Admin, KafkaClient} from './client.js'
import {AssignerProtocol, createKafkaClient} from './client.js'
import {commitOffsetsAsAdmin} from './offset-commit.js'
import {KreorgError, describeCause} from '../runbook/errors.js'
import type {
  AclBinding,
  AclOperation,
  AclResource,
  ClusterInfo,
  CommittedOffset,
  ConnectionOptions,
  GroupDescription,
  GroupMember,
  GroupState,
  KafkaCluster,
  NewTopic,
  PartitionAssignment,
  PartitionOffsets,
  TopicDescription,
} from './types.js'

const GROUP_STATES: ReadonlySet<string> = new Set(['Stable', 'Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead'])

/** kafkajs error names that mean "the topic is not there". */
const MISSING_TOPIC_ERRORS = new Set(['UNKNOWN_TOPIC_OR_PARTITION'])

function errorType(error: unknown): string | undefined {
  return (error as {type?: string} | undefined)?.type
}

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
 * Retries what kafkajs marks retriable (leadership or group coordinator moving, e.g. a broker
 * restarting) for a few seconds: a lag read or a drain poll must not fail on a failover that the
 * next request would survive. Anything else is rethrown at once.
 */
async function retryTransient<T>(work: () => Promise<T>, budgetMs = 5_000): Promise<T> {
  const deadline = Date.now() + budgetMs
  for (;;) {
    try {
      return await work()
    } catch (error) {
      if ((error as {retriable?: boolean}).retriable !== true || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

function decodeAssignment(buffer: Buffer | undefined): Record<string, number[]> {
  if (!buffer || buffer.length === 0) return {}
  try {
    return AssignerProtocol.MemberAssignment.decode(buffer)?.assignment ?? {}
  } catch {
    // A non-consumer protocol (e.g. Connect) or a newer encoding: no partitions we can vouch for.
    return {}
  }
}

export class KafkajsCluster implements KafkaCluster {
  readonly brokers: readonly string[]
  private readonly client: KafkaClient
  private readonly admin: Admin
  private connected = false

  constructor(private readonly options: ConnectionOptions) {
    this.brokers = options.brokers
    this.client = createKafkaClient(options)
    this.admin = this.client.admin()
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
      if (isAuthError(error)) {
        const mechanism = this.options.sasl?.mechanism.toUpperCase() ?? 'SASL'
        throw new KreorgError('auth', `authentication with ${mechanism} failed at ${brokers}: ${describeCause(error)}`, {
          suggestions: ['check the username and password (--sasl-username, KAFKA_SASL_PASSWORD or the profile)'],
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
    await this.admin.disconnect().catch(() => {})
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
      if (Date.now() >= deadline) throw new KreorgError('timeout', `topic ${topic} was created but its partitions have no leaders yet: ${problem}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length > 0) await this.admin.deleteTopics({topics})
  }

  async createPartitions(topic: string, totalCount: number, assignments?: PartitionAssignment[]): Promise<void> {
    await this.admin.createPartitions({
      validateOnly: false,
      topicPartitions: [
        {topic, count: totalCount, ...(assignments ? {assignments: assignments.map((a) => a.replicas)} : {})},
      ],
    })
  }

  async endOffsets(topic: string): Promise<PartitionOffsets[]> {
    // Right after a topic is created (or partitions added) a broker can answer metadata without the
    // new partitions for a moment; kafkajs then fails inside fetchTopicOffsets with a TypeError.
    // That is "not yet", not a bug of the caller: retry briefly before calling the topic missing.
    const deadline = Date.now() + 5_000
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic)
        return offsets
          .map((o) => ({partition: o.partition, low: Number(o.low), high: Number(o.high)}))
          .sort((a, b) => a.partition - b.partition)
      } catch (error) {
        // Leadership moving (a new topic, a broker restart) is retriable too: kafkajs marks it so.
        const retriable = error instanceof TypeError || (error as {retriable?: boolean}).retriable === true
        if (!retriable || Date.now() >= deadline) throw mapTopicError(error instanceof TypeError ? {type: 'UNKNOWN_TOPIC_OR_PARTITION'} : error, topic)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  async listGroupIds(): Promise<string[]> {
    const {groups} = await retryTransient(() => this.admin.listGroups())
    return groups.map((g) => g.groupId).sort()
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    if (groupIds.length === 0) return []
    const {groups} = await retryTransient(() => this.admin.describeGroups(groupIds))
    return groups.map((g) => ({
      groupId: g.groupId,
      state: (GROUP_STATES.has(g.state) ? g.state : 'Unknown') as GroupState,
      protocolType: g.protocolType,
      members: g.members.map(
        (m): GroupMember => ({
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: decodeAssignment(m.memberAssignment),
        }),
      ),
    }))
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const result = await retryTransient(() => this.admin.fetchOffsets({groupId, topics: [topic]}))
    const partitions = result.find((t) => t.topic === topic)?.partitions ?? []
    return partitions.map((p) => ({partition: p.partition, offset: Number(p.offset)})).sort((a, b) => a.partition - b.partition)
  }

  async commitOffsets(groupId: string, topic: string, offsets: CommittedOffset[]): Promise<void> {
    const [group] = await this.describeGroups([groupId])
    if (group && group.members.length > 0) {
      throw new KreorgError('precondition', `group ${groupId} has ${group.members.length} active member(s); Kafka only takes offsets for an empty group`)
    }
    if (await commitOffsetsAsAdmin(this.client, groupId, topic, offsets)) return
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
    const {resources} = await this.admin.describeAcls({
      resourceType: ACL_RESOURCE_CODES[resource.type],
      resourceName: resource.name,
      resourcePatternType: ACL_PATTERN_MATCH,
      operation: ACL_ANY,
      permissionType: ACL_ANY,
    })
    return resources.flatMap((r) =>
      r.acls.map(
        (acl): AclBinding => ({
          resourceType: ACL_RESOURCE_NAMES[r.resourceType] ?? 'unknown',
          resourceName: r.resourceName,
          patternType: r.resourcePatternType === 3 ? 'literal' : r.resourcePatternType === 4 ? 'prefixed' : 'unknown',
          principal: acl.principal,
          host: acl.host,
          operation: ACL_OPERATION_NAMES[acl.operation] ?? 'unknown',
          permission: acl.permissionType === 3 ? 'allow' : acl.permissionType === 2 ? 'deny' : 'unknown',
        }),
      ),
    )
  }
}

// Kafka's ACL wire codes (kafkajs's AclResourceTypes/AclOperationTypes/...), kept here so only
// client.ts imports kafkajs.
const ACL_ANY = 1
const ACL_PATTERN_MATCH = 2
const ACL_RESOURCE_CODES: Record<AclResource['type'], number> = {topic: 2, group: 3, cluster: 4}
const ACL_RESOURCE_NAMES: Record<number, AclBinding['resourceType']> = {2: 'topic', 3: 'group', 4: 'cluster'}
const ACL_OPERATION_NAMES: Record<number, AclOperation> = {
  2: 'all',
  3: 'read',
  4: 'write',
  5: 'create',
  6: 'delete',
  7: 'alter',
  8: 'describe',
  9: 'cluster_action',
  10: 'describe_configs',
  11: 'alter_configs',
  12: 'idempotent_write',
}

function mapTopicError(error: unknown, topic: string): unknown {
  if (MISSING_TOPIC_ERRORS.has(errorType(error) ?? '') || /does not host this topic-partition|unknown topic/i.test(describeCause(error))) {
    return new KreorgError('topic-missing', `topic "${topic}" does not exist`, {
      suggestions: ['check the topic name with `kafka-topics --list` or your cluster UI'],
      cause: error,
    })
  }
  return error
}

async function describeWith(admin: Admin, topic: string): Promise<TopicDescription> {
  // listTopics first: fetchTopicMetadata would otherwise let a broker with auto-create on create it.
  const topics = await admin.listTopics()
  if (!topics.includes(topic)) throw mapTopicError({type: 'UNKNOWN_TOPIC_OR_PARTITION'}, topic)
  try {
    const {topics: described} = await admin.fetchTopicMetadata({topics: [topic]})
    const meta = described.find((t) => t.name === topic)
    if (!meta) throw new KreorgError('topic-missing', `topic "${topic}" does not exist`)
    return {
      name: topic,
      partitions: meta.partitions
        .map((p) => ({
          partition: p.partitionId,
          leader: p.leader,
          replicas: [...p.replicas],
          isr: [...p.isr],
          offlineReplicas: [...(p.offlineReplicas ?? [])],
        }))
        .sort((a, b) => a.partition - b.partition),
    }
  } catch (error) {
    throw mapTopicError(error, topic)
  }
}

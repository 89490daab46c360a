/**
 * The Kafka surface kreorg needs, as an interface. Everything outside src/kafka takes a `KafkaCluster`
 * and never imports the client library, so steps can be reasoned about (and unit-tested with fakes
 * for pure logic) without a broker, while integration tests prove the adapter against a real one.
 *
 * Offsets are JS numbers: exact up to 2^53, far beyond any real partition's offset.
 */

export interface SaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

export interface TlsOptions {
  /** PEM contents, not paths: the config layer reads the files. */
  ca?: string
  cert?: string
  key?: string
  /** Defaults to true; only tests against self-signed brokers turn it off. */
  rejectUnauthorized?: boolean
}

export interface ConnectionOptions {
  brokers: string[]
  clientId: string
  /** Upper bound for reaching the cluster at all; also the per-connection TCP timeout. */
  connectTimeoutMs: number
  requestTimeoutMs?: number
  tls?: TlsOptions | boolean
  sasl?: SaslOptions
}

export interface BrokerInfo {
  nodeId: number
  host: string
  port: number
}

export interface ClusterInfo {
  clusterId: string
  controller: number | null
  brokers: BrokerInfo[]
}

export interface PartitionInfo {
  partition: number
  /** -1 when the partition has no leader. */
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface TopicDescription {
  name: string
  /** Sorted by partition id. */
  partitions: PartitionInfo[]
}

export interface PartitionOffsets {
  partition: number
  /** Log start offset. */
  low: number
  /**
   * End offset as a read_committed consumer sees it (the last stable offset). With no open
   * transaction it equals the high watermark. Always read with a fresh ListOffsets request.
   */
  high: number
}

/** Classic group states as DescribeGroups reports them. */
export type GroupState = 'Stable' | 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Dead' | 'Unknown'

export interface GroupMember {
  memberId: string
  clientId: string
  clientHost: string
  /** Partitions assigned to this member, per topic (decoded consumer-protocol assignment). */
  assignment: Record<string, number[]>
}

export interface GroupDescription {
  groupId: string
  state: GroupState
  protocolType: string
  members: GroupMember[]
}

export interface CommittedOffset {
  partition: number
  /** -1 when the group has no committed offset for this partition. */
  offset: number
}

export interface PartitionAssignment {
  /** Broker ids holding the new partition's replicas, leader first. */
  replicas: number[]
}

export interface NewTopic {
  topic: string
  partitions: number
  replicationFactor?: number
  configs?: Record<string, string>
}

export interface KafkaCluster {
  readonly brokers: readonly string[]
  /** Fails with a KreorgError('connect'|'auth') naming the brokers within the connect timeout. */
  connect(): Promise<void>
  close(): Promise<void>

  describeCluster(): Promise<ClusterInfo>
  listTopics(): Promise<string[]>
  /** Throws KreorgError('topic-missing') when the topic does not exist. */
  describeTopic(topic: string): Promise<TopicDescription>
  /** The same, answered by one specific broker ("host:port"): verify-partitions asks every broker. */
  describeTopicOnBroker(broker: string, topic: string): Promise<TopicDescription>
  topicConfig(topic: string, names: string[]): Promise<Record<string, string | undefined>>
  /** Returns false when the topic already existed. */
  createTopic(spec: NewTopic): Promise<boolean>
  deleteTopics(topics: string[]): Promise<void>
  createPartitions(topic: string, totalCount: number, assignments?: PartitionAssignment[]): Promise<void>

  endOffsets(topic: string): Promise<PartitionOffsets[]>

  listGroupIds(): Promise<string[]>
  describeGroups(groupIds: string[]): Promise<GroupDescription[]>
  /** Committed offsets of one group on one topic, one entry per partition of the topic. */
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>
  /** Commits offsets for a group that has no active members (Kafka refuses otherwise). */
  commitOffsets(groupId: string, topic: string, offsets: CommittedOffset[]): Promise<void>

  // Least-privilege probes for preflight (src/kafka/acl.ts). Optional so fakes need not implement them;
  // a cluster without them gets "unverified" instead of a verdict.
  /** CreatePartitions with validateOnly: authorized like the real one (ALTER on the topic), changes nothing. */
  validateCreatePartitions?(topic: string, totalCount: number): Promise<void>
  /** CreateTopics with validateOnly: authorized like the real one (CREATE on the topic or cluster), changes nothing. */
  validateCreateTopic?(spec: NewTopic): Promise<void>
  /** ACL bindings whose pattern matches the resource (literal, prefixed, wildcard); needs DESCRIBE on the cluster. */
  describeAcls?(resource: AclResource): Promise<AclBinding[]>
}

export type AclResourceType = 'topic' | 'group' | 'cluster'
export type AclOperation =
  | 'all'
  | 'read'
  | 'write'
  | 'create'
  | 'delete'
  | 'alter'
  | 'describe'
  | 'cluster_action'
  | 'describe_configs'
  | 'alter_configs'
  | 'idempotent_write'
  | 'unknown'

export interface AclResource {
  type: AclResourceType
  name: string
}

export interface AclBinding {
  resourceType: AclResourceType | 'unknown'
  resourceName: string
  patternType: 'literal' | 'prefixed' | 'unknown'
  /** "User:alice", "User:*". */
  principal: string
  host: string
  operation: AclOperation
  permission: 'allow' | 'deny' | 'unknown'
}

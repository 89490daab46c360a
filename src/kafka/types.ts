/**
 * The Kafka surface kreorg needs, as an interface. Everything outside src/kafka takes a `KafkaCluster`
 * and never imports the client library, so steps can be reasoned about (and unit-tested with fakes
 * for pure logic) without a broker, while integration tests prove the adapter against a real one.
 *
 * Offsets are JS numbers: exact up to 2^53, far beyond any real partition's offset.
 */
import type {
  AbortMarkerResult,
  BatchProducerScan,
  ListedTransaction,
  PartitionProducers,
  TransactionDescription,
  TransactionFilter,
} from './writer-types.js'

export type * from './writer-types.js'

/** SASL with a username and a password. */
export interface PasswordSaslOptions {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

/** Where OAUTHBEARER tokens come from; each is fetched again before it expires (src/kafka/auth/oauthbearer.ts). */
export type OAuthTokenSource =
  /** A shell command whose stdout is the token. */
  | {kind: 'command'; command: string; timeoutMs: number}
  /** A file holding the token, read again on every refresh. */
  | {kind: 'file'; path: string}
  /** An OAuth 2.0 token endpoint, client-credentials grant, client authenticated with HTTP Basic. */
  | {kind: 'client-credentials'; endpoint: string; clientId: string; clientSecret: string; scope?: string; timeoutMs: number}

export interface OAuthBearerSaslOptions {
  mechanism: 'oauthbearer'
  token: OAuthTokenSource
}

/** Amazon MSK IAM access control (src/kafka/auth/msk-iam.ts). */
export interface AwsMskIamSaslOptions {
  mechanism: 'aws-msk-iam'
  /** The region signatures are scoped to. */
  region: string
  /** A profile of ~/.aws/credentials and ~/.aws/config; absent: the default credential chain. */
  awsProfile?: string
}

export type SaslOptions = PasswordSaslOptions | OAuthBearerSaslOptions | AwsMskIamSaslOptions

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
   * End offset, always read with a fresh ListOffsets request. Which end depends on the method:
   * `endOffsets` gives the last stable offset (what a read_committed consumer can reach; an open
   * transaction holds it back), `highWatermarks` the high watermark (every record, open transactions
   * included). With no open transaction they are equal.
   */
  high: number
}

/**
 * Group states. Classic groups (DescribeGroups): Stable, Empty, PreparingRebalance,
 * CompletingRebalance, Dead. KIP-848 consumer groups add Assigning and Reconciling (members still
 * converging on their target assignment); KIP-1071 streams groups add NotReady. Dead also stands for
 * a group that does not exist.
 */
export type GroupState =
  'Stable' | 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Assigning' | 'Reconciling' | 'NotReady' | 'Dead' | 'Unknown'

/**
 * Which group protocol a group runs: `classic` (JoinGroup/SyncGroup, every client before Kafka 4,
 * including classic Kafka Streams), `consumer` (KIP-848, `group.protocol=consumer`, described by
 * ConsumerGroupDescribe), `streams` (KIP-1071 Kafka Streams groups), `unknown` (the group does not
 * exist, or is a type kreorg does not read, e.g. a share group).
 */
export type GroupType = 'classic' | 'consumer' | 'streams' | 'unknown'

export interface GroupMember {
  memberId: string
  /** `group.instance.id` of a static member (KIP-345), null for a dynamic one. */
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  /** Partitions assigned to this member, per topic (consumer groups: what the member owns now). */
  assignment: Record<string, number[]>
  /**
   * Consumer (KIP-848) groups only: the assignment the coordinator wants this member to reach. It
   * equals `assignment` once the member has reconciled; until then the member may not own yet what
   * it is going to own.
   */
  targetAssignment?: Record<string, number[]>
  /** Consumer groups only: the member's epoch; below the group's `assignmentEpoch` while it reconciles. */
  memberEpoch?: number
}

export interface GroupDescription {
  groupId: string
  type: GroupType
  state: GroupState
  /**
   * Classic groups: the protocol type members joined with ('consumer' for consumers and Kafka
   * Streams, 'connect' for Connect workers, '' when unknown). Consumer groups: 'consumer'. Streams
   * groups: 'streams'.
   */
  protocolType: string
  /**
   * Classic groups: the chosen protocol, which for consumers is the assignor's name ('range',
   * 'cooperative-sticky'; 'stream' for a classic Kafka Streams application). Consumer groups: the
   * server-side assignor ('uniform', 'range'). '' when none.
   */
  assignor: string
  /** Consumer groups only: the group's epoch and the epoch of its current target assignment (equal once assigned). */
  groupEpoch?: number
  assignmentEpoch?: number
  /** Streams groups are listed but not described member by member: members is [] for them. */
  members: GroupMember[]
}

/** One group as ListGroups reports it: cheap, no members. */
export interface ListedGroup {
  groupId: string
  type: GroupType
  protocolType: string
  /** 'Unknown' when the brokers are too old to report states. */
  state: GroupState
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
  /** Several topics in one CreatePartitions request: the controller applies them together. */
  createPartitionsForTopics(
    requests: ReadonlyArray<{topic: string; totalCount: number; assignments?: PartitionAssignment[]}>,
  ): Promise<void>

  /**
   * Log start and last stable offset (LSO) per partition: what a read_committed consumer can reach.
   * An open transaction holds `high` back, so writes above it are invisible here: use it for lag of
   * read_committed consumers, never as proof that nothing was written (that is `highWatermarks`).
   */
  endOffsets(topic: string): Promise<PartitionOffsets[]>
  /**
   * Log start and high watermark per partition (ListOffsets, read_uncommitted): every record,
   * open and aborted transactions and control records included. The fence for "was anything written".
   */
  highWatermarks(topic: string): Promise<PartitionOffsets[]>

  /** Every group of type classic, consumer (KIP-848) or streams (KIP-1071), sorted. */
  listGroupIds(): Promise<string[]>
  /** The same groups with their type and state (ListGroups v5; older brokers: type 'classic', state 'Unknown'). */
  listGroups(): Promise<ListedGroup[]>
  /**
   * One description per id, in order: KIP-848 groups through ConsumerGroupDescribe (members with
   * assignment and target assignment), classic groups through DescribeGroups, KIP-1071 streams groups
   * by type and state only. An unknown id comes back as type 'unknown', state 'Dead', no members.
   */
  describeGroups(groupIds: string[]): Promise<GroupDescription[]>
  /** Committed offsets of one group on one topic, one entry per partition of the topic (any group type). */
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>
  /** Partition count of every topic, in one metadata request (co-partitioning checks compare them). */
  partitionCounts(): Promise<Map<string, number>>
  /** Of `topics`, those on which the group has a committed offset on some partition (one OffsetFetch for all). */
  committedTopics(groupId: string, topics: string[]): Promise<string[]>
  /**
   * Commits offsets for a group that has no active members (Kafka refuses otherwise). Checks the
   * group's type first: never joins a group to commit (kafkajs setOffsets would join a live KIP-848
   * group as a classic member), and refuses streams groups, whose members it cannot see.
   */
  commitOffsets(groupId: string, topic: string, offsets: CommittedOffset[]): Promise<void>

  // Writer inventory (KIP-664) and kreorg's abort markers.
  /** DescribeProducers on every partition (or the given ones), from each partition's leader; sorted by partition. */
  describeProducers(topic: string, partitions?: number[]): Promise<PartitionProducers[]>
  /** ListTransactions from every broker (each lists the transactions it coordinates). */
  listTransactions(filter?: TransactionFilter): Promise<ListedTransaction[]>
  /** DescribeTransactions through each id's transaction coordinator; ids Kafka does not know are left out. */
  describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]>
  /**
   * One ABORT control record on each partition and no data record: InitProducerId(transactionalId) →
   * AddPartitionsToTxn → EndTxn(abort). Consumers skip it but move past it (and Java consumers commit
   * past it). Returns once every marker is below the high watermark, with the producer id it carries
   * (kreorg's own: leave it out of the writer inventory) and each marker's offset. Needs WRITE on the
   * transactional id and on the topic.
   */
  writeAbortMarkers(topic: string, partitions: number[], transactionalId: string): Promise<AbortMarkerResult>
  /**
   * Producer id of the record batch holding `offset` (-1: a non-idempotent producer's batch); null
   * when no batch holds it (beyond the end, deleted by retention, or removed by compaction).
   */
  producerIdOfBatchAt(topic: string, partition: number, offset: number): Promise<number | null>
  /**
   * Per partition, the producer ids of the batches written in the last `sinceMs` (from the first
   * offset whose timestamp is at or after now - sinceMs, up to the high watermark), with counts and
   * last timestamps. Reads at most about `maxBytes` of the log, split evenly over the partitions, and
   * says where it was truncated.
   */
  scanRecentBatchProducers(topic: string, sinceMs: number, maxBytes: number): Promise<BatchProducerScan>

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

/**
 * Whether an existing control topic (and its 1.1 heartbeat topic) is configured the way the protocol
 * relies on. kreorg creates them right; a topic created by hand or by an older tool may not be, and
 * the failure it causes shows up much later (a lost command, a lease judged on skewed clocks).
 */
import type {KafkaCluster} from '../kafka/types.js'

import {CONTROL_TOPIC_CONFIG, heartbeatTopicOf} from './schema.js'

export type ControlTopicSetting =
  | 'cleanup.policy'
  | 'message.timestamp.type'
  | 'replication.factor'
  | 'min.insync.replicas'
  | 'min.compaction.lag.ms'
  | 'partitions'
  | 'retention.ms'

export interface ControlTopicProblem {
  topic: string
  setting: ControlTopicSetting
  found: string
  expected: string
  /** `error`: the protocol cannot be trusted (refuse); `warning`: works, with a risk worth fixing. */
  severity: 'error' | 'warning'
  /** What goes wrong with the setting as it is. */
  explanation: string
  /** The command that fixes it, when there is one. */
  fix?: string
}

/** The topic settings the check reads, plus the cluster size. */
export interface ControlTopicFacts {
  topic: string
  config: Record<string, string | undefined>
  partitions: number
  replicationFactor: number
  brokers: number
}

const alter = (topic: string, config: string) =>
  `kafka-configs --bootstrap-server <broker> --alter --entity-type topics --entity-name ${topic} --add-config ${config}`

/** Pure: judges one control topic's settings. */
export function judgeControlTopic(facts: ControlTopicFacts): ControlTopicProblem[] {
  const {topic, config} = facts
  const problems: ControlTopicProblem[] = []
  const policy = config['cleanup.policy'] ?? 'delete'
  if (
    !policy
      .split(',')
      .map((p) => p.trim())
      .includes('compact')
  ) {
    problems.push({
      topic,
      setting: 'cleanup.policy',
      found: policy,
      expected: 'compact',
      severity: 'error',
      explanation:
        'retention deletes old records: a command still in force (a pause, a pin) and the lease records disappear, so an agent that starts later writes unpinned to partitions consumers may not own yet',
      fix: alter(topic, 'cleanup.policy=compact'),
    })
  } else if (policy.includes('delete')) {
    problems.push({
      topic,
      setting: 'cleanup.policy',
      found: policy,
      expected: 'compact',
      severity: 'error',
      explanation: 'compact,delete still deletes by retention: a command in force and the lease records can disappear',
      fix: alter(topic, 'cleanup.policy=compact'),
    })
  }
  const timestampType = config['message.timestamp.type'] ?? 'CreateTime'
  if (timestampType !== 'LogAppendTime') {
    problems.push({
      topic,
      setting: 'message.timestamp.type',
      found: timestampType,
      expected: 'LogAppendTime',
      severity: 'error',
      explanation:
        "leases are judged on record timestamps: with CreateTime every writer's own clock decides who holds a topic, and a skewed host can take a lease that is still held",
      fix: alter(topic, 'message.timestamp.type=LogAppendTime'),
    })
  }
  const minInsync = Number(config['min.insync.replicas'] ?? 1)
  if (minInsync > facts.replicationFactor) {
    problems.push({
      topic,
      setting: 'min.insync.replicas',
      found: String(minInsync),
      expected: `at most the replication factor (${facts.replicationFactor})`,
      severity: 'error',
      explanation: 'records are written with acks=all: no pause, lease or ack can be written at all',
      fix: alter(topic, `min.insync.replicas=${Math.max(1, facts.replicationFactor - 1)}`),
    })
  } else if (facts.replicationFactor >= 3 && minInsync < 2) {
    problems.push({
      topic,
      setting: 'min.insync.replicas',
      found: String(minInsync),
      expected: '2',
      severity: 'warning',
      explanation:
        'an acks=all write is acknowledged by the leader alone when the other replicas fall behind: a broker failure then loses a command or a lease record that agents already acted on',
      fix: alter(topic, 'min.insync.replicas=2'),
    })
  }
  if (facts.brokers >= 3 && facts.replicationFactor < 3) {
    problems.push({
      topic,
      setting: 'replication.factor',
      found: String(facts.replicationFactor),
      expected: '3',
      severity: 'warning',
      explanation: `on a ${facts.brokers}-broker cluster, losing ${facts.replicationFactor === 1 ? 'the one broker holding it' : 'two brokers'} stops every pause, resume and lease renewal (agents then resume by themselves when leases lapse)`,
      fix: 'kafka-reassign-partitions with 3 replicas for the control topic',
    })
  }
  const lag = Number(config['min.compaction.lag.ms'] ?? 0)
  const wanted = Number(CONTROL_TOPIC_CONFIG['min.compaction.lag.ms'])
  if (policy.includes('compact') && lag < wanted) {
    problems.push({
      topic,
      setting: 'min.compaction.lag.ms',
      found: String(lag),
      expected: String(wanted),
      severity: 'warning',
      explanation:
        'lease decisions fold the recent history of lease records; compaction may remove a record a reader still needs, and readers can disagree on who holds a lease',
      fix: alter(topic, `min.compaction.lag.ms=${wanted}`),
    })
  }
  if (facts.partitions !== 1) {
    problems.push({
      topic,
      setting: 'partitions',
      found: String(facts.partitions),
      expected: '1',
      severity: 'error',
      explanation:
        'the protocol uses partition 0 only: one total order that every reader folds the same way; a topic with more partitions was not created by kreorg',
    })
  }
  return problems
}

/** Pure: judges the 1.1 heartbeat topic (only what breaks liveness; retention is a matter of size). */
export function judgeHeartbeatTopic(facts: ControlTopicFacts): ControlTopicProblem[] {
  const {topic, config} = facts
  const problems: ControlTopicProblem[] = []
  const timestampType = config['message.timestamp.type'] ?? 'CreateTime'
  if (timestampType !== 'LogAppendTime') {
    problems.push({
      topic,
      setting: 'message.timestamp.type',
      found: timestampType,
      expected: 'LogAppendTime',
      severity: 'warning',
      explanation:
        "liveness is judged on heartbeat timestamps: with CreateTime an agent host's clock skew makes it look dead (left out of the ack wait) or alive after it stopped",
      fix: alter(topic, 'message.timestamp.type=LogAppendTime'),
    })
  }
  const policy = config['cleanup.policy'] ?? 'delete'
  if (
    policy
      .split(',')
      .map((p) => p.trim())
      .includes('compact') &&
    !policy.includes('delete')
  ) {
    problems.push({
      topic,
      setting: 'cleanup.policy',
      found: policy,
      expected: 'delete',
      severity: 'warning',
      explanation:
        'heartbeats accumulate (one record per agent every few seconds): a compacted heartbeat topic keeps every agent that ever ran',
      fix: alter(topic, 'cleanup.policy=delete'),
    })
  }
  return problems
}

/** Reads the control topic's (and its heartbeat topic's) settings; a missing topic has no problems (kreorg creates it right). */
export async function checkControlTopicConfig(
  cluster: Pick<KafkaCluster, 'listTopics' | 'topicConfig' | 'describeTopic' | 'describeCluster'>,
  controlTopic: string,
): Promise<ControlTopicProblem[]> {
  const names = ['cleanup.policy', 'message.timestamp.type', 'min.insync.replicas', 'min.compaction.lag.ms', 'retention.ms']
  const topics = new Set(await cluster.listTopics())
  const brokers = (await cluster.describeCluster()).brokers.length
  const facts = async (topic: string): Promise<ControlTopicFacts> => {
    const [config, description] = await Promise.all([cluster.topicConfig(topic, names), cluster.describeTopic(topic)])
    return {
      topic,
      config,
      partitions: description.partitions.length,
      replicationFactor: Math.max(0, ...description.partitions.map((p) => p.replicas.length)),
      brokers,
    }
  }
  const problems: ControlTopicProblem[] = []
  if (topics.has(controlTopic)) problems.push(...judgeControlTopic(await facts(controlTopic)))
  const heartbeatTopic = heartbeatTopicOf(controlTopic)
  if (topics.has(heartbeatTopic)) problems.push(...judgeHeartbeatTopic(await facts(heartbeatTopic)))
  return problems
}

/** One line per problem: the setting, what was found, why it matters, the fix. */
export function describeControlTopicProblem(problem: ControlTopicProblem): string {
  return `${problem.topic}: ${problem.setting}=${problem.found} (expected ${problem.expected}): ${problem.explanation}${problem.fix ? ` (fix: ${problem.fix})` : ''}`
}

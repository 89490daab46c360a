import type {GroupDescription} from '../../kafka/types.js'

/**
 * What `plan` judges before anything changes: agents (capabilities, partitioners, none at all) and
 * consumer groups (Kafka Streams, static members, trusted groups). Pure functions over what was read.
 */
import {PREDICTABLE_PARTITIONERS} from '../../kafka/partitioners.js'
import {type AgentView, REQUIRED_CAPABILITIES} from './control-port.js'

export interface Findings {
  blockers: string[]
  warnings: string[]
}

export function agentFindings(topic: string, agents: AgentView[], options: {noProducers: boolean; connectors?: number}): Findings {
  const findings: Findings = {blockers: [], warnings: []}
  // Kafka Connect source connectors that kreorg pauses are producers too.
  if (agents.length === 0 && (options.connectors ?? 0) === 0) {
    if (options.noProducers) {
      findings.warnings.push(
        `--no-producers: no agent writes to ${topic}; the writer inventory and the high-watermark fence stop the run if anything does`,
      )
    } else {
      findings.blockers.push(
        `no producer agents are registered for ${topic}: kreorg cannot pin or pause its producers; wrap every producer with a kreorg agent, or pass --no-producers if nothing writes to the topic`,
      )
    }
  }
  for (const agent of agents) {
    if (agent.capabilities === undefined) {
      findings.blockers.push(
        `agent ${agent.agentId} (${agent.host}) advertises no capabilities (older than control protocol 1.1): it cannot be pinned; upgrade it`,
      )
    } else {
      const missing = REQUIRED_CAPABILITIES.filter((c) => !agent.capabilities!.includes(c))
      if (missing.length > 0)
        findings.blockers.push(
          `agent ${agent.agentId} (${agent.host}) lacks capabilities ${missing.join(', ')} that grow needs; upgrade it`,
        )
    }
    const partitioner = agent.partitioner ?? 'unknown'
    if (!PREDICTABLE_PARTITIONERS.includes(partitioner)) {
      findings.blockers.push(
        `agent ${agent.agentId} (${agent.host}) uses partitioner "${partitioner}", which kreorg cannot predict: the new key mapping could not be verified; use murmur2, consistent(_random), fnv1a or kafkajs legacy`,
      )
    }
  }
  return findings
}

const STREAMS_INTERNAL = /-(changelog|repartition)$/

/** Why a group looks like a Kafka Streams application, or undefined. */
export function streamsEvidence(group: GroupDescription, topics: readonly string[]): string | undefined {
  if (group.type === 'streams') return 'a KIP-1071 streams group'
  if (group.assignor === 'stream' || group.protocolType === 'streams') return `assignor "${group.assignor || group.protocolType}"`
  const internal = topics.find((t) => t.startsWith(`${group.groupId}-`) && STREAMS_INTERNAL.test(t))
  return internal ? `internal topic ${internal}` : undefined
}

export function groupFindings(
  topic: string,
  groups: GroupDescription[],
  topics: readonly string[],
  options: {allowStreams: boolean; trustGroups: readonly string[]; ignoreGroups: readonly string[]},
): Findings {
  const findings: Findings = {blockers: [], warnings: []}
  const streamsWhy =
    'state of moved keys stays in the old task, so a stateful app sees wrong state after a grow; stop the application and reset it (kafka-streams-application-reset) instead'
  if (STREAMS_INTERNAL.test(topic)) {
    const line = `${topic} is a Kafka Streams internal topic: ${streamsWhy}`
    if (options.allowStreams) findings.warnings.push(`${line} (--allow-streams)`)
    else findings.blockers.push(`${line}; --allow-streams overrides`)
  }
  for (const group of groups.filter((g) => !options.ignoreGroups.includes(g.groupId))) {
    const evidence = streamsEvidence(group, topics)
    if (evidence) {
      const line = `group ${group.groupId} is a Kafka Streams application (${evidence}): ${streamsWhy}`
      if (options.allowStreams) findings.warnings.push(`${line} (--allow-streams)`)
      else findings.blockers.push(`${line}; --allow-streams overrides`)
    }
    const statics = group.members.filter((m) => m.groupInstanceId !== null)
    if (statics.length > 0) {
      findings.warnings.push(
        `group ${group.groupId} has static members ${statics.map((m) => `${m.groupInstanceId} (${(m.assignment[topic] ?? []).join(',') || 'no partitions'})`).join(', ')}: an offline static member keeps its partitions until session.timeout.ms, so prime-consumers waits for it; the operator decides (start it, or --trust-group ${group.groupId})`,
      )
    }
  }
  for (const trusted of options.trustGroups) {
    if (!groups.some((g) => g.groupId === trusted)) findings.warnings.push(`--trust-group ${trusted}: no such group consumes ${topic}`)
    else
      findings.warnings.push(
        `--trust-group ${trusted}: its assignment of the new partitions counts as proof that it reads them from offset 0 (it never commits on empty partitions)`,
      )
  }
  findings.warnings.push(
    `consumers without a group (assign(): Flink, Spark, MirrorMaker 2) are invisible to kreorg: they never read the new partitions until reconfigured; consumers with auto.offset.reset=none fail on a new partition unless their group was primed`,
  )
  return findings
}

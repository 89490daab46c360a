/**
 * Control topic protocol, version 1 with the 1.1 additions (pin, fencing epochs, heartbeat topic and
 * fields; docs/control-protocol.md): record keys and value schemas. Both sides (orchestrator and
 * agent) validate every record with these schemas, so a producer written in another language that
 * follows docs/control-protocol.md is held to exactly the same rules.
 *
 * Schemas are non-strict on purpose: a later minor revision may add fields, and a v1 reader must
 * ignore fields it does not know (see "Compatibility" in the doc).
 */
import {z} from 'zod'

export const PROTOCOL_VERSION = 1
export const DEFAULT_CONTROL_TOPIC = 'kreorg-control'

/** Keys are `kind/...`; topic names cannot contain '/', agent ids are restricted below so keys parse unambiguously. */
export const keys = {
  cmd: (topic: string) => `cmd/${topic}`,
  lease: (topic: string) => `lease/${topic}`,
  ack: (topic: string, agentId: string) => `ack/${topic}/${agentId}`,
  agent: (agentId: string) => `agent/${agentId}`,
}

export type ParsedKey =
  | {kind: 'cmd'; topic: string}
  | {kind: 'lease'; topic: string}
  | {kind: 'ack'; topic: string; agentId: string}
  | {kind: 'agent'; agentId: string}

export function parseKey(key: string): ParsedKey | undefined {
  const parts = key.split('/')
  const [kind, a, b] = parts
  if (kind === 'cmd' && parts.length === 2 && a) return {kind, topic: a}
  if (kind === 'lease' && parts.length === 2 && a) return {kind, topic: a}
  if (kind === 'ack' && parts.length === 3 && a && b) return {kind, topic: a, agentId: b}
  if (kind === 'agent' && parts.length === 2 && a) return {kind, agentId: a}
  return undefined
}

const topicName = z.string().regex(/^[a-zA-Z0-9._-]{1,249}$/, 'not a Kafka topic name')
export const agentIdSchema = z.string().regex(/^[a-zA-Z0-9._:-]{1,200}$/, 'agent ids use [a-zA-Z0-9._:-]')
const runId = z.string().min(1).max(200)
const millis = z.number().int().nonnegative()

const base = {
  v: z.literal(PROTOCOL_VERSION),
  /** HMAC-SHA256 signature, see src/control/codec.ts; required by readers that hold a secret. */
  sig: z.string().optional(),
}

/** `lease/<topic>`: claim, renew and release records; every record is self-contained (compaction keeps only the last). */
export const leaseRecordSchema = z.object({
  ...base,
  type: z.literal('lease'),
  op: z.enum(['claim', 'renew', 'release']),
  topic: topicName,
  runId,
  host: z.string().max(255),
  pid: z.number().int(),
  /** The lease lasts this long after the record's (broker) timestamp. */
  leaseMs: millis,
  /**
   * 1.1 fencing token of the run's attempt: a claim/renew with an epoch below the latest granted
   * claim of the same run is refused, so an orchestrator that slept through a later attempt loses it.
   */
  epoch: z.number().int().nonnegative().optional(),
  at: millis,
})
export type LeaseRecord = z.infer<typeof leaseRecordSchema>

export const commandActions = ['pause', 'refresh', 'resume', 'pin'] as const
export type CommandAction = (typeof commandActions)[number]

/** `cmd/<topic>`: the current command for a topic; the latest record is the one in force. */
export const commandSchema = z.object({
  ...base,
  type: z.literal('cmd'),
  action: z.enum(commandActions),
  topic: topicName,
  runId,
  epoch: z.number().int().nonnegative(),
  /** Wall-clock ms; agents resume by themselves when the lease lapses (renewals extend it, see lease records). */
  leaseExpiresAt: millis.optional(),
  /** refresh/resume: the partition count the agent must see before acking. */
  targetPartitions: z.number().int().positive().optional(),
  /** refresh/resume: keys whose partition the agent reports, computed with its producer's partitioner. */
  canaryKeys: z.array(z.string().max(1024)).max(1000).optional(),
  /**
   * pin/pause/refresh (and a resume without targetPartitions, for agents that start later): the
   * partition count producers keep partitioning with until a `resume` with targetPartitions — also
   * after the lease lapses — so partitions added meanwhile are never written before consumers own
   * them and drained groups re-drain first.
   */
  pinPartitions: z.number().int().positive().optional(),
  at: millis,
})
export type Command = z.infer<typeof commandSchema>

export const ackStates = ['paused', 'refreshed', 'resumed', 'pinned'] as const
export type AckState = (typeof ackStates)[number]

/** `ack/<topic>/<agentId>`: the agent's answer to the latest command it applied. */
export const ackSchema = z.object({
  ...base,
  type: z.literal('ack'),
  topic: topicName,
  agentId: agentIdSchema,
  state: z.enum(ackStates),
  runId,
  epoch: z.number().int().nonnegative(),
  /** Partition count the agent's producer uses for this topic right now (a pinned ack: the pinned count). */
  partitionCount: z.number().int().nonnegative(),
  /** canary key -> partition, from the producer's own partitioner with `partitionCount`. */
  canary: z.record(z.string(), z.number().int().nonnegative()).optional(),
  partitioner: z.string().max(100).optional(),
  /** Set when the agent could not fully do what the command asked (e.g. it still sees fewer partitions than the target). */
  warning: z.string().max(2000).optional(),
  at: millis,
})
export type Ack = z.infer<typeof ackSchema>

export const agentTopicStateSchema = z.object({
  state: z.enum(['starting', 'running', 'paused']),
  runId: z.string().optional(),
  epoch: z.number().int().optional(),
  partitionCount: z.number().int().nonnegative().optional(),
  /** Set while a pause/refresh pinned the producer to this partition count (until a resume). */
  pinnedPartitions: z.number().int().positive().optional(),
  buffered: z.number().int().nonnegative().optional(),
})
export type AgentTopicState = z.infer<typeof agentTopicStateSchema>

/** 1.1: what an agent implements, advertised in its heartbeats; kreorg refuses agents lacking one a run needs. */
export const AGENT_CAPABILITIES = ['pause', 'pin', 'refresh', 'canary', 'fence', 'txn'] as const
export type AgentCapability = (typeof AGENT_CAPABILITIES)[number]

/** 1.1: the offset of the agent's latest write to a topic; the batch there names its producer id. */
export const lastWriteSchema = z.object({partition: z.number().int().nonnegative(), offset: z.number().int().nonnegative()})
export type LastWrite = z.infer<typeof lastWriteSchema>

/** `agent/<agentId>`: heartbeat; a tombstone (null value) means the agent stopped cleanly. */
export const heartbeatSchema = z.object({
  ...base,
  type: z.literal('agent'),
  agentId: agentIdSchema,
  host: z.string().max(255),
  pid: z.number().int(),
  clientId: z.string().max(255).optional(),
  topics: z.array(topicName).max(10_000),
  version: z.string().max(50),
  partitioner: z.string().max(100),
  heartbeatMs: millis,
  startedAt: millis,
  states: z.record(z.string(), agentTopicStateSchema),
  // Protocol 1.1 (section B): all optional, so v1 heartbeats still decode.
  /** What the agent implements (AGENT_CAPABILITIES; unknown names are kept and ignored). */
  capabilities: z.array(z.string().max(100)).max(100).optional(),
  /** kafkajs | java | python | other. */
  language: z.string().max(50).optional(),
  /** The idempotent/transactional producer id; -1 or absent when unknown or non-idempotent. */
  producerId: z.number().int().optional(),
  /** Whether the producer is idempotent, when the agent can tell. */
  idempotent: z.boolean().optional(),
  lastWrite: z.record(z.string(), lastWriteSchema).optional(),
  at: millis,
})
export type Heartbeat = z.infer<typeof heartbeatSchema>

export type ControlMessage = LeaseRecord | Command | Ack | Heartbeat

/** Schema for a key kind: the record's `type` must match its key, or it is rejected. */
export function schemaForKey(key: ParsedKey): z.ZodType<ControlMessage> {
  switch (key.kind) {
    case 'cmd': {
      return commandSchema
    }
    case 'lease': {
      return leaseRecordSchema
    }
    case 'ack': {
      return ackSchema
    }
    case 'agent': {
      return heartbeatSchema
    }
  }
}

/** Topic settings the orchestrator creates the control topic with (see the doc for why each). */
export const CONTROL_TOPIC_CONFIG: Record<string, string> = {
  'cleanup.policy': 'compact',
  // Lease decisions fold the recent history of `lease/<topic>`; compaction must not drop records a
  // fold still needs, i.e. anything younger than the longest lease (capped at MAX_LEASE_MS).
  'min.compaction.lag.ms': String(24 * 60 * 60 * 1000),
  // One clock for lease arithmetic: the broker's, not each writer's.
  'message.timestamp.type': 'LogAppendTime',
}

/** 1.1: heartbeats live on their own short-retention topic, next to the control topic. */
export function heartbeatTopicOf(controlTopic: string): string {
  return `${controlTopic}-heartbeats`
}

/** Topic settings of `<controlTopic>-heartbeats` (PROTOCOL 1.1, section A). */
export const HEARTBEAT_TOPIC_CONFIG: Record<string, string> = {
  // Heartbeats are only worth their last few minutes: retention keeps the topic small, unlike compaction with a 24 h lag.
  'cleanup.policy': 'delete',
  'retention.ms': String(60 * 60 * 1000),
  // Liveness is judged on the broker's clock.
  'message.timestamp.type': 'LogAppendTime',
}

/** How far back heartbeat readers start (ListOffsets by timestamp): a few heartbeat intervals of every live agent. */
export const HEARTBEAT_LOOKBACK_MS = 120_000

export const MAX_LEASE_MS = 12 * 60 * 60 * 1000

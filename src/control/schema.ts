/**
 * Control topic protocol, version 1: record keys and value schemas. Both sides (orchestrator and
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
  at: millis,
})
export type LeaseRecord = z.infer<typeof leaseRecordSchema>

export const commandActions = ['pause', 'refresh', 'resume'] as const
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
   * pause/refresh: the partition count producers keep partitioning with until a `resume` — also after
   * the lease lapses and they resume by themselves — so partitions added under a pause are never
   * written before consumers own them and drained groups re-drain first.
   */
  pinPartitions: z.number().int().positive().optional(),
  at: millis,
})
export type Command = z.infer<typeof commandSchema>

export const ackStates = ['paused', 'refreshed', 'resumed'] as const
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
  /** Partition count the agent's producer uses for this topic right now. */
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
  at: millis,
})
export type Heartbeat = z.infer<typeof heartbeatSchema>

export type ControlMessage = LeaseRecord | Command | Ack | Heartbeat

/** Schema for a key kind: the record's `type` must match its key, or it is rejected. */
export function schemaForKey(key: ParsedKey): z.ZodType<ControlMessage> {
  switch (key.kind) {
    case 'cmd':
      return commandSchema
    case 'lease':
      return leaseRecordSchema
    case 'ack':
      return ackSchema
    case 'agent':
      return heartbeatSchema
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

export const MAX_LEASE_MS = 12 * 60 * 60 * 1000

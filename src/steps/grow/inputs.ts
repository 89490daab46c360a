import {z} from 'zod'

import {connectUrlSchema} from '../../connect/schema.js'
import {KreorgError} from '../../core/errors.js'

const durationMs = z.number().finite().nonnegative()

/**
 * What `kreorg grow` was asked to do. Stored in the checkpoint (no secrets here) and parsed twice:
 * when the command starts a run and when a checkpoint is read back for resume or abort, so a hand-edited
 * or damaged checkpoint is refused before anything is touched.
 */
// Keys in the order the command builds them, so a checkpoint's inputs read the same as before parsing.
const growTargetSchema = z.object({topic: z.string().min(1), to: z.number().int().min(2)})

export const growInputsSchema = z.object({
  /** The first topic of the set (the only one for a single-topic run). */
  topic: z.string().min(1),
  to: z.number().int().min(2),
  /**
   * Several topics grown in one pause (issue 16): every topic with its target, the first being
   * `topic`/`to`. Absent for a single-topic run, so its checkpoint reads as before.
   */
  targets: z.array(growTargetSchema).min(2).optional(),
  /** Explicit groups to drain; undefined = every group with offsets on the topic. */
  groups: z.array(z.string().min(1)).optional(),
  ignoreGroups: z.array(z.string()),
  drainTimeoutMs: durationMs,
  ackTimeoutMs: durationMs,
  quietPeriodMs: durationMs,
  leaseMs: durationMs,
  /** How long prime-consumers waits for every group's position on the new partitions (`--prime-timeout`). */
  pickupTimeoutMs: durationMs,
  /** Groups whose assignment covering the new partitions counts as proof (`--trust-group`). */
  trustGroups: z.array(z.string().min(1)),
  /** Producers that wrote within this window count as active writers (`--writer-lookback`). */
  writerLookbackMs: durationMs,
  /** How far back batches are scanned for non-idempotent writers (`--writer-scan`). */
  writerScanMs: durationMs,
  /** Producer ids known to be dead (`--ignore-producer`). */
  ignoreProducers: z.array(z.number().int()),
  /** -1 batches (non-idempotent writes) are accepted when an agent itself is not idempotent. */
  allowNonIdempotent: z.boolean(),
  /** The topic has no producers: a run with zero agents is allowed. */
  noProducers: z.boolean(),
  /** Kafka Streams applications consume the topic and the operator accepts the risk. */
  allowStreams: z.boolean(),
  /** How long post-check waits for records written after resume. */
  postCheckWindowMs: durationMs,
  /** Replica broker ids per new partition (from --replica-assignment), in partition order. */
  replicaAssignment: z.array(z.array(z.number().int().nonnegative()).min(1)).optional(),
  controlTopic: z.string().min(1),
  /** Kafka Connect REST URLs (--connect-url): never with userinfo; credentials come from KREORG_CONNECT_URLS at run time. */
  connectUrls: z.array(connectUrlSchema).optional(),
  /** Name of the environment variable holding the control-topic signing secret (the secret itself is never stored). */
  controlSecretEnv: z.string(),
  samplePerPartition: z.number().int().nonnegative(),
  host: z.string(),
})

export type GrowInputs = z.infer<typeof growInputsSchema>
export type GrowTarget = z.infer<typeof growTargetSchema>

/** Every topic the run grows, with its target: `targets`, or the one `topic`/`to`. */
export function growTargets(inputs: Pick<GrowInputs, 'topic' | 'to' | 'targets'>): GrowTarget[] {
  return inputs.targets ?? [{topic: inputs.topic, to: inputs.to}]
}

/** The runbook's `parseInputs`: the first problem, by field, as one line. */
export function parseGrowInputs(raw: unknown): GrowInputs {
  const parsed = growInputsSchema.safeParse(raw)
  if (parsed.success) {
    const {targets} = parsed.data
    if (targets) {
      if (targets[0]!.topic !== parsed.data.topic || targets[0]!.to !== parsed.data.to)
        throw new KreorgError('usage', 'grow inputs are invalid (targets: the first target must be topic/to)')
      const seen = new Set<string>()
      for (const {topic} of targets) {
        if (seen.has(topic)) throw new KreorgError('usage', `${topic} is named twice; name each topic once`)
        seen.add(topic)
      }
    }
    return parsed.data
  }
  const issue = parsed.error.issues[0]
  const where = issue ? `${issue.path.join('.') || '(inputs)'}: ${issue.message}` : 'invalid'
  throw new KreorgError('usage', `grow inputs are invalid (${where})`)
}

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
export const growInputsSchema = z.object({
  topic: z.string().min(1),
  to: z.number().int().min(2),
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

/** The runbook's `parseInputs`: the first problem, by field, as one line. */
export function parseGrowInputs(raw: unknown): GrowInputs {
  const parsed = growInputsSchema.safeParse(raw)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const where = issue ? `${issue.path.join('.') || '(inputs)'}: ${issue.message}` : 'invalid'
  throw new KreorgError('usage', `grow inputs are invalid (${where})`)
}

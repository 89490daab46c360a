import {Errors, Flags} from '@oclif/core'

import type {KafkaCluster} from '../kafka/types.js'

export type SampleSize = number | 'all'

/** `--sample 5000` (records per partition, the most recent) or `--sample all` (the whole topic). */
export const sampleFlag = Flags.custom<SampleSize>({
  async parse(input) {
    const value = input.trim()
    if (value.toLowerCase() === 'all') return 'all'
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
      // oclif keeps the exit code of a flag's parse error: a bad value is a usage error (2).
      throw new Errors.CLIError(`expected a positive whole number of records per partition, or all (got "${input}")`, {exit: 2})
    }
    return n
  },
  helpValue: '<count>|all',
})

/**
 * Records per partition to read. `all`: as many as the largest partition holds right now, so every
 * partition is read from its log start up to the end offsets the sampler sees.
 */
export async function recordsPerPartition(cluster: KafkaCluster, topic: string, size: SampleSize): Promise<number> {
  if (size !== 'all') return size
  const offsets = await cluster.endOffsets(topic)
  return Math.max(1, ...offsets.map((o) => o.high - o.low))
}

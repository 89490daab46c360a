import type {KafkaCluster} from '../../kafka/types.js'
import type {Checkpoint} from '../../runbook/checkpoint.js'

import {KreorgError} from '../../core/errors.js'
import {growTargets, parseGrowInputs} from './inputs.js'

/**
 * `kreorg abort` of a grow run re-reads the live partition count first. When the topic already has
 * more partitions than the run started with but add-partitions is not recorded as done (the alter
 * landed, then the run died), undoing pin-producers would lift the pin before any group's position
 * on the new partitions is proven: refuse (exit 7) and point to resume, leaving the checkpoint as it is.
 * With add-partitions recorded the engine already finishes the run instead of undoing it.
 */
export async function growAbortRefusal(checkpoint: Checkpoint, cluster: KafkaCluster): Promise<KreorgError | undefined> {
  if (checkpoint.runbook.name !== 'grow' || checkpoint.status === 'done' || checkpoint.status === 'aborted') return undefined
  if (checkpoint.steps.some((s) => s.id === 'add-partitions' && s.state === 'done')) return undefined
  const preflight = checkpoint.steps.find((s) => s.id === 'preflight' && s.state === 'done')?.result as
    {partitions?: unknown; byTopic?: Record<string, {partitions?: unknown}>} | null | undefined
  for (const {topic} of growTargets(parseGrowInputs(checkpoint.inputs))) {
    const started = (preflight?.byTopic?.[topic] ?? preflight)?.partitions
    if (typeof started !== 'number') continue
    const live = (await cluster.describeTopic(topic)).partitions.length
    if (live <= started) continue
    return new KreorgError(
      'incomplete',
      `run ${checkpoint.runId} cannot be aborted: ${topic} already has ${live} partitions (it started with ${started}), so its producers stay pinned to ${started} until every group's position on the new partitions is proven`,
      {suggestions: [`kreorg resume ${checkpoint.runId} finishes the run (prime, pause, drain, resume with ${live} partitions)`]},
    )
  }
  return undefined
}

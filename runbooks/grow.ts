/**
 * `kreorg grow`: the drain-first runbook as data. Step ids are stable — checkpoints and `--json`
 * events use them — so renaming one is a breaking change (the runbook hash changes and old
 * checkpoints are refused on resume).
 */
import type {Runbook, Step} from '../src/runbook/types.js'
import type {GrowInputs, GrowServices} from '../src/steps/grow/context.js'
import {openGrowServices, type GrowEnvironment} from '../src/steps/grow/services.js'
import {preflight, releaseLease} from '../src/steps/grow/preflight.js'
import {planStep} from '../src/steps/grow/plan-step.js'
import {pauseProducers, resumeProducers} from '../src/steps/grow/producers.js'
import {drain, quiesce} from '../src/steps/grow/drain.js'
import {addPartitions, alreadyGrown, primeConsumers, verifyPartitions} from '../src/steps/grow/partitions.js'
import {postCheck, verifyMapping} from '../src/steps/grow/mapping.js'
import {revalidateGrow, undoBeforeAlter} from '../src/steps/grow/recovery.js'

type GrowStep = Step<GrowInputs, GrowServices>

const steps: GrowStep[] = [
  {id: 'preflight', title: 'Preflight: topic, target, health, lease', run: preflight, undo: releaseLease},
  {id: 'plan', title: 'Plan: groups, lag, agents, keys that move', run: planStep},
  {
    id: 'pause-producers',
    title: 'Pause producers and collect acks',
    run: pauseProducers,
    undo: async (ctx) => {
      await resumeProducers(ctx)
    },
  },
  {id: 'quiesce', title: 'Quiesce: end offsets stand still', run: quiesce},
  {id: 'drain', title: 'Drain every consumer group', run: drain},
  {
    id: 'add-partitions',
    title: 'Add partitions',
    run: addPartitions,
    check: alreadyGrown,
    irreversible: 'Kafka cannot remove partitions: the topic keeps the new count. Abort finishes the forward path instead: it resumes the producers with the new layout.',
  },
  {id: 'verify-partitions', title: 'Verify the new partitions on every broker', run: verifyPartitions},
  {id: 'prime-consumers', title: 'Prime consumer groups on the new partitions', run: primeConsumers},
  {id: 'verify-mapping', title: 'Verify producer key mapping with canary keys', run: verifyMapping},
  {
    id: 'resume-producers',
    title: 'Resume producers with the new partition count',
    run: (ctx) => resumeProducers(ctx, ctx.inputs.to),
  },
  {id: 'post-check', title: 'Post-check new records and release the lease', run: postCheck},
]

export const growRunbook: Runbook<GrowInputs, GrowServices> = {
  name: 'grow',
  version: 1,
  steps,
  lockKey: (inputs) => inputs.topic,
  describe: (inputs) => `grow ${inputs.topic} to ${inputs.to} partitions`,
  setup: (inputs, env: GrowEnvironment) => openGrowServices(inputs, env),
  revalidate: revalidateGrow,
  onFailure: undoBeforeAlter,
}

export default growRunbook

/**
 * `kreorg grow`: the pin-first runbook (version 2) as data. Step ids are stable — checkpoints and `--json`
 * events use them — so renaming one is a breaking change (the runbook hash changes and old
 * checkpoints are refused on resume).
 */
import type {DeclaredStep, Runbook, RunEnvironment} from '../src/runbook/types.js'
import type {GrowInputs, GrowResults, GrowServices} from '../src/steps/grow/context.js'

import {connectSummary, pinWithConnect, unpinWithConnect} from '../src/steps/connect/steps.js'
import {recoverTopicsWithConnect, resumeTopicsWithConnect} from '../src/steps/connect/topic-set.js'
import {drain, quiesce} from '../src/steps/grow/drain.js'
import {afterAlter} from '../src/steps/grow/incomplete.js'
import {growTargets, parseGrowInputs} from '../src/steps/grow/inputs.js'
import {postCheck, verifyMapping} from '../src/steps/grow/mapping.js'
import {addPartitions, alreadyGrown, verifyPartitions} from '../src/steps/grow/partitions.js'
import {planStep} from '../src/steps/grow/plan-step.js'
import {preflightTopics, releaseLease} from '../src/steps/grow/preflight.js'
import {primeConsumers} from '../src/steps/grow/prime.js'
import {pauseProducers, pinProducers, resumeProducers, unpinProducers} from '../src/steps/grow/producers.js'
import {revalidateGrow, undoBeforeAlter} from '../src/steps/grow/recovery.js'
import {type GrowEnvironment, openGrowServices} from '../src/steps/grow/services.js'
import {eachTopic, eachTopicUndo} from '../src/steps/grow/topic-set.js'

/** Each step's id names its result type in GrowResults. */
type GrowStep = DeclaredStep<GrowInputs, GrowServices, GrowResults>

/**
 * Pin first (issues 13 and 14): producers keep writing, pinned to the old count, while the partitions
 * are added and every group's position on them is proven; only then a short pause, drain and resume
 * with the new count. Every failure after add-partitions exits 7 (`afterAlter`).
 */
const steps: GrowStep[] = [
  {
    id: 'preflight',
    title: 'Preflight: topic, target, health, control topic, lease',
    run: preflightTopics,
    undo: eachTopicUndo(releaseLease),
  },
  {id: 'plan', title: 'Plan: groups, writers, agents, keys that move', run: planStep},
  {
    id: 'pin-producers',
    title: 'Pin producers to the current partition count (they keep writing)',
    // Per topic: its Kafka Connect source connectors paused first (--connect-url), then its agents pinned.
    run: eachTopic(pinWithConnect(pinProducers)),
    undo: eachTopicUndo(unpinWithConnect(unpinProducers)),
  },
  {
    id: 'add-partitions',
    title: 'Check writers again and add partitions',
    run: addPartitions,
    check: alreadyGrown,
    irreversible:
      'Kafka cannot remove partitions: the topic keeps the new count, and producers stay pinned to the old one. Abort finishes the forward path instead: prime, pause, drain, resume with the new layout.',
  },
  {id: 'verify-partitions', title: 'Verify the new partitions on every broker', run: afterAlter(eachTopic(verifyPartitions))},
  // Topic by topic: the marker producer of the run is one transactional id.
  {
    id: 'prime-consumers',
    title: 'Prove every group’s position on the new partitions (producers pinned)',
    run: afterAlter(eachTopic(primeConsumers)),
  },
  {id: 'pause-producers', title: 'Pause producers (the blackout starts)', run: afterAlter(eachTopic(pauseProducers))},
  // Several topics drain at once: the blackout is the slowest topic's drain, not their sum.
  {id: 'quiesce', title: 'Snapshot high watermarks', run: afterAlter(eachTopic(quiesce, {parallel: true}))},
  {
    id: 'drain',
    title: 'Drain every consumer group (quiet window, no open transaction)',
    run: afterAlter(eachTopic(drain, {parallel: true})),
  },
  {id: 'verify-mapping', title: 'Verify producer key mapping with canary keys', run: afterAlter(eachTopic(verifyMapping))},
  {
    id: 'resume-producers',
    title: 'Check the fence and resume producers with the new count',
    run: afterAlter(resumeTopicsWithConnect(resumeProducers)),
  },
  {id: 'post-check', title: 'Post-check new records and release the lease', run: afterAlter(eachTopic(postCheck, {parallel: true}))},
]

export const growRunbook: Runbook<GrowInputs, GrowServices, RunEnvironment, GrowResults> = {
  name: 'grow',
  version: 2,
  steps,
  lockKey: (inputs) =>
    growTargets(inputs)
      .map((t) => t.topic)
      .join('+'),
  // One local lock per topic: a single-topic run of one of them waits for this run.
  lockKeys: (inputs) => growTargets(inputs).map((t) => t.topic),
  describe: (inputs) =>
    inputs.targets
      ? `grow ${inputs.targets.map((t) => `${t.topic} to ${t.to}`).join(', ')} partitions`
      : `grow ${inputs.topic} to ${inputs.to} partitions`,
  parseInputs: parseGrowInputs,
  setup: (inputs, env: GrowEnvironment) => openGrowServices(inputs, env),
  revalidate: revalidateGrow,
  onFailure: recoverTopicsWithConnect(undoBeforeAlter),
  // run:done carries the post-check summary: timings, what to watch and the declared counts to update.
  summarize: (results) => connectSummary(results['post-check'], results['resume-producers']),
}

export default growRunbook

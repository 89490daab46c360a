import type {ControlChannelPort} from '../../control/port.js'
import type {ConnectionOptions} from '../../kafka/types.js'
import type {GrowSummary, PerTopic} from './results.js'

import {ControlChannel} from '../../control/channel.js'
import {KreorgError} from '../../core/errors.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {type GrowInputs, type GrowTarget, growTargets} from './inputs.js'
import {declaredCountLines} from './mapping.js'
import {growControlSecret} from './services.js'
import {unfinishedGrowRun} from './unfinished.js'

/**
 * `grow --to N` on a topic that already has N partitions: nothing to do (exit 0), so pipelines can
 * run it every time — unless a grow run got it there and did not finish (producers still pinned or
 * paused): then exit 7 and point to that run. For a set of topics: nothing to do when every topic
 * has its target; a set where only some have it is refused (drop those from the set). Read-only.
 */
export async function growAlreadyAtTarget(
  connection: ConnectionOptions,
  inputs: Pick<GrowInputs, 'topic' | 'to' | 'targets' | 'controlTopic' | 'controlSecretEnv'>,
): Promise<PerTopic<GrowSummary> | undefined> {
  const targets = growTargets(inputs)
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  const atTarget: GrowTarget[] = []
  try {
    for (const target of targets) {
      const partitions = (await cluster.describeTopic(target.topic)).partitions.length
      if (partitions === target.to) atTarget.push(target)
    }
  } catch (error) {
    // A missing topic is preflight's to report, with its step and exit code.
    if (error instanceof KreorgError && error.code === 'topic-missing') return undefined
    throw error
  } finally {
    await cluster.close()
  }
  if (atTarget.length === 0) return undefined
  if (atTarget.length < targets.length) {
    const rest = targets.filter((t) => !atTarget.includes(t))
    throw new KreorgError(
      'precondition',
      `${atTarget.map((t) => `${t.topic} already has ${t.to} partitions`).join(', ')}: only ${rest.map((t) => t.topic).join(', ')} would grow`,
      {suggestions: [`drop ${atTarget.map((t) => t.topic).join(', ')} from the command; nothing was changed`]},
    )
  }
  const secret = growControlSecret(inputs)
  const channel = await ControlChannel.open(connection, {controlTopic: inputs.controlTopic, create: false, ...(secret ? {secret} : {})})
  try {
    for (const {topic} of targets) refuseWhileUnfinished(channel, topic)
  } finally {
    await channel.close()
  }
  const summaries = targets.map(({topic, to}) => nothingToDoSummary(topic, to))
  if (summaries.length === 1) return summaries[0]
  return {...summaries[0]!, byTopic: Object.fromEntries(summaries.map((s) => [s.topic, s]))}
}

export function refuseWhileUnfinished(channel: Pick<ControlChannelPort, 'currentCommand'>, topic: string): void {
  const run = unfinishedGrowRun(channel, topic)
  if (run) {
    throw new KreorgError(
      'incomplete',
      `${topic} has its target count, but grow run ${run.runId} did not finish: its producers are still ${run.state}`,
      {
        suggestions: [`kreorg resume ${run.runId}`],
      },
    )
  }
}

export function nothingToDoSummary(topic: string, to: number): GrowSummary {
  const declaredCounts = declaredCountLines(topic, to)
  return {
    topic,
    from: to,
    to,
    pausedMs: null,
    primeMs: null,
    drainMs: null,
    addMs: null,
    checkedRecords: 0,
    misplacedRecords: 0,
    watchNext: [`${topic} already has ${to} partitions: nothing to do`, ...declaredCounts],
    declaredCounts,
    nothingToDo: true,
  }
}

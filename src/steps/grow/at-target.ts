import type {ControlChannelPort} from '../../control/port.js'
import type {ConnectionOptions} from '../../kafka/types.js'
import type {GrowInputs} from './inputs.js'
import type {GrowSummary} from './results.js'

import {ControlChannel} from '../../control/channel.js'
import {KreorgError} from '../../core/errors.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {declaredCountLines} from './mapping.js'
import {growControlSecret} from './services.js'
import {unfinishedGrowRun} from './unfinished.js'

/**
 * `grow --to N` on a topic that already has N partitions: nothing to do (exit 0), so pipelines can
 * run it every time — unless a grow run got it there and did not finish (producers still pinned or
 * paused): then exit 7 and point to that run. Read-only.
 */
export async function growAlreadyAtTarget(
  connection: ConnectionOptions,
  inputs: Pick<GrowInputs, 'topic' | 'to' | 'controlTopic' | 'controlSecretEnv'>,
): Promise<GrowSummary | undefined> {
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  let partitions: number
  try {
    partitions = (await cluster.describeTopic(inputs.topic)).partitions.length
  } catch (error) {
    // A missing topic is preflight's to report, with its step and exit code.
    if (error instanceof KreorgError && error.code === 'topic-missing') return undefined
    throw error
  } finally {
    await cluster.close()
  }
  if (partitions !== inputs.to) return undefined
  const secret = growControlSecret(inputs)
  const channel = await ControlChannel.open(connection, {controlTopic: inputs.controlTopic, create: false, ...(secret ? {secret} : {})})
  try {
    refuseWhileUnfinished(channel, inputs.topic)
  } finally {
    await channel.close()
  }
  return nothingToDoSummary(inputs.topic, inputs.to)
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

import type {ConnectionOptions} from '../../kafka/types.js'
import type {GrowInputs} from './context.js'
import type {PerTopic} from './results.js'

import {ControlChannel} from '../../control/channel.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {controlPortOf} from './control-adapter.js'
import {growTargets} from './inputs.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'
import {checkControlTopic, checkTopicHealth, missingPermissions, type TopicHealth} from './preflight.js'
import {growControlSecret} from './services.js'
import {coPartitionBreak} from './topic-set.js'

export interface DryRunResult {
  /** The first topic's health (every topic's problems are blockers of the plan). */
  health: TopicHealth
  /** A multi-topic run: every topic's plan under `byTopic`, and every topic's blockers at the top level. */
  plan: PerTopic<GrowPlan>
  /** Blockers of the set as a whole (co-partitioning it would break), also in `plan.blockers`. */
  setBlockers: string[]
}

/**
 * `grow --dry-run`: preflight's checks and the plan, strictly read-only — no lease, no control-topic
 * writes or creation, no checkpoint, nothing in the state dir.
 */
export async function growDryRun(
  connection: ConnectionOptions,
  inputs: GrowInputs,
  onProgress?: (message: string) => void,
): Promise<DryRunResult> {
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  try {
    const targets = growTargets(inputs)
    const multi = targets.length > 1
    const secret = growControlSecret(inputs)
    const control = controlPortOf(
      await ControlChannel.open(connection, {controlTopic: inputs.controlTopic, create: false, ...(secret ? {secret} : {})}),
    )
    try {
      const controlTopic = await checkControlTopic(cluster, inputs.controlTopic)
      const results: DryRunResult[] = []
      for (const {topic, to} of targets) {
        const {targets: _all, ...single} = inputs
        const topicInputs: GrowInputs = {...single, topic, to}
        const progress = onProgress && multi ? (message: string) => onProgress(`${topic}: ${message}`) : onProgress
        const health = await checkTopicHealth(cluster, topicInputs)
        const agents = await control.agents(topic)
        const plan = await buildGrowPlan({
          cluster,
          inputs: topicInputs,
          agents,
          control,
          ...(progress ? {onProgress: progress} : {}),
          growingTogether: targets.map((t) => t.topic).filter((t) => t !== topic),
        })
        plan.warnings.push(...controlTopic.warnings)
        plan.blockers.unshift(
          ...health.refusals,
          ...health.problems.map((p) => `${topic}: ${p}`),
          ...controlTopic.problems,
          ...(await missingPermissions(cluster, topicInputs)),
        )
        results.push({health, plan, setBlockers: []})
      }
      if (!multi) return results[0]!
      const counts = new Map(results.map((r) => [r.plan.topic, r.plan.from]))
      const broken = coPartitionBreak(targets, counts)
      const byTopic = Object.fromEntries(results.map((r) => [r.plan.topic, r.plan]))
      const setBlockers = broken ? [broken.message] : []
      const blockers = [
        ...setBlockers,
        ...results.flatMap((r) => r.plan.blockers.map((b) => (b.startsWith(`${r.plan.topic}`) ? b : `${r.plan.topic}: ${b}`))),
      ]
      return {health: results[0]!.health, plan: {...results[0]!.plan, blockers, byTopic}, setBlockers}
    } finally {
      await control.close()
    }
  } finally {
    await cluster.close()
  }
}

import type {ConnectionOptions} from '../../kafka/types.js'
import type {GrowInputs} from './context.js'

import {ControlChannel} from '../../control/channel.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {controlPortOf} from './control-adapter.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'
import {checkControlTopic, checkTopicHealth, missingPermissions, type TopicHealth} from './preflight.js'
import {growControlSecret} from './services.js'

export interface DryRunResult {
  health: TopicHealth
  plan: GrowPlan
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
    const health = await checkTopicHealth(cluster, inputs)
    const secret = growControlSecret(inputs)
    const control = controlPortOf(
      await ControlChannel.open(connection, {controlTopic: inputs.controlTopic, create: false, ...(secret ? {secret} : {})}),
    )
    try {
      const agents = await control.agents(inputs.topic)
      const plan = await buildGrowPlan({cluster, inputs, agents, control, ...(onProgress ? {onProgress} : {})})
      const controlTopic = await checkControlTopic(cluster, inputs.controlTopic)
      plan.warnings.push(...controlTopic.warnings)
      plan.blockers.unshift(
        ...health.refusals,
        ...health.problems.map((p) => `${inputs.topic}: ${p}`),
        ...controlTopic.problems,
        ...(await missingPermissions(cluster, inputs)),
      )
      return {health, plan}
    } finally {
      await control.close()
    }
  } finally {
    await cluster.close()
  }
}

import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import type {ConnectionOptions} from '../../kafka/types.js'
import {ControlChannel} from '../../control/orchestrator.js'
import type {GrowInputs} from './context.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'
import {checkTopicHealth, missingPermissions, type TopicHealth} from './preflight.js'
import {growControlSecret} from './services.js'

export interface DryRunResult {
  health: TopicHealth
  plan: GrowPlan
}

/**
 * `grow --dry-run`: preflight's checks and the plan, strictly read-only — no lease, no control-topic
 * writes or creation, no checkpoint, nothing in the state dir.
 */
export async function growDryRun(connection: ConnectionOptions, inputs: GrowInputs, onProgress?: (message: string) => void): Promise<DryRunResult> {
  const cluster = new KafkajsCluster(connection)
  await cluster.connect()
  try {
    const health = await checkTopicHealth(cluster, inputs)
    const secret = growControlSecret(inputs)
    const control = await ControlChannel.open(connection, {controlTopic: inputs.controlTopic, create: false, ...(secret ? {secret} : {})})
    let agents
    try {
      agents = await control.agents(inputs.topic)
    } finally {
      await control.close()
    }
    const plan = await buildGrowPlan({cluster, inputs, agents, ...(onProgress ? {onProgress} : {})})
    plan.blockers.unshift(...health.problems.map((p) => `${inputs.topic}: ${p}`), ...(await missingPermissions(cluster, inputs)))
    return {health, plan}
  } finally {
    await cluster.close()
  }
}

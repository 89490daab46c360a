import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import type {RunEnvironment} from '../../runbook/types.js'
import {ControlChannel} from '../../control/orchestrator.js'
import {controlSecret} from '../../control/flags.js'
import type {ControlPort, GrowInputs, GrowServices} from './context.js'

/** What the command hands the runbook besides its inputs: live connection settings. */
export type GrowEnvironment = Pick<RunEnvironment, 'connection'>

/** The control-topic signing secret is read from the environment at run time, never stored. */
export function growControlSecret(inputs: Pick<GrowInputs, 'controlSecretEnv'>): string | undefined {
  return controlSecret(inputs.controlSecretEnv)
}

export async function openGrowServices(inputs: GrowInputs, env: GrowEnvironment): Promise<{services: GrowServices; close(): Promise<void>}> {
  const cluster = new KafkajsCluster(env.connection)
  await cluster.connect()
  let control: ControlPort
  const secret = growControlSecret(inputs)
  try {
    control = await ControlChannel.open(env.connection, {
      controlTopic: inputs.controlTopic,
      create: true,
      ...(secret ? {secret} : {}),
    })
  } catch (error) {
    await cluster.close()
    throw error
  }
  const services: GrowServices = {cluster, control}
  return {
    services,
    // The lease is deliberately not released here: an interrupted run keeps the topic locked (and its
    // producers paused) until the lease lapses or `kreorg resume` takes it back.
    close: async () => {
      await control.close().catch(() => {})
      await cluster.close()
    },
  }
}

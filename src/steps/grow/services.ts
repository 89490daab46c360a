import type {RunEnvironment} from '../../runbook/types.js'
import type {ControlPort, GrowInputs, GrowServices} from './context.js'

import {ControlChannel} from '../../control/channel.js'
import {controlSecret} from '../../control/secret.js'
import {KafkajsCluster} from '../../kafka/kafkajs-cluster.js'
import {controlPortOf} from './control-adapter.js'
import {growTargets} from './inputs.js'

/** What the command hands the runbook besides its inputs: live connection settings. */
export type GrowEnvironment = Pick<RunEnvironment, 'connection'> & Partial<Pick<RunEnvironment, 'runId'>>

/** Channels of control protocol 1.1 know every epoch the run used on the topic. */
interface EpochSource {
  nextEpoch(topic: string, runId: string): number
}

/** The control-topic signing secret is read from the environment at run time, never stored. */
export function growControlSecret(inputs: Pick<GrowInputs, 'controlSecretEnv'>): string | undefined {
  return controlSecret(inputs.controlSecretEnv)
}

export async function openGrowServices(
  inputs: GrowInputs,
  env: GrowEnvironment,
): Promise<{services: GrowServices; close(): Promise<void>}> {
  const cluster = new KafkajsCluster(env.connection)
  await cluster.connect()
  let control: ControlPort
  let epoch = Date.now()
  const secret = growControlSecret(inputs)
  try {
    const channel = await ControlChannel.open(env.connection, {
      controlTopic: inputs.controlTopic,
      create: true,
      ...(secret ? {secret} : {}),
      heartbeatLookbackMs: Math.max(120_000, inputs.writerLookbackMs),
    })
    // Above every epoch this run used on the topic, whichever host's clock wrote it: this attempt fences the earlier ones.
    const source = channel as unknown as Partial<EpochSource>
    if (env.runId !== undefined && typeof source.nextEpoch === 'function') {
      const {runId} = env
      epoch = Math.max(...growTargets(inputs).map(({topic}) => source.nextEpoch!(topic, runId)))
    }
    control = controlPortOf(channel)
  } catch (error) {
    await cluster.close()
    throw error
  }
  const services: GrowServices = {cluster, control, epoch}
  return {
    services,
    // The lease is deliberately not released here: an interrupted run keeps the topic locked (and its
    // producers paused) until the lease lapses or `kreorg resume` takes it back.
    async close() {
      await control.close().catch(() => {})
      await cluster.close()
    },
  }
}

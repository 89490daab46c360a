import {Args} from '@oclif/core'

import type {ConnectionOptions} from '../src/kafka/types.js'

import {RunCommand} from '../src/cli/run-command.js'
import {type ConnectionFlags, resolveConnection} from '../src/config/resolve.js'
import {KafkajsCluster} from '../src/kafka/kafkajs-cluster.js'
import {growAbortRefusal} from '../src/steps/grow/abort-guard.js'

export default class Abort extends RunCommand<typeof Abort> {
  static override summary = 'Stop a run for good: undo its finished steps in reverse'
  static override description =
    "Runs each finished step's undo, newest first (for grow: lift the producers' pin, release the lease). " +
    'When a finished step cannot be undone (grow: add-partitions — Kafka cannot remove partitions), abort says so and ' +
    'finishes the remaining steps instead. A grow run whose topic already has more partitions than it started with is ' +
    'never rolled back: abort refuses (exit 7) and names `kreorg resume <run-id>`. Asks before changing anything unless --yes.'

  static override examples = [
    '<%= config.bin %> abort 20261123-174512-grow-orders-3f9a',
    '<%= config.bin %> abort 20261123-174512-grow-orders-3f9a --yes --json',
  ]

  static override args = {
    'run-id': Args.string({description: 'run to abort (see `kreorg runs`)', required: true}),
  }

  public async run(): Promise<void> {
    const runId = this.args['run-id']
    await this.refuseAbortAfterAlter(runId)
    await this.abortRun(runId)
  }

  /** Reads the live partition count before the engine undoes anything (grow runs only). */
  private async refuseAbortAfterAlter(runId: string): Promise<void> {
    await this.runStore.checkout(runId)
    const {checkpoint} = await this.runStore.load(runId)
    if (checkpoint.runbook.name !== 'grow') return
    let connection: ConnectionOptions
    try {
      connection = this.connectionOptions()
    } catch (error) {
      const brokers = (checkpoint.environment as {brokers?: unknown}).brokers
      if (!Array.isArray(brokers) || brokers.length === 0) throw error
      connection = resolveConnection({...(this.flags as unknown as ConnectionFlags), brokers: brokers.join(',')}, process.env)
    }
    const cluster = new KafkajsCluster(connection)
    await cluster.connect()
    try {
      const refusal = await growAbortRefusal(checkpoint, cluster)
      if (refusal) throw refusal
    } finally {
      await cluster.close()
    }
  }
}

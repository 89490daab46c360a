import {Args} from '@oclif/core'
import {RunCommand} from '../src/cli/run-command.js'

export default class Abort extends RunCommand<typeof Abort> {
  static override summary = "Stop a run for good: undo its finished steps in reverse"
  static override description =
    "Runs each finished step's undo, newest first (for grow: resume the producers, release the lease). " +
    'When a finished step cannot be undone (grow: add-partitions — Kafka cannot remove partitions), abort says so and ' +
    'finishes the remaining steps instead. Asks before changing anything unless --yes.'

  static override examples = ['<%= config.bin %> abort 20261123-174512-grow-orders-3f9a', '<%= config.bin %> abort 20261123-174512-grow-orders-3f9a --yes --json']

  static override args = {
    'run-id': Args.string({description: 'run to abort (see `kreorg runs`)', required: true}),
  }

  public async run(): Promise<void> {
    await this.abortRun(this.args['run-id'])
  }
}

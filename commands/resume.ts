import {Args, Flags} from '@oclif/core'

import {RunCommand} from '../src/cli/run-command.js'
import {KreorgError} from '../src/core/errors.js'

export default class Resume extends RunCommand<typeof Resume> {
  static override summary = 'Continue an interrupted or failed run from its last finished step'
  static override description =
    'Validates the checkpoint first and refuses (exit 2, file untouched) when it is damaged, from an unknown schema version, ' +
    'or when the runbook changed since the run started. Finished steps are not run again; the step that was running is re-run (steps re-read live state). ' +
    'Connects to the brokers the run started with unless --brokers/KAFKA_BROKERS is given.'

  static override examples = ['<%= config.bin %> resume 20261123-174512-grow-orders-3f9a', '<%= config.bin %> resume --latest --yes']

  static override args = {
    'run-id': Args.string({description: 'run to resume (see `kreorg runs`)'}),
  }

  static override flags = {
    // The newest unfinished run, even if it is live or damaged: then resume refuses rather than
    // silently picking an older run.
    latest: Flags.boolean({description: 'the newest run that has not finished or been aborted'}),
  }

  public async run(): Promise<void> {
    const given = this.args['run-id']
    if (given && this.flags.latest) throw new KreorgError('usage', 'pass a run id or --latest, not both')
    if (!given && !this.flags.latest) {
      throw new KreorgError('usage', 'which run? pass a run id or --latest', {suggestions: ['list runs with `kreorg runs`']})
    }
    const runId = given ?? (await this.latestRun((run) => run.status !== 'done' && run.status !== 'aborted'))
    await this.resumeRun(runId)
  }
}

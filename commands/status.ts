import {Args, Flags} from '@oclif/core'
import {findRunbook} from '../runbooks/index.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {resolveStateDir, stateDirFlag} from '../src/cli/run-command.js'
import {latestRunId, loadCheckpoint} from '../src/runbook/checkpoint.js'
import {KreorgError} from '../src/runbook/errors.js'
import {buildStatus} from '../src/runbook/status.js'
import {renderStatus} from '../src/ui/runs-view.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show every step of a run: state, duration, result, error'
  static override description = 'Reads the checkpoint only; never connects to Kafka and never changes the run. Without a run id, shows the newest run.'

  static override examples = ['<%= config.bin %> status --latest', '<%= config.bin %> status 20261123-174512-grow-orders-3f9a --json']

  static override args = {
    'run-id': Args.string({description: 'run to show (see `kreorg runs`)'}),
  }

  static override flags = {
    latest: Flags.boolean({description: 'the newest run (the default without a run id)'}),
    'state-dir': stateDirFlag,
  }

  public async run(): Promise<void> {
    if (this.args['run-id'] && this.flags.latest) throw new KreorgError('usage', 'pass a run id or --latest, not both')
    const stateDir = resolveStateDir(this.flags['state-dir'])
    const runId = this.args['run-id'] ?? (await latestRunId(stateDir))
    const {file, checkpoint} = await loadCheckpoint(stateDir, runId)
    const report = buildStatus(checkpoint, findRunbook(checkpoint.runbook.name), file, this.config.bin)
    process.stdout.write(`${this.jsonMode ? JSON.stringify(report) : renderStatus(report)}\n`)
  }
}

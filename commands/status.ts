import {Args, Flags} from '@oclif/core'

import {findRunbook} from '../runbooks/index.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {outputFlags} from '../src/cli/output-flags.js'
import {stateDirFlag, stateModeFlags} from '../src/cli/run-command.js'
import {KreorgError} from '../src/core/errors.js'
import {buildStatus} from '../src/runbook/status.js'
import {runStoreFor} from '../src/runbook/store/index.js'
import {renderStatus} from '../src/ui/runs-view.js'

export default class Status extends KafkaCommand<typeof Status> {
  static override summary = 'Show every step of a run: state, duration, result, error'
  static override description =
    'Reads the checkpoint only and never changes the run; it connects to Kafka only with --state kafka (then the newer of the local and the mirrored copy is shown). Without a run id, shows the newest run.'

  static override examples = [
    '<%= config.bin %> status --latest',
    '<%= config.bin %> status 20261123-174512-grow-orders-3f9a --json',
    '<%= config.bin %> status --latest -o yaml',
  ]

  static override args = {
    'run-id': Args.string({description: 'run to show (see `kreorg runs`)'}),
  }

  static override flags = {
    latest: Flags.boolean({description: 'the newest run (the default without a run id)'}),
    'state-dir': stateDirFlag,
    ...stateModeFlags,
    ...outputFlags,
  }

  public async run(): Promise<void> {
    if (this.args['run-id'] && this.flags.latest) throw new KreorgError('usage', 'pass a run id or --latest, not both')
    const store = runStoreFor(this.flags, () => this.connectionOptions())
    const runId = this.args['run-id'] ?? (await store.latest())
    const run = await store.read(runId)
    const {checkpoint} = run
    const report = buildStatus(checkpoint, findRunbook(checkpoint.runbook.name), run.location, this.config.bin)
    if (run.status !== report.status) {
      // Recorded as running on another host whose lease has lapsed: its process is gone.
      report.status = run.status
      report.next = `${this.config.bin} ${checkpoint.status === 'aborting' ? 'abort' : 'resume'} ${runId}`
    }
    // From another machine, resuming needs the shared state too.
    if (store.mode === 'kafka' && report.next && process.env.KREORG_STATE !== 'kafka') report.next = `${report.next} --state kafka`
    this.printOutput(report, () => renderStatus(report))
  }
}

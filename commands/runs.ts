import {findRunbook} from '../runbooks/index.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {outputFlags} from '../src/cli/output-flags.js'
import {stateDirFlag, stateModeFlags} from '../src/cli/run-command.js'
import {runStoreFor} from '../src/runbook/store/index.js'
import {renderRuns} from '../src/ui/runs-view.js'

export default class Runs extends KafkaCommand<typeof Runs> {
  static override summary = 'List runs in the state dir, newest first'
  static override description =
    'Each run with its runbook, topic, status, current step and times. A run whose process died (SIGKILL, power loss) shows as interrupted: continue it with `kreorg resume <run-id>`. ' +
    'With --state kafka, runs mirrored to the control topic from any machine are listed too (deduplicated by run id; `source` says where each was found).'

  static override examples = [
    '<%= config.bin %> runs',
    '<%= config.bin %> runs --json',
    '<%= config.bin %> runs -o yaml',
    '<%= config.bin %> runs --state kafka',
  ]

  static override flags = {
    'state-dir': stateDirFlag,
    ...stateModeFlags,
    ...outputFlags,
  }

  public async run(): Promise<void> {
    const store = runStoreFor(this.flags, () => this.connectionOptions())
    const runs = await store.list((name) => findRunbook(name)?.steps.length ?? null)
    this.printOutput(runs, () => renderRuns(runs, store.where))
  }
}

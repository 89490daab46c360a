import {findRunbook} from '../runbooks/index.js'
import {BaseCommand} from '../src/cli/base-command.js'
import {resolveStateDir, stateDirFlag} from '../src/cli/run-command.js'
import {listRuns} from '../src/runbook/checkpoint.js'
import {renderRuns} from '../src/ui/runs-view.js'

export default class Runs extends BaseCommand<typeof Runs> {
  static override summary = 'List runs in the state dir, newest first'
  static override description =
    'Each run with its runbook, topic, status, current step and times. A run whose process died (SIGKILL, power loss) shows as interrupted: continue it with `kreorg resume <run-id>`.'

  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --json']

  static override flags = {
    'state-dir': stateDirFlag,
  }

  public async run(): Promise<void> {
    const stateDir = resolveStateDir(this.flags['state-dir'])
    const runs = await listRuns(stateDir, (name) => findRunbook(name)?.steps.length ?? null)
    process.stdout.write(`${this.jsonMode ? JSON.stringify(runs) : renderRuns(runs, stateDir)}\n`)
  }
}

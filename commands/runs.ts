import {findRunbook} from '../runbooks/index.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {resolveStateDir, stateDirFlag, stateModeFlags, stateModeOf} from '../src/cli/run-command.js'
import {listRuns} from '../src/runbook/checkpoint.js'
import {KafkaRunSnapshot, mergeRuns} from '../src/runbook/shared-state.js'
import {renderRuns} from '../src/ui/runs-view.js'

export default class Runs extends KafkaCommand<typeof Runs> {
  static override summary = 'List runs in the state dir, newest first'
  static override description =
    'Each run with its runbook, topic, status, current step and times. A run whose process died (SIGKILL, power loss) shows as interrupted: continue it with `kreorg resume <run-id>`. ' +
    'With --state kafka, runs mirrored to the control topic from any machine are listed too (deduplicated by run id; `source` says where each was found).'

  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --json', '<%= config.bin %> runs --state kafka']

  static override flags = {
    'state-dir': stateDirFlag,
    ...stateModeFlags,
  }

  public async run(): Promise<void> {
    const stateDir = resolveStateDir(this.flags['state-dir'])
    const lookup = (name: string) => findRunbook(name)?.steps.length ?? null
    const local = await listRuns(stateDir, lookup)
    const {mode, topic} = stateModeOf(this.flags)
    const runs = mode === 'kafka' ? mergeRuns(local, await KafkaRunSnapshot.read(this.connectionOptions(), topic), lookup) : local
    const where = mode === 'kafka' ? `${stateDir} or control topic ${topic}` : stateDir
    process.stdout.write(`${this.jsonMode ? JSON.stringify(runs) : renderRuns(runs, where)}\n`)
  }
}

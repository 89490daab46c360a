import {Args, Flags} from '@oclif/core'
import {findRunbook} from '../runbooks/index.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {resolveStateDir, stateDirFlag, stateModeFlags, stateModeOf} from '../src/cli/run-command.js'
import {latestRunId, listRuns, loadCheckpoint} from '../src/runbook/checkpoint.js'
import {KreorgError} from '../src/runbook/errors.js'
import {KafkaRunSnapshot, kafkaLocation, mergeRuns} from '../src/runbook/shared-state.js'
import {buildStatus} from '../src/runbook/status.js'
import {renderStatus} from '../src/ui/runs-view.js'

export default class Status extends KafkaCommand<typeof Status> {
  static override summary = 'Show every step of a run: state, duration, result, error'
  static override description =
    'Reads the checkpoint only and never changes the run; it connects to Kafka only with --state kafka (then the newer of the local and the mirrored copy is shown). Without a run id, shows the newest run.'

  static override examples = ['<%= config.bin %> status --latest', '<%= config.bin %> status 20261123-174512-grow-orders-3f9a --json']

  static override args = {
    'run-id': Args.string({description: 'run to show (see `kreorg runs`)'}),
  }

  static override flags = {
    latest: Flags.boolean({description: 'the newest run (the default without a run id)'}),
    'state-dir': stateDirFlag,
    ...stateModeFlags,
  }

  public async run(): Promise<void> {
    if (this.args['run-id'] && this.flags.latest) throw new KreorgError('usage', 'pass a run id or --latest, not both')
    const stateDir = resolveStateDir(this.flags['state-dir'])
    const {mode, topic} = stateModeOf(this.flags)
    if (mode !== 'kafka') {
      const runId = this.args['run-id'] ?? (await latestRunId(stateDir))
      const {file, checkpoint} = await loadCheckpoint(stateDir, runId)
      this.render(buildStatus(checkpoint, findRunbook(checkpoint.runbook.name), file, this.config.bin))
      return
    }
    const snapshot = await KafkaRunSnapshot.read(this.connectionOptions(), topic)
    const runId = this.args['run-id'] ?? mergeRuns(await listRuns(stateDir), snapshot, () => null)[0]?.runId
    if (!runId) throw new KreorgError('usage', `no runs in ${stateDir} or control topic ${topic}`)
    const local = await loadCheckpoint(stateDir, runId).catch((error: unknown) => {
      // A damaged local file is an answer in itself; only a missing one falls through to Kafka.
      if (error instanceof KreorgError && error.code === 'usage') return undefined
      throw error
    })
    const remote = snapshot.get(runId)
    const remoteCheckpoint = remote && 'checkpoint' in remote ? remote.checkpoint : undefined
    if (!local && !remoteCheckpoint) {
      throw new KreorgError('usage', remote && 'problem' in remote ? remote.problem : `no run "${runId}" in ${stateDir} or control topic ${topic}`, {
        suggestions: ['list runs with `kreorg runs --state kafka`'],
      })
    }
    const useRemote = remoteCheckpoint !== undefined && (!local || remoteCheckpoint.updatedAt > local.checkpoint.updatedAt)
    const checkpoint = useRemote ? remoteCheckpoint : local!.checkpoint
    const file = useRemote ? kafkaLocation(topic, runId) : local!.file
    const report = buildStatus(checkpoint, findRunbook(checkpoint.runbook.name), file, this.config.bin)
    const judged = snapshot.effectiveStatus(checkpoint)
    if (judged !== report.status) {
      // Recorded as running on another host whose lease has lapsed: its process is gone.
      report.status = judged
      report.next = `${this.config.bin} ${checkpoint.status === 'aborting' ? 'abort' : 'resume'} ${runId}`
    }
    // From another machine, resuming needs the shared state too.
    if (report.next && process.env.KREORG_STATE !== 'kafka') report.next = `${report.next} --state kafka`
    this.render(report)
  }

  private render(report: ReturnType<typeof buildStatus>): void {
    process.stdout.write(`${this.jsonMode ? JSON.stringify(report) : renderStatus(report)}\n`)
  }
}

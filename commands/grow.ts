import {hostname} from 'node:os'
import {Args, Flags} from '@oclif/core'
import {growRunbook} from '../runbooks/grow.js'
import {durationOption} from '../src/cli/duration.js'
import {RunCommand} from '../src/cli/run-command.js'
import {controlFlags} from '../src/control/flags.js'
import {KreorgError} from '../src/runbook/errors.js'
import type {GrowInputs} from '../src/steps/grow/context.js'
import {growDryRun} from '../src/steps/grow/dry-run.js'
import {readReplicaAssignment} from '../src/steps/grow/replica-assignment.js'
import {renderGrowPlan} from '../src/ui/plan-view.js'

export default class Grow extends RunCommand<typeof Grow> {
  static override summary = "Grow a topic's partitions without breaking per-key ordering"
  static override description = [
    'Runs the drain-first runbook as one checkpointed command: preflight (and the topic lease), plan,',
    'pause-producers, quiesce, drain, add-partitions, verify-partitions, prime-consumers, verify-mapping,',
    'resume-producers, post-check. A failure before add-partitions resumes the producers; after it the run',
    'can only go forward (Kafka cannot remove partitions) with `kreorg resume <run-id>`.',
  ].join(' ')

  static override examples = [
    '<%= config.bin %> grow orders --to 16',
    '<%= config.bin %> grow orders --to 16 --dry-run',
    '<%= config.bin %> grow orders --to 16 --yes --json',
    '<%= config.bin %> grow orders --to 24 --group billing --group search --drain-timeout 1h',
  ]

  static override args = {
    topic: Args.string({description: 'topic to grow', required: true}),
  }

  static override flags = {
    to: Flags.integer({description: 'target partition count (must be above the current count)', required: true, min: 2}),
    'dry-run': Flags.boolean({description: 'print the plan (groups, lag, agents, keys that move) and change nothing'}),
    group: Flags.string({char: 'g', description: 'drain only these groups (repeatable) [default: every group with offsets on the topic]', multiple: true}),
    'ignore-group': Flags.string({description: 'do not wait for this group (repeatable); its unconsumed records may be read out of order', multiple: true, default: []}),
    'drain-timeout': durationOption('give up draining after this long (producers are resumed)', 30 * 60_000),
    'ack-timeout': durationOption('how long to wait for producer agents to ack a command', 30_000),
    'quiet-period': durationOption('end offsets must stand still this long after the pause', 3_000),
    lease: durationOption('pause lease; agents resume by themselves if kreorg dies and it lapses', 120_000),
    'pickup-timeout': durationOption('how long active groups get to own the new partitions (their metadata refresh is 5m by default)', 6 * 60_000),
    'post-check-window': durationOption('how long post-check waits for records written after resume', 10_000),
    'replica-assignment': Flags.file({description: 'file with one line of comma-separated broker ids per new partition', exists: true}),
    ...controlFlags,
    sample: Flags.integer({description: 'records to sample per partition for the key-movement plan', default: 1000, min: 0}),
  }

  public async run(): Promise<void> {
    const {flags, args} = this
    const inputs: GrowInputs = {
      topic: args.topic,
      to: flags.to,
      ...(flags.group ? {groups: flags.group} : {}),
      ignoreGroups: flags['ignore-group'],
      drainTimeoutMs: flags['drain-timeout'],
      ackTimeoutMs: flags['ack-timeout'],
      quietPeriodMs: flags['quiet-period'],
      leaseMs: flags.lease,
      pickupTimeoutMs: flags['pickup-timeout'],
      postCheckWindowMs: flags['post-check-window'],
      ...(flags['replica-assignment'] ? {replicaAssignment: await readReplicaAssignment(flags['replica-assignment'])} : {}),
      controlTopic: flags['control-topic'],
      controlSecretEnv: flags['control-secret-env'],
      samplePerPartition: flags.sample,
      host: hostname(),
    }
    const overlap = (flags.group ?? []).filter((g) => inputs.ignoreGroups.includes(g))
    if (overlap.length > 0) throw new KreorgError('usage', `--group and --ignore-group both name ${overlap.join(', ')}`)

    if (flags['dry-run']) {
      const {plan} = await growDryRun(this.connectionOptions(), inputs, (message) => {
        if (!this.jsonMode && process.stderr.isTTY) process.stderr.write(`… ${message}\n`)
      })
      if (this.jsonMode) this.printJson({event: 'plan', dryRun: true, plan})
      else process.stdout.write(`${renderGrowPlan(plan)}\n\nDry run: nothing was changed.\n`)
      if (plan.blockers.length > 0) {
        throw new KreorgError('precondition', `grow would refuse to start: ${plan.blockers[0]}`, {
          suggestions: plan.blockers.length > 1 ? [`and ${plan.blockers.length - 1} more, listed above`] : [],
        })
      }
      return
    }
    this.requireConfirmation(`kreorg grow ${inputs.topic} --to ${inputs.to}`)
    await this.executeRun(growRunbook, inputs)
  }
}

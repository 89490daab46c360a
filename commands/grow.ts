import {Args, Flags} from '@oclif/core'
import {hostname} from 'node:os'

import type {GrowInputs} from '../src/steps/grow/context.js'
import type {GrowSummary, PerTopic} from '../src/steps/grow/results.js'

import {growRunbook} from '../runbooks/grow.js'
import {controlFlags} from '../src/cli/control-flags.js'
import {durationFlag, durationOption} from '../src/cli/duration.js'
import {parseGrowTargets} from '../src/cli/grow-targets.js'
import {RunCommand} from '../src/cli/run-command.js'
import {resolveConnectUrls} from '../src/config/connect.js'
import {KreorgError} from '../src/core/errors.js'
import {growAlreadyAtTarget} from '../src/steps/grow/at-target.js'
import {growDryRun} from '../src/steps/grow/dry-run.js'
import {readReplicaAssignment} from '../src/steps/grow/replica-assignment.js'
import {renderGrowPlan} from '../src/ui/plan-view.js'

function renderNothingToDo(summary: PerTopic<GrowSummary>): string {
  return Object.values(summary.byTopic ?? {[summary.topic]: summary})
    .flatMap((s) => [
      `Nothing to do: ${s.topic} already has ${s.to} partitions.`,
      `Declared partition counts must say ${s.to}:`,
      ...s.declaredCounts.map((line) => `  - ${line}`),
    ])
    .join('\n')
}

function connectUrls(urls: string[]): Pick<GrowInputs, 'connectUrls'> {
  return urls.length > 0 ? {connectUrls: urls} : {}
}

export default class Grow extends RunCommand<typeof Grow> {
  static override summary = "Grow a topic's partitions without breaking per-key ordering"
  static override description = [
    'Runs the pin-first runbook as one checkpointed command: preflight (and the topic lease), plan (groups,',
    'writers, agents), pin-producers, add-partitions, verify-partitions, prime-consumers, pause-producers, quiesce,',
    'drain, verify-mapping, resume-producers, post-check. Producers keep writing, pinned to the old count, until',
    "every group's position on the new partitions is proven; the blackout is only pause → drain → resume.",
    'A failure before add-partitions lifts the pin (exit 3/4, nothing changed); after it the run can only go',
    'forward (Kafka cannot remove partitions): exit 7, then `kreorg resume <run-id>`. A topic already at --to',
    'exits 0 with "nothing to do". Several topics (e.g. co-partitioned join inputs) grow in one run: one pin, one',
    'CreatePartitions request for all, one pause and drain, one resume; topics with equal counts today must get',
    'equal targets. With --connect-url, the Kafka Connect source connectors that write to the topic are paused',
    'from pin-producers to resume-producers and their tasks restarted before they resume.',
  ].join(' ')

  static override examples = [
    '<%= config.bin %> grow orders --to 16',
    '<%= config.bin %> grow orders --to 16 --dry-run',
    '<%= config.bin %> grow orders --to 16 --yes --json',
    '<%= config.bin %> grow orders --to 24 --group billing --group search --drain-timeout 1h',
    '<%= config.bin %> grow orders --to 16 --trust-group legacy-kafkajs-reader --prime-timeout 15m',
    '<%= config.bin %> grow orders payments --to 16',
    '<%= config.bin %> grow orders payments audit-log --to 16 --to audit-log=32',
    '<%= config.bin %> grow orders --to 16 --connect-url http://connect-1:8083',
  ]

  static override args = {
    topic: Args.string({description: 'topic to grow (name several to grow them in one pause)', required: true}),
  }

  // More topics may follow the first (parseGrowTargets checks them).
  static override strict = false

  static override flags = {
    to: Flags.string({
      description:
        'target partition count (above the current count); with several topics, a count for all or topic=count per topic (repeatable)',
      required: true,
      multiple: true,
    }),
    'dry-run': Flags.boolean({description: 'print the plan (groups, lag, agents, keys that move) and change nothing'}),
    group: Flags.string({
      char: 'g',
      description: 'drain only these groups (repeatable) [default: every group with offsets on the topic]',
      multiple: true,
    }),
    'ignore-group': Flags.string({
      description: 'do not wait for this group (repeatable); its unconsumed records may be read out of order',
      multiple: true,
      default: [],
    }),
    'drain-timeout': durationOption(
      'give up draining after this long (exit 7: the partitions are added, producers stay pinned; resume the run)',
      30 * 60_000,
    ),
    'ack-timeout': durationOption('how long to wait for producer agents to ack a command', 30_000),
    'quiet-period': durationOption('end offsets must stand still this long after the pause', 3000),
    lease: durationOption('pause lease; agents resume by themselves if kreorg dies and it lapses', 120_000),
    'prime-timeout': durationOption(
      "how long prime-consumers waits for every group's position on the new partitions while producers run pinned (Java classic groups notice at their metadata refresh, 5m by default)",
      10 * 60_000,
    ),
    'pickup-timeout': durationFlag({description: 'old name of --prime-timeout', hidden: true}),
    'trust-group': Flags.string({
      description:
        "accept this group's assignment of the new partitions as proof of its position (kafkajs consumers without autoCommitInterval never commit on empty partitions) (repeatable)",
      multiple: true,
      default: [],
    }),
    'writer-lookback': durationOption('producer ids that wrote within this window count as active writers (writer inventory)', 10 * 60_000),
    'writer-scan': durationOption('scan batches written within this window for non-idempotent writers (producer id -1)', 2 * 60_000),
    'ignore-producer': Flags.integer({
      description: 'a producer id known to be dead: leave it out of the writer inventory (repeatable)',
      multiple: true,
      default: [],
    }),
    'allow-non-idempotent': Flags.boolean({
      description: 'accept non-idempotent writes (producer id -1) when an agent itself is not idempotent',
      default: false,
    }),
    'no-producers': Flags.boolean({
      description: 'nothing writes to the topic: run with zero producer agents (refused otherwise)',
      default: false,
    }),
    'allow-streams': Flags.boolean({
      description: 'grow although Kafka Streams applications read the topic (their state of moved keys stays in the old task)',
      default: false,
    }),
    'post-check-window': durationOption('how long post-check waits for records written after resume', 10_000),
    'replica-assignment': Flags.file({description: 'file with one line of comma-separated broker ids per new partition', exists: true}),
    'connect-url': Flags.string({
      description:
        'Kafka Connect REST URL: its source connectors that write to the topic are paused from pin-producers to resume-producers (repeatable) [default: KREORG_CONNECT_URLS, else connectUrls of the profile]; a password only in KREORG_CONNECT_URLS',
      multiple: true,
    }),
    ...controlFlags,
    sample: Flags.integer({description: 'records to sample per partition for the key-movement plan', default: 1000, min: 0}),
  }

  public async run(): Promise<void> {
    const {flags} = this
    const targets = parseGrowTargets(this.positionals, flags.to)
    if (targets.length > 1 && flags['replica-assignment']) {
      throw new KreorgError('usage', '--replica-assignment places the new partitions of one topic: grow one topic per run to use it')
    }
    const inputs: GrowInputs = {
      topic: targets[0]!.topic,
      to: targets[0]!.to,
      ...(targets.length > 1 ? {targets} : {}),
      ...(flags.group ? {groups: flags.group} : {}),
      ignoreGroups: flags['ignore-group'],
      drainTimeoutMs: flags['drain-timeout'],
      ackTimeoutMs: flags['ack-timeout'],
      quietPeriodMs: flags['quiet-period'],
      leaseMs: flags.lease,
      pickupTimeoutMs: flags['pickup-timeout'] ?? flags['prime-timeout'],
      trustGroups: flags['trust-group'],
      writerLookbackMs: flags['writer-lookback'],
      writerScanMs: flags['writer-scan'],
      ignoreProducers: flags['ignore-producer'],
      allowNonIdempotent: flags['allow-non-idempotent'],
      noProducers: flags['no-producers'],
      allowStreams: flags['allow-streams'],
      postCheckWindowMs: flags['post-check-window'],
      ...(flags['replica-assignment'] ? {replicaAssignment: await readReplicaAssignment(flags['replica-assignment'])} : {}),
      controlTopic: flags['control-topic'],
      ...connectUrls(resolveConnectUrls(flags, process.env)),
      controlSecretEnv: flags['control-secret-env'],
      samplePerPartition: flags.sample,
      host: hostname(),
    }
    const overlap = (flags.group ?? []).filter((g) => inputs.ignoreGroups.includes(g))
    if (overlap.length > 0) throw new KreorgError('usage', `--group and --ignore-group both name ${overlap.join(', ')}`)

    // Pipelines run `grow --to N` every time: a topic already at N is success, not a refusal.
    const done = await growAlreadyAtTarget(this.connectionOptions(), inputs)
    if (done) {
      if (this.jsonMode)
        this.printJson({
          event: 'run:done',
          runId: null,
          step: null,
          ts: new Date().toISOString(),
          durationMs: 0,
          alreadyDone: true,
          nothingToDo: true,
          summary: done,
        })
      else process.stdout.write(`${renderNothingToDo(done)}\n`)
      return
    }

    if (flags['dry-run']) {
      const {plan, setBlockers} = await growDryRun(this.connectionOptions(), inputs, (message) => {
        if (!this.jsonMode && process.stderr.isTTY) process.stderr.write(`… ${message}\n`)
      })
      if (this.jsonMode) this.printJson({event: 'plan', dryRun: true, plan})
      else {
        const plans = Object.values(plan.byTopic ?? {[plan.topic]: plan})
        const text = plans.map((p) => renderGrowPlan(p)).join('\n\n')
        process.stdout.write(
          `${text}${setBlockers.length > 0 ? `\n\n${setBlockers.map((b) => `BLOCKER: ${b}`).join('\n')}` : ''}\n\nDry run: nothing was changed.\n`,
        )
      }
      if (plan.blockers.length > 0) {
        throw new KreorgError('precondition', `grow would refuse to start: ${plan.blockers[0]}`, {
          suggestions: plan.blockers.length > 1 ? [`and ${plan.blockers.length - 1} more, listed above`] : [],
        })
      }
      return
    }
    this.requireConfirmation(
      `kreorg grow ${targets.map((t) => t.topic).join(' ')} ${targets.map((t) => `--to ${targets.length > 1 ? `${t.topic}=` : ''}${t.to}`).join(' ')}`,
    )
    await this.executeRun(growRunbook, inputs)
  }
}

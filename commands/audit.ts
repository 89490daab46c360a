import {Args, Flags} from '@oclif/core'

import {parseCandidates, runAudit} from '../src/audit/run.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {durationFlag, formatDuration} from '../src/cli/duration.js'
import {outputFlags} from '../src/cli/output-flags.js'
import {recordsPerPartition, sampleFlag} from '../src/cli/sample-flag.js'
import {ExitCode} from '../src/core/errors.js'
import {progressMeter, renderAudit} from '../src/ui/audit-view.js'

const DEFAULT_TIMEOUT_MS = 60_000
const WHOLE_TOPIC_TIMEOUT_MS = 30 * 60_000

export default class Audit extends KafkaCommand<typeof Audit> {
  static override summary = 'Check whether a topic is safe to grow, and to what partition count'
  static override description =
    'Samples the most recent records of every partition and reports, each with pass/warn/fail and why: ' +
    'records without a key, key cardinality and hot keys, partition skew, which partitioner wrote the keys ' +
    '(murmur2, CRC32, kafkajs legacy, or a mix), whether producers are idempotent, consumer groups that could ' +
    'block a drain, other topics with the same partition count read by the same groups (join inputs that must grow ' +
    'together), for each candidate count the share of keys that move and the resulting skew, and whether the topic is ' +
    'compacted (grow refuses it). ' +
    'Reads only: no offsets are committed. With --strict, exits 3 when any check fails.'

  static override examples = [
    '<%= config.bin %> audit orders',
    '<%= config.bin %> audit orders --to 16,24,32',
    '<%= config.bin %> audit orders --to 24 --sample 5000 --strict --json',
    '<%= config.bin %> audit orders --sample all --timeout 30m -o yaml',
  ]

  static override args = {
    topic: Args.string({description: 'topic to audit', required: true}),
  }

  static override flags = {
    to: Flags.string({description: 'candidate partition counts, comma-separated (default: 2×, 3×, 4× the current count)', multiple: true}),
    sample: sampleFlag({description: 'records to read per partition (the most recent), or `all` for the whole topic', default: 1000}),
    timeout: durationFlag({
      description: 'stop sampling after this long and judge what was read',
      defaultHelp: async () => `${formatDuration(DEFAULT_TIMEOUT_MS)}, ${formatDuration(WHOLE_TOPIC_TIMEOUT_MS)} with --sample all`,
    }),
    strict: Flags.boolean({description: `exit ${ExitCode.PRECONDITION} when any check fails (for CI)`}),
    ...outputFlags,
  }

  public async run(): Promise<void> {
    const candidates = parseCandidates(this.flags.to)
    const cluster = await this.connect()
    const whole = this.flags.sample === 'all'
    const perPartition = await recordsPerPartition(cluster, this.args.topic, this.flags.sample)
    const meter = progressMeter(process.stderr, `sampling ${this.args.topic}`)
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let report
    try {
      report = await runAudit(cluster, this.args.topic, {
        ...(candidates ? {candidates} : {}),
        perPartition,
        timeoutMs: this.flags.timeout ?? (whole ? WHOLE_TOPIC_TIMEOUT_MS : DEFAULT_TIMEOUT_MS),
        signal: abort.signal,
        onProgress: meter.update,
      })
    } finally {
      meter.done()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    this.printOutput(report, () => renderAudit(report))
    if (this.flags.strict && report.counts.fail > 0) this.exit(ExitCode.PRECONDITION)
  }
}

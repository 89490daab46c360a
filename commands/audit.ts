import {Args, Flags} from '@oclif/core'
import {parseCandidates, runAudit} from '../src/audit/run.js'
import {KafkaCommand} from '../src/cli/base-command.js'
import {durationOption} from '../src/cli/duration.js'
import {ExitCode} from '../src/runbook/errors.js'
import {progressMeter, renderAudit} from '../src/ui/audit-view.js'

export default class Audit extends KafkaCommand<typeof Audit> {
  static override summary = 'Check whether a topic is safe to grow, and to what partition count'
  static override description =
    'Samples the most recent records of every partition and reports, each with pass/warn/fail and why: ' +
    'records without a key, key cardinality and hot keys, partition skew, which partitioner wrote the keys ' +
    '(murmur2, CRC32, kafkajs legacy, or a mix), whether producers are idempotent, consumer groups that could ' +
    'block a drain, and for each candidate count the share of keys that move and the resulting skew. ' +
    'Reads only: no offsets are committed. With --strict, exits 3 when any check fails.'

  static override examples = [
    '<%= config.bin %> audit orders',
    '<%= config.bin %> audit orders --to 16,24,32',
    '<%= config.bin %> audit orders --to 24 --sample 5000 --strict --json',
  ]

  static override args = {
    topic: Args.string({description: 'topic to audit', required: true}),
  }

  static override flags = {
    to: Flags.string({description: 'candidate partition counts, comma-separated (default: 2×, 3×, 4× the current count)', multiple: true}),
    sample: Flags.integer({description: 'records to read per partition (the most recent)', default: 1000, min: 1, max: 1_000_000}),
    timeout: durationOption('stop sampling after this long and judge what was read', 60_000),
    strict: Flags.boolean({description: `exit ${ExitCode.PRECONDITION} when any check fails (for CI)`}),
  }

  public async run(): Promise<void> {
    const candidates = parseCandidates(this.flags.to)
    const cluster = await this.connect()
    const meter = progressMeter(process.stderr, `sampling ${this.args.topic}`)
    const abort = new AbortController()
    const onSignal = () => abort.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let report
    try {
      report = await runAudit(cluster, this.args.topic, {
        ...(candidates ? {candidates} : {}),
        perPartition: this.flags.sample,
        timeoutMs: this.flags.timeout,
        signal: abort.signal,
        onProgress: meter.update,
      })
    } finally {
      meter.done()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    if (this.jsonMode) this.printJson(report)
    else process.stdout.write(`${renderAudit(report)}\n`)
    if (this.flags.strict && report.counts.fail > 0) this.exit(ExitCode.PRECONDITION)
  }
}

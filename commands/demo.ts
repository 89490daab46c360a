import {Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {durationOption, formatDuration} from '../src/cli/duration.js'
import {renderTable} from '../src/core/table.js'
import {type DemoResult, runDemo} from '../src/demo/run-demo.js'

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Naive partition add vs `kreorg grow`, side by side, on a local Kafka with live keyed traffic'
  static override description = [
    'Starts a local Kafka (KAFKA_BROKERS, else Docker, else the Apache Kafka jars via Maven), creates `orders`',
    'and a twin `orders-naive` with the same keyed producers (per-key sequence numbers) and two consumer groups',
    'each (one lagging). The twin gets a plain createPartitions under traffic; `orders` gets `kreorg grow`.',
    'Prints per-key ordering violations, lost and duplicated records, and producer pause time for both.',
  ].join(' ')

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --json']

  static override flags = {
    from: Flags.integer({description: 'partitions to start with', default: 12, min: 1}),
    to: Flags.integer({description: 'partitions to grow to', default: 16, min: 2}),
    keys: Flags.integer({description: 'distinct keys in the traffic', default: 2000, min: 1}),
    rate: Flags.integer({description: 'keyed records per second into each topic', default: 600, min: 1}),
    'lagging-rate': Flags.integer({description: 'records per second the lagging group processes', default: 450, min: 1}),
    warmup: durationOption('traffic before the change (builds the lagging backlog)', 12_000),
    after: durationOption('traffic after the change', 6000),
    'metadata-max-age': durationOption('metadata refresh of the demo producers and consumers', 3000),
  }

  public async run(): Promise<void> {
    const {flags} = this
    const log = (line: string) => {
      if (!this.jsonMode) process.stdout.write(`${line}\n`)
    }
    const controller = new AbortController()
    const stop = () => controller.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const result = await runDemo({
      from: flags.from,
      to: flags.to,
      keys: flags.keys,
      ratePerSec: flags.rate,
      laggingRatePerSec: flags['lagging-rate'],
      warmupMs: flags.warmup,
      afterMs: flags.after,
      metadataMaxAgeMs: flags['metadata-max-age'],
      log,
      signal: controller.signal,
    })
    if (this.jsonMode) {
      this.printJson(summaryJson(result))
      return
    }
    process.stdout.write(`\n${renderDemo(result)}\n`)
  }
}

function summaryJson(result: DemoResult) {
  const {naive, kreorg} = result
  return {
    naive: {
      violations: naive.violations,
      lost: naive.lost,
      duplicated: naive.duplicated,
      partitionsAfter: naive.partitionsAfter,
      pausedMs: 0,
      produced: naive.produced,
    },
    kreorg: {
      violations: kreorg.violations,
      lost: kreorg.lost,
      duplicated: kreorg.duplicated,
      partitionsAfter: kreorg.partitionsAfter,
      pausedMs: kreorg.pausedMs,
      produced: kreorg.produced,
      runId: kreorg.runId,
    },
    kafka: result.kafka,
    elapsedMs: result.elapsedMs,
  }
}

function renderDemo(result: DemoResult): string {
  const {naive, kreorg} = result
  const table = renderTable(
    ['', 'NAIVE createPartitions', 'KREORG grow'],
    [
      ['topic', naive.topic, kreorg.topic],
      ['partitions after', naive.partitionsAfter, kreorg.partitionsAfter],
      ['records produced', naive.produced, kreorg.produced],
      ['per-key order violations', naive.violations, kreorg.violations],
      ['lost records', naive.lost, kreorg.lost],
      ['duplicated records', naive.duplicated, kreorg.duplicated],
      ['producers paused', '0 (never)', formatDuration(kreorg.pausedMs)],
    ],
    {alignRight: [1, 2]},
  )
  const perGroup = [naive, kreorg]
    .flatMap((side) =>
      Object.entries(side.groups).map(
        ([group, r]) =>
          `  ${group}: ${r.consumed} consumed, ${r.violations} violations, ${r.lost} lost, ${r.duplicated} duplicated${r.violatingKeys.length > 0 ? ` (e.g. ${r.violatingKeys.slice(0, 2).join(', ')})` : ''}`,
      ),
    )
    .join('\n')
  return `${table}\n\nper group:\n${perGroup}\n\nKafka ${result.kafka.version} (${result.kafka.mode}); demo took ${formatDuration(result.elapsedMs)}`
}

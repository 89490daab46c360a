import {Args, Flags} from '@oclif/core'

import {KafkaCommand} from '../src/cli/base-command.js'
import {durationOption} from '../src/cli/duration.js'
import {outputFlags} from '../src/cli/output-flags.js'
import {readTopicLag} from '../src/kafka/lag.js'
import {renderTopicLag} from '../src/ui/lag-view.js'
import {watchLoop} from '../src/ui/watch.js'

export default class Lag extends KafkaCommand<typeof Lag> {
  static override summary = "Show every consumer group's lag on a topic, per partition"
  static override description =
    'Lists each consumer group with committed offsets on the topic: state, members, lag per partition and total. ' +
    'End offsets are read fresh from the partition leaders (ListOffsets), never from cached metadata.'

  static override examples = [
    '<%= config.bin %> lag orders',
    '<%= config.bin %> lag orders --group billing --json',
    '<%= config.bin %> lag orders -o yaml',
    '<%= config.bin %> lag orders --watch --interval 2s',
  ]

  static override args = {
    topic: Args.string({description: 'topic to inspect', required: true}),
  }

  static override flags = {
    group: Flags.string({char: 'g', description: 'only this consumer group (repeatable)', multiple: true}),
    partitions: Flags.boolean({description: 'show per-partition rows for groups without lag too'}),
    watch: Flags.boolean({char: 'w', description: 'refresh until interrupted'}),
    interval: durationOption('refresh interval for --watch', 2000),
    ...outputFlags,
  }

  public async run(): Promise<void> {
    const cluster = await this.connect()
    const read = () => readTopicLag(cluster, this.args.topic, this.flags.group ? {groups: this.flags.group} : {})
    const table = (lag: Awaited<ReturnType<typeof read>>) => () => renderTopicLag(lag, {partitions: this.flags.partitions})
    if (!this.flags.watch) {
      const lag = await read()
      this.printOutput(lag, table(lag))
      return
    }
    const render = async () => {
      const lag = await read()
      return this.formatSnapshot(lag, table(lag))
    }
    await watchLoop({intervalMs: this.flags.interval, render, inPlace: process.stdout.isTTY === true && this.outputFormat === 'table'})
  }
}

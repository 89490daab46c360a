import {Args} from '@oclif/core'

import {KafkaCommand} from '../src/cli/base-command.js'
import {controlFlags, controlSecret} from '../src/cli/control-flags.js'
import {outputFlags} from '../src/cli/output-flags.js'
import {ControlChannel} from '../src/control/channel.js'
import {renderProducers} from '../src/ui/producers-view.js'

export default class Producers extends KafkaCommand<typeof Producers> {
  static override summary = 'List producer agents from their heartbeats on the control topic'
  static override description =
    'Shows every kreorg producer agent (or those of one topic): state (running, paused, stale), the partition count its producer uses, ' +
    'records it holds while paused, host, last heartbeat and the run that paused it, plus the topic lease. Read-only: never creates the control topic.'

  static override examples = [
    '<%= config.bin %> producers',
    '<%= config.bin %> producers orders --json',
    '<%= config.bin %> producers -o yaml',
  ]

  static override args = {
    topic: Args.string({description: 'only agents producing to this topic'}),
  }

  static override flags = {...controlFlags, ...outputFlags}

  public async run(): Promise<void> {
    const topic = this.args.topic
    const controlTopic = this.flags['control-topic']
    const secret = controlSecret(this.flags['control-secret-env'])
    const channel = await ControlChannel.open(this.connectionOptions(), {controlTopic, create: false, ...(secret ? {secret} : {})})
    this.onCleanup(() => channel.close())
    const agents = await channel.agents(topic, {includeStale: true})
    const lease = topic ? await channel.currentLease(topic) : undefined
    this.printOutput({controlTopic, available: channel.available, ...(topic ? {topic, lease: lease ?? null} : {}), agents}, () =>
      renderProducers(agents, {controlTopic, available: channel.available, ...(topic ? {topic} : {}), ...(lease ? {lease} : {})}),
    )
  }
}

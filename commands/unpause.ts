import {Args, Flags} from '@oclif/core'
import {KafkaCommand} from '../src/cli/base-command.js'
import {durationOption} from '../src/cli/duration.js'
import {controlFlags, controlSecret} from '../src/control/flags.js'
import {manualUnpause} from '../src/control/manual.js'
import {ControlChannel} from '../src/control/orchestrator.js'

export default class Unpause extends KafkaCommand<typeof Unpause> {
  static override summary = "Resume a topic's producer agents after `kreorg pause`"
  static override description =
    'Publishes resume through the topic lease and waits for every live agent to ack (agents refresh their metadata first), then releases the lease. ' +
    'Refused (exit 6) while a run other than a manual pause holds the lease, unless --run-id names that run.'

  static override examples = ['<%= config.bin %> unpause orders', '<%= config.bin %> unpause orders --run-id 2024-05-01T10-00-00-orders']

  static override args = {
    topic: Args.string({description: 'topic whose producers to resume', required: true}),
  }

  static override flags = {
    'run-id': Flags.string({description: "act as this run (resume a grow run's producers in an emergency)"}),
    'ack-timeout': durationOption('how long to wait for every agent to ack', 30_000),
    ...controlFlags,
  }

  public async run(): Promise<void> {
    const secret = controlSecret(this.flags['control-secret-env'])
    const channel = await ControlChannel.open(this.connectionOptions(), {controlTopic: this.flags['control-topic'], create: true, ...(secret ? {secret} : {})})
    this.onCleanup(() => channel.close())
    const result = await manualUnpause(channel, this.args.topic, {ackTimeoutMs: this.flags['ack-timeout'], ...(this.flags['run-id'] ? {runId: this.flags['run-id']} : {})})
    if (this.jsonMode) {
      this.printJson({event: 'resumed', topic: result.topic, runId: result.runId, epoch: result.epoch, agents: result.acks.map((a) => ({agentId: a.agentId, partitionCount: a.partitionCount}))})
      return
    }
    process.stdout.write(`resumed ${result.topic}: ${result.acks.length} agent(s) acked (run ${result.runId})\n`)
  }
}

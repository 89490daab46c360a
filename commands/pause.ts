import {Args} from '@oclif/core'

import {KafkaCommand} from '../src/cli/base-command.js'
import {controlFlags, controlSecret} from '../src/cli/control-flags.js'
import {durationOption} from '../src/cli/duration.js'
import {ControlChannel} from '../src/control/channel.js'
import {manualPause} from '../src/control/manual.js'

export default class Pause extends KafkaCommand<typeof Pause> {
  static override summary = "Pause a topic's producer agents (manual emergency)"
  static override description =
    "Takes the topic's lease, publishes pause and waits until every live agent has flushed its in-flight sends and acked. " +
    'The lease is not renewed after the command exits: agents resume by themselves when it lapses, or earlier with `kreorg unpause`. ' +
    'Refused (exit 6) while another run (e.g. `kreorg grow`) holds the lease; running it again during a manual pause extends it.'

  static override examples = ['<%= config.bin %> pause orders --lease 10m', '<%= config.bin %> pause orders --lease 1h --json']

  static override args = {
    topic: Args.string({description: 'topic whose producers to pause', required: true}),
  }

  static override flags = {
    lease: durationOption('how long the pause lasts unless `kreorg unpause` ends it earlier', 10 * 60_000),
    'ack-timeout': durationOption('how long to wait for every agent to ack', 30_000),
    ...controlFlags,
  }

  public async run(): Promise<void> {
    const secret = controlSecret(this.flags['control-secret-env'])
    const channel = await ControlChannel.open(this.connectionOptions(), {
      controlTopic: this.flags['control-topic'],
      create: true,
      ...(secret ? {secret} : {}),
    })
    this.onCleanup(() => channel.close())
    const result = await manualPause(channel, this.args.topic, {leaseMs: this.flags.lease, ackTimeoutMs: this.flags['ack-timeout']})
    if (this.jsonMode) {
      this.printJson({
        event: 'paused',
        topic: result.topic,
        runId: result.runId,
        epoch: result.epoch,
        leaseExpiresAt: new Date(result.leaseExpiresAt).toISOString(),
        agents: result.acks.map((a) => a.agentId),
      })
      return
    }
    process.stdout.write(
      `paused ${result.topic}: ${result.acks.length} agent(s) acked; run ${result.runId}; ` +
        `agents resume by themselves at ${new Date(result.leaseExpiresAt).toISOString()} unless \`kreorg unpause ${result.topic}\` runs first\n`,
    )
  }
}

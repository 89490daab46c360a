import {Args, Flags} from '@oclif/core'

import {KafkaCommand} from '../src/cli/base-command.js'
import {controlFlags, controlSecret} from '../src/cli/control-flags.js'
import {durationOption} from '../src/cli/duration.js'
import {ControlChannel} from '../src/control/channel.js'
import {manualUnpause} from '../src/control/manual.js'
import {KreorgError} from '../src/core/errors.js'
import {forceUnpause, forceUnpauseRisk, unfinishedGrowRun} from '../src/steps/grow/unfinished.js'

export default class Unpause extends KafkaCommand<typeof Unpause> {
  static override summary = "Resume a topic's producer agents after `kreorg pause`"
  static override description =
    'Publishes resume through the topic lease and waits for every live agent to ack (agents refresh their metadata first), then releases the lease. ' +
    'Refused (exit 6) while a run other than a manual pause holds the lease, unless --run-id names that run. ' +
    'Refused (exit 3) while a grow run on the topic is unfinished (its producers are pinned or paused until `kreorg resume <run-id>` finishes it), unless --force.'

  static override examples = [
    '<%= config.bin %> unpause orders',
    '<%= config.bin %> unpause orders --run-id 2024-05-01T10-00-00-orders',
    '<%= config.bin %> unpause orders --force',
  ]

  static override args = {
    topic: Args.string({description: 'topic whose producers to resume', required: true}),
  }

  static override flags = {
    'run-id': Flags.string({description: "act as this run (resume a grow run's producers in an emergency)"}),
    force: Flags.boolean({
      description:
        "emergency: lift an unfinished grow run's pin now. Producers then write to partitions whose consumer positions may not be proven: a group with auto.offset.reset=latest can skip those records, and moved keys can be read out of order",
    }),
    'ack-timeout': durationOption('how long to wait for every agent to ack', 30_000),
    ...controlFlags,
  }

  public async run(): Promise<void> {
    const {topic} = this.args
    const secret = controlSecret(this.flags['control-secret-env'])
    const channel = await ControlChannel.open(this.connectionOptions(), {
      controlTopic: this.flags['control-topic'],
      create: true,
      ...(secret ? {secret} : {}),
    })
    this.onCleanup(() => channel.close())
    const grow = unfinishedGrowRun(channel, topic)
    if (grow && !this.flags.force) {
      throw new KreorgError(
        'precondition',
        `grow run ${grow.runId} on ${topic} is unfinished: its producers are ${grow.state} to the old partition count until it finishes`,
        {
          suggestions: [
            `kreorg resume ${grow.runId} finishes it safely (proves consumer positions, then resumes with the new count)`,
            `--force lifts the pin now: ${forceUnpauseRisk(topic, grow.runId)}`,
          ],
        },
      )
    }
    if (grow) {
      process.stderr.write(`Warning: --force: ${forceUnpauseRisk(topic, grow.runId)}\n`)
      const cluster = await this.connect()
      const partitions = (await cluster.describeTopic(topic)).partitions.length
      const result = await forceUnpause(channel, topic, {runId: grow.runId, partitions, ackTimeoutMs: this.flags['ack-timeout']})
      if (this.jsonMode) {
        this.printJson({
          event: 'resumed',
          topic,
          runId: result.runId,
          epoch: result.epoch,
          forced: true,
          partitions,
          agents: result.acks.map((a) => ({agentId: a.agentId, partitionCount: a.partitionCount})),
        })
        return
      }
      process.stdout.write(
        `resumed ${topic} with ${partitions} partitions, pin of run ${result.runId} lifted: ${result.acks.length} agent(s) acked\n`,
      )
      return
    }
    const result = await manualUnpause(channel, topic, {
      ackTimeoutMs: this.flags['ack-timeout'],
      ...(this.flags['run-id'] ? {runId: this.flags['run-id']} : {}),
    })
    if (this.jsonMode) {
      this.printJson({
        event: 'resumed',
        topic: result.topic,
        runId: result.runId,
        epoch: result.epoch,
        agents: result.acks.map((a) => ({agentId: a.agentId, partitionCount: a.partitionCount})),
      })
      return
    }
    process.stdout.write(`resumed ${result.topic}: ${result.acks.length} agent(s) acked (run ${result.runId})\n`)
  }
}

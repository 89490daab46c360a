import {Flags} from '@oclif/core'
import {testRunbooksEnabled} from '../runbooks/index.js'
import {testMarkersRunbook} from '../runbooks/test-markers.js'
import {RunCommand} from '../src/cli/run-command.js'
import {KreorgError} from '../src/runbook/errors.js'

/** Runs the engine's test runbook (real Kafka side effects) so crash tests can spawn the real CLI. */
export default class TestRunbook extends RunCommand<typeof TestRunbook> {
  static override hidden = true
  static override summary = 'Run the engine test runbook (needs KREORG_ENABLE_TEST_RUNBOOKS=1)'

  static override flags = {
    topic: Flags.string({description: 'topic to create and write markers to', required: true}),
    group: Flags.string({description: 'consumer group whose offset is committed', required: true}),
  }

  public async run(): Promise<void> {
    if (!testRunbooksEnabled()) {
      throw new KreorgError('usage', 'test runbooks are disabled', {suggestions: ['set KREORG_ENABLE_TEST_RUNBOOKS=1']})
    }
    await this.executeRun(testMarkersRunbook, {topic: this.flags.topic, group: this.flags.group})
  }
}

import {Flags} from '@oclif/core'

import {RunCommand} from '../../../src/cli/run-command.js'
import {testMarkersRunbook} from '../test-markers.js'

/**
 * Runs the engine's test runbook (real Kafka side effects) so crash tests can spawn the real CLI.
 * Only loaded with KREORG_ENABLE_TEST_RUNBOOKS=1 from a checkout (see ../load.ts); never published.
 */
export default class TestRunbook extends RunCommand<typeof TestRunbook> {
  static override hidden = true
  static override summary = 'Run the engine test runbook (needs KREORG_ENABLE_TEST_RUNBOOKS=1)'

  static override flags = {
    topic: Flags.string({description: 'topic to create and write markers to', required: true}),
    group: Flags.string({description: 'consumer group whose offset is committed', required: true}),
  }

  public async run(): Promise<void> {
    await this.executeRun(testMarkersRunbook, {topic: this.flags.topic, group: this.flags.group})
  }
}

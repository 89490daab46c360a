import type {ConnectionFlags} from '../../src/config/resolve.js'

import {KafkaCommand} from '../../src/cli/base-command.js'
import {outputFlags} from '../../src/cli/output-flags.js'
import {showConnectionConfig} from '../../src/config/show.js'

export default class ConfigShow extends KafkaCommand<typeof ConfigShow> {
  static override summary = 'Show the effective connection settings and where each one came from'
  static override description =
    'Resolves --profile, flags and environment variables the way every command does (flags > env > profile > default), ' +
    'reads the TLS and password files to prove they are usable, and prints the result without connecting. ' +
    'Passwords and keys are always masked.'

  static override examples = [
    '<%= config.bin %> config show',
    '<%= config.bin %> config show --profile prod',
    'KAFKA_SASL_USERNAME=alice <%= config.bin %> config show --profile prod --json',
    '<%= config.bin %> config show -o yaml',
  ]

  static override flags = {...outputFlags}

  public async run(): Promise<void> {
    const view = showConnectionConfig(this.flags as unknown as ConnectionFlags, process.env)
    this.printOutput(view.json, () => view.text)
  }
}

import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {DYNAMIC_KINDS, type DynamicKind, dynamicValues} from '../src/cli/completion/index.js'

/**
 * Called by the completion scripts at TAB time: `kreorg __complete topics -- <words so far>` prints
 * one candidate per line. Never fails and never writes to stderr: a shell completion must stay quiet.
 */
export default class Complete extends BaseCommand<typeof Complete> {
  static override hidden = true
  static override summary = 'List completion candidates (used by `kreorg autocomplete` scripts)'
  static override strict = false
  static override baseFlags = {json: Flags.boolean({hidden: true})}

  static override args = {
    kind: Args.string({description: 'what to list', options: [...DYNAMIC_KINDS], required: true}),
  }

  public async run(): Promise<void> {
    const words = this.argv.slice(this.argv.indexOf('--') + 1)
    const values = await dynamicValues(this.args.kind as DynamicKind, words, process.env).catch(() => [])
    const text = values.length > 0 ? `${values.join('\n')}\n` : ''
    // A Kafka client may still be retrying a connection past the budget: the shell waits for this
    // process to end, so leave as soon as the answer is out.
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    process.stdout.write(text, () => process.exit(0))
  }

  /** A bad kind or a parse error: still nothing on stderr and exit 0, the shell just offers nothing. */
  protected override async catch(): Promise<unknown> {
    // eslint-disable-next-line n/no-process-exit, unicorn/no-process-exit
    return process.exit(0)
  }
}

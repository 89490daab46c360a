import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../src/cli/base-command.js'
import {completionScript, completionSpec, defaultShell, type Shell, SHELLS} from '../src/cli/completion/index.js'

export default class Autocomplete extends BaseCommand<typeof Autocomplete> {
  static override summary = 'Print the shell completion script for bash, zsh or fish'
  static override description =
    'Completes commands, flags, fixed flag values, profile names, run ids, and topic names from the cluster the command ' +
    'line would connect to (its --profile/--brokers, else the environment and default profile). A topic lookup gives up ' +
    'after 2 s (KREORG_COMPLETE_TIMEOUT_MS) and then offers nothing. Load the script in the current shell, or install it ' +
    "once as in the examples (bash: the bash-completion package's directory; zsh: a directory on $fpath, after compinit)."

  static override examples = [
    'source <(<%= config.bin %> autocomplete bash)',
    '<%= config.bin %> autocomplete bash > ~/.local/share/bash-completion/completions/<%= config.bin %>',
    'source <(<%= config.bin %> autocomplete zsh)',
    // A zsh expression for the user to type, not a template.
    // eslint-disable-next-line no-template-curly-in-string
    '<%= config.bin %> autocomplete zsh > "${fpath[1]}/_<%= config.bin %>"',
    '<%= config.bin %> autocomplete fish > ~/.config/fish/completions/<%= config.bin %>.fish',
  ]

  // A script is all it prints: no --json.
  static override baseFlags = {json: Flags.boolean({hidden: true})}

  static override args = {
    shell: Args.string({description: 'shell to complete for [default: the one in $SHELL, else bash]', options: [...SHELLS]}),
  }

  public async run(): Promise<void> {
    const shell = (this.args.shell as Shell | undefined) ?? defaultShell(process.env)
    const spec = completionSpec({bin: this.config.bin, topicSeparator: this.config.topicSeparator, commands: this.config.commands})
    process.stdout.write(completionScript(shell, spec))
  }
}

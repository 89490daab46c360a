import {Args} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import {SHELLS, completionScript, completionSpec, defaultShell, type Shell} from '../src/cli/completion/index.js'

export default class Autocomplete extends BaseCommand<typeof Autocomplete> {
  static override summary = 'Print the shell completion script for bash, zsh or fish'
  static override description = [
    'Completes commands, flags, fixed flag values, profile names, run ids, and topic names from the cluster the',
    'command line would connect to (its --profile/--brokers, else the environment); topic lookups give up after 2 s',
    '(KREORG_COMPLETE_TIMEOUT_MS) and then offer nothing. Load it in the current shell, or install it once:',
    '  bash: source <(kreorg autocomplete bash)   or   kreorg autocomplete bash > ~/.local/share/bash-completion/completions/kreorg',
    // A zsh expression for the user to type, not a template.
    // eslint-disable-next-line no-template-curly-in-string
    '  zsh:  source <(kreorg autocomplete zsh)    or   kreorg autocomplete zsh > "${fpath[1]}/_kreorg"',
    '  fish: kreorg autocomplete fish | source    or   kreorg autocomplete fish > ~/.config/fish/completions/kreorg.fish',
  ].join('\n')

  static override examples = ['<%= config.bin %> autocomplete bash', 'source <(<%= config.bin %> autocomplete zsh)']

  static override args = {
    shell: Args.string({description: 'shell to complete for [default: the one in $SHELL, else bash]', options: [...SHELLS]}),
  }

  public async run(): Promise<void> {
    const shell = (this.args.shell as Shell | undefined) ?? defaultShell(process.env)
    const spec = completionSpec({bin: this.config.bin, topicSeparator: this.config.topicSeparator, commands: this.config.commands})
    process.stdout.write(completionScript(shell, spec))
  }
}

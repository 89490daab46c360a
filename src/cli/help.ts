import {Command, Help} from '@oclif/core'

import {exitCodeHelp} from '../core/errors.js'

/** Every command's `--help` ends with the exit-code table, so scripts can be written from `--help` alone. */
export default class KreorgHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    return `${super.formatCommand(command)}\n\n${exitCodeHelp()}`
  }
}

import {Errors, Flags} from '@oclif/core'

import {formatDuration, parseDuration} from '../core/duration.js'

export {formatDuration, parseDuration} from '../core/duration.js'

/** A flag holding a duration; oclif reports a bad value as a usage error (exit 2). */
export const durationFlag = Flags.custom<number>({
  async parse(input) {
    try {
      return parseDuration(input)
    } catch (error) {
      // oclif keeps an `oclif.exit` it finds on a flag's parse error; a plain Error would exit 1.
      throw new Errors.CLIError((error as Error).message, {exit: 2})
    }
  },
  helpValue: '<duration>',
})

/** A duration flag with a default, shown in `--help` as a duration ("30m") rather than milliseconds. */
export function durationOption(description: string, defaultMs: number, options: {helpGroup?: string} = {}) {
  return durationFlag({
    description,
    default: defaultMs,
    defaultHelp: async () => formatDuration(defaultMs),
    ...options,
  })
}

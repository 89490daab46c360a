import {Flags} from '@oclif/core'

import {KreorgError} from '../core/errors.js'
import {OUTPUT_FORMATS, type OutputFormat} from '../ui/output-format.js'

export {OUTPUT_FORMATS, type OutputFormat} from '../ui/output-format.js'

/**
 * `-o table|json|yaml` for the read commands. `--json` (every command's flag) stays and means
 * `-o json`, so scripts written against `--json` keep working.
 */
export const outputFlags = {
  output: Flags.string({
    char: 'o',
    description: 'output format: table (for people), json (same as --json) or yaml',
    options: [...OUTPUT_FORMATS],
    helpValue: 'table|json|yaml',
    helpGroup: 'OUTPUT',
  }),
}

/** The format `--json` and `-o` ask for together; contradicting each other is a usage error. */
export function outputFormatOf(flags: {json?: boolean | undefined; output?: string | undefined}): OutputFormat {
  const output = flags.output as OutputFormat | undefined
  if (flags.json && output && output !== 'json') {
    throw new KreorgError('usage', `--json and -o ${output} ask for different formats`, {suggestions: ['pass one of them']})
  }
  if (flags.json) return 'json'
  return output ?? 'table'
}

import type {ErrorInfo} from '../runbook/types.js'

import {maskSecrets} from '../core/redact.js'

/**
 * Every error kreorg shows goes through here, so each is masked the same way: messages can quote
 * client-library errors that echo a password or key this process resolved.
 */

/** A step's error as one phrase: the message, then its cause when the message does not already say it. */
export function describeError(error: Pick<ErrorInfo, 'message' | 'cause'>): string {
  const cause = error.cause && !error.message.includes(error.cause) ? `: ${error.cause}` : ''
  return maskSecrets(`${error.message}${cause}`)
}

export interface ErrorLineSource {
  message: string
  step?: string | null | undefined
  suggestions: readonly string[]
}

/** The masked parts of an error, for the one stderr line and the `--json` error event. */
export function maskedError(error: ErrorLineSource): {message: string; suggestions: string[]} {
  return {message: maskSecrets(error.message), suggestions: error.suggestions.map((s) => maskSecrets(s))}
}

/**
 * `Error: [step] message (hint; hint)`: one line, not oclif's wrapped box, so it survives log
 * collectors and `2>&1 | tail -1`.
 */
export function errorLine(error: ErrorLineSource): string {
  const {message, suggestions} = maskedError(error)
  const prefix = error.step ? `[${error.step}] ` : ''
  const hint = suggestions.length > 0 ? ` (${suggestions.join('; ')})` : ''
  return `Error: ${prefix}${message}${hint}`
}

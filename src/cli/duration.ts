import ms from 'ms'
import {Errors, Flags} from '@oclif/core'

/** Parses "500ms", "10s", "5m", "1h" (the `ms` library) into milliseconds; bare numbers are seconds. */
export function parseDuration(input: string): number {
  const trimmed = input.trim()
  const value = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : ms(trimmed as ms.StringValue)
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`"${input}" is not a duration: use e.g. 500ms, 10s, 5m, 1h`)
  }
  return value
}

export function formatDuration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.round(milliseconds)}ms`
  if (milliseconds < 60_000) return `${(milliseconds / 1000).toFixed(1)}s`
  const minutes = Math.floor(milliseconds / 60_000)
  const seconds = Math.round((milliseconds % 60_000) / 1000)
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`
}

/** A flag holding a duration; oclif reports a bad value as a usage error (exit 2). */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
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

import ms from 'ms'

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

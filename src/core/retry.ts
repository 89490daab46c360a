import {setTimeout as sleep} from 'node:timers/promises'

export interface RetryOptions {
  /** Attempts in all, the first one included. */
  attempts: number
  /** Pause between two attempts. */
  delayMs: number
  /** Whether a failure is worth another attempt; any other failure is rethrown at once, unchanged. */
  retryIf(error: unknown): boolean
  /** Told about each failure that will be retried, before the pause (progress lines). */
  onRetry?(error: unknown, attempt: number): void
  /** Aborting it ends the pause with an AbortError. Without it the pause always runs to its end. */
  signal?: AbortSignal
}

/**
 * Runs `work` until it succeeds, a failure is not worth retrying, or the attempts are used up; then
 * the last failure is rethrown as it is. A fixed pause, no jitter: the callers wait out one broker or
 * controller failing over, not a crowd of clients.
 *
 * (Not p-retry: its current major needs Node 22, and kreorg supports Node 20.)
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt)
    } catch (error) {
      if (attempt >= options.attempts || !options.retryIf(error)) throw error
      options.onRetry?.(error, attempt)
      await sleep(options.delayMs, undefined, options.signal ? {signal: options.signal} : undefined)
    }
  }
}

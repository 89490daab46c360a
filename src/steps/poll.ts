import {setTimeout as sleep} from 'node:timers/promises'
import {KreorgError} from '../runbook/errors.js'

export interface PollOptions {
  intervalMs: number
  timeoutMs: number
  signal?: AbortSignal
  /** Message for the timeout error; receives the last observation. */
  timeoutMessage: (elapsedMs: number) => string
  suggestions?: string[]
}

/**
 * Re-reads live state until `attempt` returns a value (not undefined). Every step that waits on the
 * cluster (drain, pickup, verify) goes through here, so timeouts and Ctrl-C behave the same everywhere.
 */
export async function pollUntil<T>(attempt: () => Promise<T | undefined>, options: PollOptions): Promise<T> {
  const started = Date.now()
  for (;;) {
    options.signal?.throwIfAborted()
    const value = await attempt()
    if (value !== undefined) return value
    const elapsed = Date.now() - started
    if (elapsed >= options.timeoutMs) {
      throw new KreorgError('timeout', options.timeoutMessage(elapsed), {suggestions: options.suggestions ?? []})
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, options.timeoutMs - elapsed)), undefined, {signal: options.signal}).catch((error: unknown) => {
      if (options.signal?.aborted) throw options.signal.reason ?? error
      throw error
    })
  }
}

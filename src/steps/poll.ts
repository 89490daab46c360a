import {setTimeout as sleep} from 'node:timers/promises'

import {KreorgError} from '../core/errors.js'
import {isTransientKafkaError} from '../kafka/errors.js'

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
  let transient: unknown
  for (;;) {
    options.signal?.throwIfAborted()
    let value: T | undefined
    try {
      value = await attempt()
      transient = undefined
    } catch (error) {
      // A broker failing over must not fail a step that only reads: poll again until the timeout.
      if (!isTransientKafkaError(error)) throw error
      transient = error
    }
    if (value !== undefined) return value
    const elapsed = Date.now() - started
    if (elapsed >= options.timeoutMs) {
      const last = transient === undefined ? '' : ` (last error: ${transient instanceof Error ? transient.message : String(transient)})`
      throw new KreorgError('timeout', `${options.timeoutMessage(elapsed)}${last}`, {
        suggestions: options.suggestions ?? [],
        ...(transient === undefined ? {} : {cause: transient}),
      })
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, options.timeoutMs - elapsed)), undefined, {signal: options.signal}).catch(
      (error: unknown) => {
        if (options.signal?.aborted) throw options.signal.reason ?? error
        throw error
      },
    )
  }
}

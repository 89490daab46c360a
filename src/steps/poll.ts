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
 * A Kafka client error that the next attempt may well not hit: a broker died or restarted, a leader
 * moved, a connection was reset. Recognised by name/flag so this file needs no client import.
 */
export function isTransientKafkaError(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || !error.name.startsWith('KafkaJS')) return false
  if ((error as {retriable?: unknown}).retriable === true) return true
  if (/Connection|Timeout|NumberOfRetriesExceeded|BrokerNotFound|Metadata/.test(error.name)) return true
  // kafkajs's retrier wraps what it gave up on as KafkaJSNonRetriableError; judge the original.
  const cause = (error as {cause?: unknown}).cause
  return depth < 3 && cause !== error && isTransientKafkaError(cause, depth + 1)
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
      throw new KreorgError('timeout', `${options.timeoutMessage(elapsed)}${last}`, {suggestions: options.suggestions ?? [], ...(transient === undefined ? {} : {cause: transient})})
    }
    await sleep(Math.min(options.intervalMs, Math.max(0, options.timeoutMs - elapsed)), undefined, {signal: options.signal}).catch((error: unknown) => {
      if (options.signal?.aborted) throw options.signal.reason ?? error
      throw error
    })
  }
}

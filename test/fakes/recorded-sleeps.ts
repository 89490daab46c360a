/**
 * Retry pauses are real seconds; unit tests record them instead, so they can say which pauses a step
 * took. Use from a test file as:
 *
 *   vi.mock('node:timers/promises', async (original) => (await import('../fakes/recorded-sleeps.js')).recordedTimers(original))
 *   import {sleeps} from '../fakes/recorded-sleeps.js'
 *
 * (vi.mock is hoisted above imports, so its factory loads this module itself; both get the same instance.)
 */
type TimersPromises = typeof import('node:timers/promises')

/** Every pause asked of `setTimeout` from node:timers/promises, in order (ms). Tests reset it with `sleeps.length = 0`. */
export const sleeps: number[] = []

export async function recordedTimers(importOriginal: <T>() => Promise<T>): Promise<TimersPromises> {
  const actual = await importOriginal<TimersPromises>()
  return {
    ...actual,
    async setTimeout<T>(ms?: number, value?: T, options?: {signal?: AbortSignal}): Promise<T> {
      sleeps.push(ms ?? 0)
      options?.signal?.throwIfAborted()
      return value as T
    },
  } as TimersPromises
}

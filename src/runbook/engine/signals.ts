/** How a run meets SIGINT/SIGTERM: steps get a grace period to settle, services a bounded close. */

export const DEFAULT_GRACE_MS = 1500
export const CLOSE_TIMEOUT_MS = 5000

/** The run was interrupted while a step (or setup) was still working: checkpoint and stop. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted')
  }
}

/** Waits for `work`; once `signal` aborts, gives it `graceMs` to settle, then rejects with Interrupted. */
export function settleOrInterrupt<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const onAbort = () => {
      timer = setTimeout(() => reject(new Interrupted()), graceMs)
    }
    const cleanup = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (value) => {
        cleanup()
        resolve(value)
      },
      (error: unknown) => {
        cleanup()
        reject(error)
      },
    )
  })
}

export async function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([work.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

/** An AbortController that follows `outer` (the command's signal); `detach` stops following it. */
export function followSignal(outer: AbortSignal | undefined): {controller: AbortController; detach(): void} {
  const controller = new AbortController()
  const forward = () => controller.abort(outer?.reason)
  if (outer?.aborted) forward()
  outer?.addEventListener('abort', forward, {once: true})
  return {controller, detach: () => outer?.removeEventListener('abort', forward)}
}

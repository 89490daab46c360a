import type {GrowContext} from './context.js'

import {isKreorgError, KreorgError} from '../../core/errors.js'

/**
 * After add-partitions every failure is exit 7: the topic has grown and producers are paused or
 * pinned to the old count, so the only way on is `kreorg resume <id>` (exit 3 and 4 keep meaning
 * "nothing changed, producers running unpinned"). Interrupts stay interrupts (130, resumable).
 */
export function incomplete(ctx: Pick<GrowContext, 'runId' | 'signal'>, error: unknown): unknown {
  if (ctx.signal.aborted) return error
  if (isKreorgError(error) && (error.code === 'interrupted' || error.code === 'incomplete')) return error
  if (!isKreorgError(error) && !(error instanceof Error)) return error
  const resume = `kreorg resume ${ctx.runId} finishes the run once the cause is fixed: producers stay paused or pinned to the old partition count until then`
  if (isKreorgError(error)) {
    const wrapped = new KreorgError('incomplete', `partitions were added but the run did not finish: ${error.message}`, {
      ...(error.step === undefined ? {} : {step: error.step}),
      suggestions: [...error.suggestions.filter((s) => !/nothing was changed/.test(s)), resume],
      cause: error,
    })
    wrapped.stack = error.stack
    return wrapped
  }
  return new KreorgError(
    'incomplete',
    `partitions were added but the run did not finish: ${error instanceof Error ? error.message : String(error)}`,
    {suggestions: [resume], cause: error},
  )
}

type StepRun<R> = (ctx: GrowContext) => Promise<R>

/** A step after add-partitions: its failures carry exit 7. */
export function afterAlter<R>(run: StepRun<R>): StepRun<R> {
  return async (ctx) => {
    try {
      return await run(ctx)
    } catch (error) {
      throw incomplete(ctx, error)
    }
  }
}

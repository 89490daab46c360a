import type {GrowContext} from './context.js'

import {describeCause, isKreorgError} from '../../core/errors.js'
import {retry} from '../../core/retry.js'
import {isTransientKafkaError} from '../../kafka/errors.js'
import {ensureLease, partitionsAdded} from './lease.js'
import {releaseLease} from './preflight.js'
import {unpinProducers} from './producers.js'
import {topicViews} from './topic-set.js'

/**
 * A step failed (not an interrupt). Before add-partitions nothing is lost by going back: lift the
 * pin (a resume with the unchanged count) and release the lease. After it there is no undo — Kafka
 * cannot remove partitions — so producers stay pinned (or paused under the lease, which lapses by
 * itself, leaving them pinned) and the error, exit 7, says to resume.
 */
export async function undoBeforeAlter(ctx: GrowContext, failedStep: string): Promise<void> {
  if (failedStep === 'post-check') return
  const views = topicViews(ctx)
  // One grown topic is enough: the set goes forward together (a co-partitioned pair must not be half unpinned).
  for (const view of views) if (await partitionsAdded(view).catch(() => true)) return
  for (const view of views) await undoTopicBeforeAlter(view, failedStep)
}

async function undoTopicBeforeAlter(ctx: GrowContext, failedStep: string): Promise<void> {
  if (ctx.results['pin-producers'] !== undefined || failedStep === 'pin-producers') {
    try {
      // The failure may be a broker failing over: give the resume a few tries before leaving it to the lease.
      // No signal: an interrupted failure path would leave producers pinned.
      await retry(() => unpinProducers(ctx), {
        attempts: 6,
        delayMs: 2000,
        retryIf: (error) => isTransientKafkaError(error) && !(isKreorgError(error) && error.code === 'incomplete'),
      })
      ctx.warn('the pin was lifted and producers keep running; the topic was not changed')
    } catch (error) {
      ctx.warn(
        `could not confirm that every producer was unpinned (${describeCause(error)}); the topic is unchanged, so \`kreorg unpause ${ctx.inputs.topic} --force\` lifts the pin safely`,
      )
    }
  }
  await releaseLease(ctx).catch(() => {})
}

/**
 * On resume the checkpoint says which steps finished, but the pin and the pause live in the
 * cluster. Before the alter, a lease that lapsed while kreorg was stopped means pinning again with
 * this attempt's epoch. After it, only forward makes sense: if producers were paused and the lease
 * lapsed, they resumed by themselves (still pinned), so pause and drain again.
 */
export async function revalidateGrow(ctx: GrowContext): Promise<string | undefined> {
  const redo = new Set<string | undefined>()
  for (const view of topicViews(ctx)) redo.add(await revalidateTopic(view))
  // Redo from the earliest step any topic needs: pinning again comes before pausing again.
  return (['pin-producers', 'pause-producers'] as const).find((step) => redo.has(step))
}

async function revalidateTopic(ctx: GrowContext): Promise<string | undefined> {
  if (ctx.results.preflight === undefined) return undefined
  const lease = await ctx.services.control.currentLease(ctx.inputs.topic)
  const ourLeaseHolds = lease !== undefined && lease.runId === ctx.runId && lease.expiresAt > Date.now()
  await ensureLease(ctx)
  if (!(await partitionsAdded(ctx))) {
    if (ctx.results['pin-producers'] !== undefined && !ourLeaseHolds) {
      ctx.warn('the lease lapsed while kreorg was stopped: pinning the producers again before adding partitions')
      return 'pin-producers'
    }
    return undefined
  }
  const paused = ctx.results['pause-producers'] !== undefined
  const resumed = ctx.results['resume-producers'] !== undefined
  if (paused && !resumed && !ourLeaseHolds) {
    ctx.warn(
      'the pause lease lapsed while kreorg was stopped, so producers resumed pinned to the original layout: pausing and draining again',
    )
    return 'pause-producers'
  }
  return undefined
}

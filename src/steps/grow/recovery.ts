import {setTimeout as sleep} from 'node:timers/promises'
import {describeCause} from '../../runbook/errors.js'
import {isTransientKafkaError} from '../poll.js'
import {resumeProducers} from './producers.js'
import {ensureLease, partitionsAdded, type GrowContext} from './lease.js'
import {releaseLease} from './preflight.js'

/**
 * A step failed (not an interrupt). Before add-partitions nothing is lost by going back: resume the
 * producers and release the lease. After it there is no undo — Kafka cannot remove partitions — so
 * producers stay paused under the lease (which lapses by itself) and the error says to resume.
 */
export async function undoBeforeAlter(ctx: GrowContext, failedStep: string): Promise<void> {
  if (failedStep === 'post-check' || (await partitionsAdded(ctx).catch(() => true))) return
  if (ctx.results['pause-producers'] !== undefined || failedStep === 'pause-producers') {
    try {
      // The failure may be a broker failing over: give the resume a few tries before leaving it to the lease.
      for (let attempt = 1; ; attempt++) {
        try {
          await resumeProducers(ctx)
          break
        } catch (error) {
          if (attempt >= 6 || !isTransientKafkaError(error)) throw error
          await sleep(2_000)
        }
      }
      ctx.warn('producers resumed; the topic was not changed')
    } catch (error) {
      ctx.warn(`could not confirm that every producer resumed (${describeCause(error)}); agents resume by themselves when the lease lapses`)
    }
  }
  await releaseLease(ctx).catch(() => {})
}

/**
 * On resume the checkpoint says which steps finished, but the pause lives in the cluster: if the
 * lease lapsed while kreorg was dead, agents resumed by themselves and pause/quiesce/drain no longer
 * hold. Redo them — unless partitions were already added, in which case only forward makes sense.
 */
export async function revalidateGrow(ctx: GrowContext): Promise<string | undefined> {
  if (ctx.results['preflight'] === undefined) return undefined
  const lease = await ctx.services.control.currentLease(ctx.inputs.topic)
  const ourLeaseHolds = lease !== undefined && lease.runId === ctx.runId && lease.expiresAt > Date.now()
  await ensureLease(ctx)
  const paused = ctx.results['pause-producers'] !== undefined
  const resumed = ctx.results['resume-producers'] !== undefined
  if (paused && !resumed && !ourLeaseHolds) {
    // Agents resumed by themselves, pinned to the original layout (see the control protocol), so
    // nothing was written to new partitions — but groups have new records to drain before any key
    // may move. Pause and drain again; add-partitions is skipped if it already happened.
    ctx.warn('the pause lease lapsed while kreorg was stopped, so producers resumed on the original layout: pausing and draining again')
    return 'pause-producers'
  }
  return undefined
}

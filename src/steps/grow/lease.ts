import {hostname} from 'node:os'

import type {GrowContext, LeaseHandle} from './context.js'

import {KreorgError} from '../../core/errors.js'

/**
 * The lease is held by the live process, not the checkpoint: after a resume the run re-acquires it
 * (re-entrant for its own run id) before any step that changes the cluster or the producers.
 */
export async function ensureLease(ctx: GrowContext): Promise<LeaseHandle> {
  const current = ctx.services.lease
  if (current && current.valid()) return current
  const lease = await ctx.services.control.acquireLease(
    ctx.inputs.topic,
    {runId: ctx.runId, host: ctx.inputs.host || hostname(), pid: process.pid, epoch: ctx.services.epoch},
    ctx.inputs.leaseMs,
  )
  ctx.services.lease = lease
  return lease
}

/**
 * Right before an irreversible change. A lease that lapsed even once may have let agents resume, and
 * one about to lapse could let them resume mid-alter: both stop the run (before add-partitions the
 * failure path resumes producers; `kreorg resume` pauses and drains again).
 */
export function requireFreshLease(ctx: GrowContext, step: string): LeaseHandle {
  const lease = ctx.services.lease
  const margin = Math.min(10_000, ctx.inputs.leaseMs / 3)
  if (!lease || !lease.valid() || lease.expiresAt - Date.now() < margin) {
    throw new KreorgError(
      'precondition',
      `the pause lease on ${ctx.inputs.topic} is not held with ${Math.round(margin / 1000)}s to spare`,
      {
        step,
        suggestions: [`kreorg resume ${ctx.runId} pins the producers again before adding partitions`],
      },
    )
  }
  return lease
}

/** The partition count the topic had when the run started (preflight), before anything was added. */
export function originalPartitionCount(ctx: GrowContext): number | undefined {
  return ctx.results.preflight?.partitions
}

/**
 * Whether partitions were added by this run: recorded by add-partitions, or — when a redo skipped
 * it because the topic already had the target count — visible in the topic itself.
 */
export async function partitionsAdded(ctx: GrowContext): Promise<boolean> {
  if (ctx.results['add-partitions'] !== undefined) return true
  const original = originalPartitionCount(ctx)
  if (original === undefined) return false
  return (await ctx.services.cluster.describeTopic(ctx.inputs.topic)).partitions.length > original
}

/**
 * Several topics, one run (issue 16): `kreorg grow orders payments --to 16`. Most steps do for each
 * topic what they do for one, in turn, inside the same step — so every topic is pinned before any
 * partition is added, every topic is paused before any drain starts, and no topic resumes before
 * every topic's fence held. Each step then records one result per topic under `byTopic` (the first
 * topic's also at the top level, so a single-topic checkpoint and its readers look as before).
 *
 * A step body written for one topic runs against a *topic view* of the context: `inputs.topic`/`to`
 * are that topic's, `results` are that topic's results, the lease is that topic's lease, and
 * progress lines name the topic.
 */
import type {GrowContext, LeaseHandle} from './context.js'
import type {PerTopic} from './results.js'

import {KreorgError} from '../../core/errors.js'
import {type GrowTarget, growTargets} from './inputs.js'

type StepRun<R> = (ctx: GrowContext) => Promise<R>

export function isMultiTopic(ctx: Pick<GrowContext, 'inputs'>): boolean {
  return growTargets(ctx.inputs).length > 1
}

/** Where each topic's lease lives while a multi-topic run holds several. */
const leasesOf = new WeakMap<object, Map<string, LeaseHandle | undefined>>()

/** `ctx` as seen by a step body working on `target` alone. A single-topic run gets `ctx` itself. */
export function topicView(ctx: GrowContext, target: GrowTarget): GrowContext {
  if (!isMultiTopic(ctx)) return ctx
  const {topic, to} = target
  const results: Record<string, unknown> = {}
  for (const [step, value] of Object.entries(ctx.results)) {
    const byTopic = (value as {byTopic?: Record<string, unknown>} | undefined)?.byTopic
    const own = byTopic ? byTopic[topic] : value
    if (own !== undefined) results[step] = own
  }
  const leases = leasesOf.get(ctx.services) ?? new Map<string, LeaseHandle | undefined>()
  leasesOf.set(ctx.services, leases)
  // Everything else (cluster, control channel, epoch) is shared: only the lease is per topic.
  const services = Object.create(ctx.services, {
    lease: {
      get() {
        return leases.get(topic)
      },
      set(lease: LeaseHandle | undefined) {
        leases.set(topic, lease)
      },
      enumerable: true,
    },
  }) as GrowContext['services']
  const {targets: _targets, ...single} = ctx.inputs
  return {
    ...ctx,
    inputs: {...single, topic, to},
    results: Object.freeze(results) as GrowContext['results'],
    services,
    progress: (message, data) => ctx.progress(`${topic}: ${message}`, data),
    warn: (message) => ctx.warn(`${topic}: ${message}`),
  }
}

/** One topic view per target, in the order the operator named the topics. */
export function topicViews(ctx: GrowContext): GrowContext[] {
  return growTargets(ctx.inputs).map((target) => topicView(ctx, target))
}

/** Records per-topic results: the first topic's at the top level, all under `byTopic` (multi-topic only). */
export function perTopicResult<R extends object>(ctx: GrowContext, results: R[]): PerTopic<R> {
  if (!isMultiTopic(ctx)) return results[0]!
  const targets = growTargets(ctx.inputs)
  const byTopic: Record<string, R> = {}
  targets.forEach((target, index) => (byTopic[target.topic] = results[index]!))
  return {...results[0]!, byTopic}
}

/**
 * A step body for one topic, run for each topic of the set in turn (or all at once with
 * `parallel`, for steps that only read and wait, like post-check).
 */
export function eachTopic<R extends object>(run: StepRun<R>, options: {parallel?: boolean} = {}): StepRun<PerTopic<R>> {
  return async (ctx) => {
    const views = topicViews(ctx)
    if (views.length === 1) return run(ctx)
    if (options.parallel) return perTopicResult(ctx, await Promise.all(views.map((view) => run(view))))
    const results: R[] = []
    for (const view of views) results.push(await run(view))
    return perTopicResult(ctx, results)
  }
}

/** An undo for one topic, run for every topic of the set (each is attempted; the first failure is rethrown). */
export function eachTopicUndo(undo: (ctx: GrowContext) => Promise<void>): (ctx: GrowContext) => Promise<void> {
  return async (ctx) => {
    let failure: unknown
    for (const view of topicViews(ctx)) await undo(view).catch((error: unknown) => (failure ??= error))
    if (failure !== undefined) throw failure
  }
}

/**
 * Topics that are co-partitioned today (same partition count) must stay so: a join reading both
 * would fail ("Topics not co-partitioned") or, worse, join keys that no longer meet. Returns the
 * refusal, or undefined when every pair keeps matching counts.
 */
export function coPartitionBreak(targets: readonly GrowTarget[], counts: ReadonlyMap<string, number>): KreorgError | undefined {
  for (let i = 0; i < targets.length; i++) {
    for (let j = i + 1; j < targets.length; j++) {
      const a = targets[i]!
      const b = targets[j]!
      const count = counts.get(a.topic)
      if (count === undefined || count !== counts.get(b.topic) || a.to === b.to) continue
      return new KreorgError(
        'precondition',
        `${a.topic} and ${b.topic} both have ${count} partitions today (co-partitioned: a join by key needs equal counts) but would end at ${a.to} and ${b.to}`,
        {
          suggestions: [
            `grow them to the same count (e.g. --to ${Math.max(a.to, b.to)}); nothing was changed`,
            'if no application joins them, grow them in separate runs',
          ],
        },
      )
    }
  }
  return undefined
}

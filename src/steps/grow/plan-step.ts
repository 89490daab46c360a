import type {GrowContext} from './context.js'
import type {PerTopic} from './results.js'

import {KreorgError} from '../../core/errors.js'
import {growTargets} from './inputs.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'
import {perTopicResult, topicViews} from './topic-set.js'

/** Every topic's plan, then one confirmation for the whole set. */
export async function planStep(ctx: GrowContext): Promise<PerTopic<GrowPlan>> {
  const together = growTargets(ctx.inputs).map((t) => t.topic)
  const plans: GrowPlan[] = []
  for (const view of topicViews(ctx)) {
    const agents = await view.services.control.agents(view.inputs.topic)
    const plan = await buildGrowPlan({
      cluster: view.services.cluster,
      inputs: view.inputs,
      agents,
      control: view.services.control,
      signal: view.signal,
      onProgress: (message) => view.progress(message),
      growingTogether: together.filter((topic) => topic !== view.inputs.topic),
    })
    for (const warning of plan.warnings) view.warn(warning)
    plans.push(plan)
  }
  const blockers = plans.flatMap((plan) => (plans.length === 1 ? plan.blockers : plan.blockers.map((b) => `${plan.topic}: ${b}`)))
  if (blockers.length > 0) {
    throw new KreorgError('precondition', blockers.join('; '), {
      suggestions: ['nothing was changed; producers were not pinned or paused'],
    })
  }
  const result = perTopicResult(ctx, plans)
  const agents = plans.reduce((sum, plan) => sum + plan.agents.length, 0)
  const groups = plans.reduce((sum, plan) => sum + plan.groups.filter((g) => !g.ignored).length, 0)
  const what = plans.map((plan) => `${plan.topic} ${plan.from} → ${plan.to}`).join(', ')
  const proceed = await ctx.confirm(
    `Pin ${agents} producer agent(s) to the current partition count, grow ${what}, prove ${groups} group(s) on the new partitions, then pause, drain and resume?`,
    result,
  )
  if (!proceed) throw new KreorgError('declined', 'declined at the confirmation prompt; nothing was changed')
  return result
}

import type {GrowContext} from './context.js'

import {KreorgError} from '../../core/errors.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'

export async function planStep(ctx: GrowContext): Promise<GrowPlan> {
  const agents = await ctx.services.control.agents(ctx.inputs.topic)
  const plan = await buildGrowPlan({
    cluster: ctx.services.cluster,
    inputs: ctx.inputs,
    agents,
    control: ctx.services.control,
    signal: ctx.signal,
    onProgress: (message) => ctx.progress(message),
  })
  for (const warning of plan.warnings) ctx.warn(warning)
  if (plan.blockers.length > 0) {
    throw new KreorgError('precondition', plan.blockers.join('; '), {
      suggestions: ['nothing was changed; producers were not pinned or paused'],
    })
  }
  const proceed = await ctx.confirm(
    `Pin ${agents.length} producer agent(s) of ${ctx.inputs.topic} to ${plan.from} partitions, grow to ${plan.to}, prove ${plan.groups.filter((g) => !g.ignored).length} group(s) on the new partitions, then pause, drain and resume?`,
    plan,
  )
  if (!proceed) throw new KreorgError('declined', 'declined at the confirmation prompt; nothing was changed')
  return plan
}

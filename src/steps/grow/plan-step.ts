import {KreorgError} from '../../runbook/errors.js'
import {buildGrowPlan, type GrowPlan} from './plan.js'
import type {GrowContext} from './lease.js'

export async function planStep(ctx: GrowContext): Promise<GrowPlan> {
  const agents = await ctx.services.control.agents(ctx.inputs.topic)
  const plan = await buildGrowPlan({
    cluster: ctx.services.cluster,
    inputs: ctx.inputs,
    agents,
    signal: ctx.signal,
    onProgress: (message) => ctx.progress(message),
  })
  for (const warning of plan.warnings) ctx.warn(warning)
  if (plan.blockers.length > 0) {
    throw new KreorgError('precondition', plan.blockers.join('; '), {suggestions: ['nothing was changed; producers were not paused']})
  }
  const proceed = await ctx.confirm(
    `Pause ${agents.length} producer agent(s) of ${ctx.inputs.topic}, drain ${plan.groups.filter((g) => !g.ignored).length} group(s) and grow ${plan.from} → ${plan.to} partitions?`,
    plan,
  )
  if (!proceed) throw new KreorgError('declined', 'declined at the confirmation prompt; nothing was changed')
  return plan
}

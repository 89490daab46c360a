import type {ConnectorRef} from '../../connect/records.js'
import type {GrowContext, ResumeResult} from '../grow/context.js'
import type {PerTopic} from '../grow/results.js'

import {partitionsAdded} from '../grow/lease.js'
import {perTopicResult, topicViews} from '../grow/topic-set.js'
import {recoverWithConnect, restartBeforeResume, resumeConnectorsAfter} from './steps.js'

type Run<R> = (ctx: GrowContext) => Promise<R>

/**
 * resume-producers for a set of topics with Kafka Connect: every topic's paused tasks restarted, then
 * the producers of every topic (each fence checked before any topic resumes), then every topic's
 * connectors resumed. A single topic is the same sequence.
 */
export function resumeTopicsWithConnect(resume: Run<PerTopic<ResumeResult>>): Run<PerTopic<ResumeResult>> {
  return async (ctx) => {
    const views = topicViews(ctx)
    const restarted: Array<Array<ConnectorRef & {tasks: number[]}> | undefined> = []
    for (const view of views) restarted.push(await restartBeforeResume(view))
    const result = await resume(ctx)
    const byTopic = result.byTopic ?? {[ctx.inputs.topic]: result}
    const results: ResumeResult[] = []
    for (const [index, view] of views.entries()) {
      const own = byTopic[view.inputs.topic]!
      const connect = await resumeConnectorsAfter(view, restarted[index])
      results.push(connect ? {...own, connect} : own)
    }
    return perTopicResult(ctx, results)
  }
}

/** The failure path for a set: the pins first (all topics), then each topic's connectors paused by this run. */
export function recoverTopicsWithConnect<E>(onFailure: (ctx: GrowContext, failedStep: string, error: E) => Promise<void>) {
  const connectOnly = recoverWithConnect<E>(async () => {})
  return async (ctx: GrowContext, failedStep: string, error: E): Promise<void> => {
    await onFailure(ctx, failedStep, error)
    const views = topicViews(ctx)
    // One grown topic and the set only goes forward: every connector stays paused until `kreorg resume`.
    for (const view of views) if (await partitionsAdded(view).catch(() => true)) return
    for (const view of views) await connectOnly(view, failedStep, error)
  }
}

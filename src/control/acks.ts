/** Waiting for agents' acks to a command, on the fold and the stream of its changes. */
import type {EventEmitter} from 'node:events'

import type {WaitForAcksOptions} from './port.js'
import type {Ack, Heartbeat} from './schema.js'
import type {AckEntry, StateChange} from './state.js'

import {KreorgError} from '../core/errors.js'

/** The channel emits every change its folds report (control topic and heartbeat topic). */
export type ControlChanges = {change: [StateChange]}

/** What waiting needs to read: the latest ack per agent, and heartbeats to name agents that did not ack. */
export interface AckSource {
  ack(topic: string, agentId: string): AckEntry | undefined
  heartbeat(agentId: string): Heartbeat | undefined
}

function matches(ack: Ack, options: WaitForAcksOptions): boolean {
  return ack.runId === options.runId && ack.epoch === options.epoch && ack.state === options.state
}

/**
 * Waits until every agent in `agentIds` has acked `state` for this run id and epoch. An agent that
 * deregisters meanwhile (clean shutdown, its producer flushed) no longer needs to ack. Throws
 * KreorgError('timeout') naming the agents that did not ack, or KreorgError('interrupted').
 */
export async function waitForAcks(
  state: AckSource,
  changes: EventEmitter<ControlChanges>,
  topic: string,
  options: WaitForAcksOptions,
  /** Acks at or below this offset answer an earlier command (same run, epoch and state): not counted. */
  afterOffset = -1,
): Promise<Ack[]> {
  const after = Math.max(afterOffset, options.afterOffset ?? -1)
  const pending = new Set(options.agentIds)
  const acks = new Map<string, Ack>()
  const inRequestOrder = () => options.agentIds.filter((id) => acks.has(id)).map((id) => acks.get(id)!)
  const check = (agentId: string) => {
    const entry = state.ack(topic, agentId)
    if (entry && entry.offset > after && matches(entry.ack, options) && pending.delete(agentId)) {
      acks.set(agentId, entry.ack)
      options.onAck?.(entry.ack)
    }
  }
  for (const agentId of pending) check(agentId)
  if (pending.size === 0) return inRequestOrder()
  return new Promise<Ack[]>((resolve, reject) => {
    const finish = (error?: Error) => {
      clearTimeout(timer)
      changes.off('change', onChange)
      options.signal?.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolve(inRequestOrder())
    }
    const onChange = (change: StateChange) => {
      if (change.kind === 'ack' && change.topic === topic) check(change.entry.ack.agentId)
      else if (change.kind === 'agent' && change.entry === undefined) pending.delete(change.agentId)
      if (pending.size === 0) finish()
    }
    const onAbort = () => finish(new KreorgError('interrupted', `interrupted while waiting for ${options.state} acks on ${topic}`))
    const timer = setTimeout(() => {
      const missing = [...pending].map((id) => {
        const agent = state.heartbeat(id)
        return agent ? `${id} (${agent.host} pid ${agent.pid})` : id
      })
      finish(
        new KreorgError(
          'timeout',
          `${pending.size} of ${options.agentIds.length} agents did not ack ${options.state} on ${topic} within ${Math.round(options.timeoutMs / 1000)}s: ${missing.join(', ')}`,
          {
            suggestions: [
              'check those producers are running a current kreorg agent and can reach the control topic; `kreorg producers ' +
                topic +
                '` shows their state',
            ],
          },
        ),
      )
    }, options.timeoutMs)
    changes.on('change', onChange)
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, {once: true})
  })
}

/**
 * Heartbeats: the agent's `agent/<agentId>` record (who it is, what it can do, what each topic's state
 * is, which producer id it writes with and where it wrote last), written every interval and on every
 * state change to `<controlTopic>-heartbeats` (protocol 1.1 A), and a tombstone when it stops cleanly.
 */
import {hostname} from 'node:os'

import type {ControlFeed} from '../control/feed.js'
import type {AgentEvents} from './events.js'

import {AGENT_CAPABILITIES, type AgentTopicState, type Heartbeat, keys, type LastWrite, PROTOCOL_VERSION} from '../control/schema.js'
import {type AgentLifecycle, errorMessage} from './options.js'

/** What a heartbeat says about the agent besides its topics' states; fixed for its life. */
export interface AgentIdentity {
  agentId: string
  clientId: string | undefined
  topics: readonly string[]
  version: string
  partitioner: string
  heartbeatMs: number
  startedAt: number
}

/** What a heartbeat says about the producer that can change over the agent's life. */
export interface ProducerFacts {
  /** -1 when kafkajs does not let the agent see it (or the producer is not idempotent). */
  producerId: number
  idempotent: boolean
  lastWrite: Record<string, LastWrite>
}

export interface HeartbeatsOptions {
  identity: AgentIdentity
  /** Where heartbeats are written: the heartbeat topic. */
  feed: ControlFeed
  states: () => Record<string, AgentTopicState>
  producer: () => ProducerFacts
  lifecycle: AgentLifecycle
  events: AgentEvents
}

export class Heartbeats {
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: HeartbeatsOptions) {}

  private record(): Heartbeat {
    const {identity, states, producer} = this.options
    const facts = producer()
    return {
      v: PROTOCOL_VERSION,
      type: 'agent',
      agentId: identity.agentId,
      host: hostname(),
      pid: process.pid,
      ...(identity.clientId ? {clientId: identity.clientId} : {}),
      topics: [...identity.topics],
      version: identity.version,
      partitioner: identity.partitioner,
      heartbeatMs: identity.heartbeatMs,
      startedAt: identity.startedAt,
      states: states(),
      capabilities: [...AGENT_CAPABILITIES],
      language: 'kafkajs',
      producerId: facts.producerId,
      idempotent: facts.idempotent,
      ...(Object.keys(facts.lastWrite).length > 0 ? {lastWrite: facts.lastWrite} : {}),
      at: Date.now(),
    }
  }

  /** One heartbeat now; failures are warned about, never thrown (the next one retries). */
  async beat(): Promise<void> {
    const {lifecycle, feed, identity, events} = this.options
    if (lifecycle.closed || !lifecycle.ready) return
    const heartbeat = this.record()
    try {
      await feed.write(keys.agent(identity.agentId), heartbeat)
    } catch (error) {
      events.warn(`heartbeat failed: ${errorMessage(error)}`)
    }
  }

  /** Beats every heartbeatMs from now on. */
  start(): void {
    this.timer = setInterval(() => void this.beat(), this.options.identity.heartbeatMs)
    this.timer.unref?.()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** The tombstone that tells kreorg this agent stopped cleanly (nobody waits for its acks any more). */
  async deregister(): Promise<void> {
    await this.options.feed.tombstone(keys.agent(this.options.identity.agentId)).catch(() => {})
  }
}

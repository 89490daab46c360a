/**
 * What a `ProducerAgent` tells the application, as typed events: `agent.on('paused', ({topic, runId}) => …)`.
 * Every warning the agent logs is also a `warning` event, so an application can route them itself.
 */
import type {EventEmitter} from 'node:events'

import type {AgentLogger} from './options.js'

export interface AgentPausedEvent {
  topic: string
  /** The run whose pause (or refresh) holds the topic's sends. */
  runId: string
}

export interface AgentResumedEvent {
  topic: string
  runId: string
}

export interface AgentPinnedEvent {
  topic: string
  /** The run whose pin holds. */
  runId: string
  /** Keyed records are partitioned as if the topic had this many partitions, until a resume with a target count. */
  partitions: number
}

export interface AgentLapsedEvent {
  topic: string
  /** The run whose pause lapsed (undefined only if the pause carried none). */
  runId: string | undefined
  reason: string
}

export interface AgentWarningEvent {
  message: string
}

/** Event name → listener arguments, for `EventEmitter<AgentEventMap>`. */
export interface AgentEventMap {
  /** Sends to the topic are held from now on (a pause or refresh took effect). */
  paused: [AgentPausedEvent]
  /** A resume took effect: held sends are released in call order. */
  resumed: [AgentResumedEvent]
  /** A pin took effect (protocol 1.1): the producer keeps writing, to partitions below the pinned count only. */
  pinned: [AgentPinnedEvent]
  /** The agent resumed by itself: the pausing run's lease lapsed or was released without a resume. */
  lapsed: [AgentLapsedEvent]
  warning: [AgentWarningEvent]
}

export type AgentEventName = keyof AgentEventMap

/** Any agent event, tagged with its name. */
export type AgentEvent = {[K in AgentEventName]: {type: K} & AgentEventMap[K][0]}[AgentEventName]

/** The one place the agent's parts report through: the application's listeners and its logger. */
export class AgentEvents {
  constructor(
    private readonly emitter: EventEmitter<AgentEventMap>,
    private readonly logger: AgentLogger,
  ) {}

  emit(event: AgentEvent): void {
    const {type, ...payload} = event
    // The payload is the event without its tag, which is exactly AgentEventMap[type][0]; TypeScript
    // cannot correlate the two through the destructuring, hence the untyped view of the emitter.
    const emitter: EventEmitter = this.emitter
    emitter.emit(type, payload)
  }

  warn(message: string): void {
    this.logger.warn(message)
    this.emit({type: 'warning', message})
  }
}

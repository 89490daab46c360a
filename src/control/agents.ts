import type {AgentInfo, AgentQueryOptions} from './port.js'
import type {Heartbeat} from './schema.js'
/**
 * The agents an orchestrator knows of, from their heartbeats: protocol 1.1 heartbeats on
 * `<controlTopic>-heartbeats`, and v1 `agent/<id>` records still folded from the control topic (older
 * agents write them there). The newer heartbeat of an agent wins.
 */
import type {AgentEntry, ControlState} from './state.js'

type Source = NonNullable<AgentInfo['heartbeatSource']>

export interface SourcedAgentEntry extends AgentEntry {
  source: Source
}

export class AgentDirectory {
  constructor(
    /** The control topic's fold: v1 heartbeats. */
    private readonly control: ControlState,
    /** The heartbeat topic's fold (absent when that topic does not exist and was not created). */
    private readonly heartbeats: ControlState | undefined,
  ) {}

  /** The latest heartbeat of every agent, whichever topic it came from. */
  entries(): SourcedAgentEntry[] {
    const latest = new Map<string, SourcedAgentEntry>()
    const add = (entries: AgentEntry[], source: Source) => {
      for (const entry of entries) {
        const known = latest.get(entry.heartbeat.agentId)
        if (!known || entry.timestamp > known.timestamp) latest.set(entry.heartbeat.agentId, {...entry, source})
      }
    }
    add(this.control.agents(), 'control')
    if (this.heartbeats) add(this.heartbeats.agents(), 'heartbeats')
    return [...latest.values()]
  }

  heartbeat(agentId: string): Heartbeat | undefined {
    return this.entries().find((entry) => entry.heartbeat.agentId === agentId)?.heartbeat
  }

  /** Agents of one topic or all; only live ones (a heartbeat within 3 intervals, or `maxAgeMs`) unless `includeStale`. */
  list(topic: string | undefined, options: AgentQueryOptions, now = Date.now()): AgentInfo[] {
    return this.entries()
      .filter(({heartbeat}) => topic === undefined || heartbeat.topics.includes(topic))
      .map((entry) => agentInfoOf(entry, options, now))
      .filter((agent) => options.includeStale || agent.alive)
      .sort((a, b) => a.agentId.localeCompare(b.agentId))
  }
}

export function agentInfoOf({heartbeat, timestamp, source}: SourcedAgentEntry, options: AgentQueryOptions, now: number): AgentInfo {
  const maxAge = options.maxAgeMs ?? Math.max(3 * heartbeat.heartbeatMs, 3000)
  return {
    agentId: heartbeat.agentId,
    host: heartbeat.host,
    pid: heartbeat.pid,
    clientId: heartbeat.clientId,
    topics: heartbeat.topics,
    version: heartbeat.version,
    partitioner: heartbeat.partitioner,
    startedAt: heartbeat.startedAt,
    lastHeartbeat: timestamp,
    heartbeatMs: heartbeat.heartbeatMs,
    alive: now - timestamp <= maxAge,
    states: heartbeat.states,
    ...(heartbeat.capabilities !== undefined ? {capabilities: heartbeat.capabilities} : {}),
    ...(heartbeat.language !== undefined ? {language: heartbeat.language} : {}),
    ...(heartbeat.producerId !== undefined ? {producerId: heartbeat.producerId} : {}),
    ...(heartbeat.idempotent !== undefined ? {idempotent: heartbeat.idempotent} : {}),
    ...(heartbeat.lastWrite !== undefined ? {lastWrite: heartbeat.lastWrite} : {}),
    heartbeatSource: source,
  }
}

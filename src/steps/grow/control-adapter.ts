import type {AgentInfo, ControlChannelPort} from '../../control/port.js'
import type {AgentAck, AgentView, ControlPort, LeaseHandle} from './control-port.js'

export function agentViewOf(info: AgentInfo, topic: string): AgentView {
  const state = info.states[topic]
  const lastWrite = info.lastWrite?.[topic]
  return {
    agentId: info.agentId,
    host: info.host,
    pid: info.pid,
    ...(info.clientId === undefined ? {} : {clientId: info.clientId}),
    ...(state?.state === undefined ? {} : {state: state.state}),
    ...(state?.partitionCount === undefined ? {} : {partitionCount: state.partitionCount}),
    ...(state?.pinnedPartitions === undefined ? {} : {pinnedPartitions: state.pinnedPartitions}),
    lastHeartbeat: info.lastHeartbeat,
    alive: info.alive,
    ...(info.capabilities === undefined ? {} : {capabilities: [...info.capabilities]}),
    partitioner: info.partitioner,
    ...(info.language === undefined ? {} : {language: info.language}),
    ...(typeof info.producerId === 'number' ? {producerId: info.producerId} : {}),
    ...(typeof info.idempotent === 'boolean' ? {idempotent: info.idempotent} : {}),
    ...(lastWrite === undefined ? {} : {lastWrite: {partition: lastWrite.partition, offset: lastWrite.offset}}),
  }
}

/**
 * The steps' ControlPort over src/control's channel: agents as the steps judge them (one topic's
 * state, protocol 1.1 heartbeat fields) and acks without the wire format's details.
 */
export function controlPortOf(channel: ControlChannelPort): ControlPort {
  return {
    acquireLease: async (topic, holder, leaseMs): Promise<LeaseHandle> => channel.acquireLease(topic, holder, leaseMs),
    currentLease: (topic) => channel.currentLease(topic),
    async agents(topic, options = {}) {
      const within = options.includeStaleWithinMs
      const infos = await channel.agents(topic, within === undefined ? {} : {includeStale: true})
      const now = Date.now()
      return infos
        .filter((info) => within === undefined || info.alive || now - info.lastHeartbeat <= within)
        .map((info) => agentViewOf(info, topic))
    },
    pin: (topic, command) => channel.pin(topic, command),
    pause: (topic, command) => channel.pause(topic, command),
    refresh: (topic, command) => channel.refresh(topic, command),
    resume: (topic, command) => channel.resume(topic, command),
    async waitForAcks(topic, options): Promise<AgentAck[]> {
      const {onAck, ...rest} = options
      const acks = await channel.waitForAcks(topic, {...rest, ...(onAck ? {onAck: (ack) => onAck(ack)} : {})})
      return acks.map((ack) => ({
        agentId: ack.agentId,
        state: ack.state,
        partitionCount: ack.partitionCount,
        ...(ack.canary === undefined ? {} : {canary: ack.canary}),
        ...(ack.partitioner === undefined ? {} : {partitioner: ack.partitioner}),
      }))
    },
    close: () => channel.close(),
  }
}

import {KreorgError} from '../../core/errors.js'
import type {AgentInfo, CommandOptions, ControlChannelPort} from '../../control/port.js'
import type {AckState} from '../../control/schema.js'
import type {AgentAck, AgentView, ControlPort, LeaseHandle} from './control-port.js'

/** Heartbeat fields of protocol 1.1, read when the channel's fold carries them (older agents omit them). */
interface HeartbeatExtras {
  capabilities?: string[]
  language?: string
  producerId?: number
  idempotent?: boolean
  lastWrite?: Record<string, {partition: number; offset: number}>
}

/** The channel methods protocol 1.1 adds, looked up at run time so the steps work with either side of it. */
interface PinCapableChannel {
  pin(topic: string, options: CommandOptions & {pinPartitions: number}): Promise<void>
}

function pinOf(channel: ControlChannelPort): PinCapableChannel['pin'] | undefined {
  const pin = (channel as unknown as Partial<PinCapableChannel>).pin
  return typeof pin === 'function' ? pin.bind(channel) : undefined
}

export function agentViewOf(info: AgentInfo, topic: string): AgentView {
  const extras = info as AgentInfo & HeartbeatExtras
  const state = info.states[topic]
  const lastWrite = extras.lastWrite?.[topic]
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
    ...(extras.capabilities === undefined ? {} : {capabilities: [...extras.capabilities]}),
    partitioner: info.partitioner,
    ...(extras.language === undefined ? {} : {language: extras.language}),
    ...(typeof extras.producerId === 'number' ? {producerId: extras.producerId} : {}),
    ...(typeof extras.idempotent === 'boolean' ? {idempotent: extras.idempotent} : {}),
    ...(lastWrite === undefined ? {} : {lastWrite: {partition: lastWrite.partition, offset: lastWrite.offset}}),
  }
}

/**
 * The steps' ControlPort over src/control's channel. Keeps the steps independent of how the channel
 * spells protocol 1.1 (pin, epochs on leases, heartbeat fields).
 */
export function controlPortOf(channel: ControlChannelPort): ControlPort {
  return {
    acquireLease: async (topic, holder, leaseMs): Promise<LeaseHandle> => channel.acquireLease(topic, holder, leaseMs),
    currentLease: (topic) => channel.currentLease(topic),
    agents: async (topic, options = {}) => {
      const within = options.includeStaleWithinMs
      const infos = await channel.agents(topic, within === undefined ? {} : {includeStale: true})
      const now = Date.now()
      return infos
        .filter((info) => within === undefined || info.alive || now - info.lastHeartbeat <= within)
        .map((info) => agentViewOf(info, topic))
    },
    get supportsPin() {
      return pinOf(channel) !== undefined
    },
    pin: async (topic, command) => {
      const pin = pinOf(channel)
      if (!pin) {
        throw new KreorgError(
          'precondition',
          `this kreorg's control channel cannot publish pin (control protocol 1.1) on ${channel.controlTopic}`,
          {
            suggestions: ['upgrade kreorg; nothing was changed'],
          },
        )
      }
      await pin(topic, command)
    },
    pause: (topic, command) => channel.pause(topic, command),
    refresh: (topic, command) => channel.refresh(topic, command),
    resume: (topic, command) => channel.resume(topic, command),
    waitForAcks: async (topic, options): Promise<AgentAck[]> => {
      const {onAck, ...rest} = options
      // 'pinned' is protocol 1.1's ack state; the channel matches states as strings.
      const acks = await channel.waitForAcks(topic, {
        ...rest,
        state: options.state as AckState,
        ...(onAck ? {onAck: (ack) => onAck(ack)} : {}),
      })
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

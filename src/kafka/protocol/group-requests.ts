/**
 * Group APIs kafkajs 2.2.4 lacks: ConsumerGroupDescribe (KIP-848 groups) and ListGroups v5 (group
 * types). Schemas from common/message/*.json inside kafka-clients-4.3.1.jar.
 */
import {flexibleRequest, type Reader} from './wire.js'

export const API_DESCRIBE_GROUPS = 15
export const API_LIST_GROUPS = 16
export const API_CONSUMER_GROUP_DESCRIBE = 69

export interface WireTopicPartitions {
  topicId: string
  topicName: string
  partitions: number[]
}

export interface WireConsumerGroupMember {
  memberId: string
  instanceId: string | null
  rackId: string | null
  memberEpoch: number
  clientId: string
  clientHost: string
  subscribedTopicNames: string[]
  subscribedTopicRegex: string | null
  assignment: WireTopicPartitions[]
  targetAssignment: WireTopicPartitions[]
  /** v1: 0 = classic member of a mixed group, 1 = consumer-protocol member, -1 = unknown (v0). */
  memberType: number
}

export interface WireConsumerGroup {
  /** 69 GROUP_ID_NOT_FOUND for a group that does not exist or is not a `consumer`-protocol group. */
  errorCode: number
  errorMessage: string | null
  groupId: string
  groupState: string
  groupEpoch: number
  assignmentEpoch: number
  assignorName: string
  members: WireConsumerGroupMember[]
}

function readAssignment(reader: Reader): WireTopicPartitions[] {
  const topics = reader.array((r) => {
    const topic = {topicId: r.uuid(), topicName: r.string(), partitions: r.array((p) => p.int32())}
    r.tags()
    return topic
  })
  reader.tags()
  return topics
}

/** ConsumerGroupDescribe (key 69, v0/v1): send to the groups' coordinator. */
export function consumerGroupDescribe(groupIds: string[], version: number) {
  return flexibleRequest({
    apiKey: API_CONSUMER_GROUP_DESCRIBE,
    apiVersion: version,
    apiName: 'ConsumerGroupDescribe',
    body: (w) =>
      w
        .array(groupIds, (a, id) => a.string(id))
        .bool(false)
        .tags(),
    decode(r) {
      r.int32() // throttle time
      const groups = r.array((g): WireConsumerGroup => {
        const group: WireConsumerGroup = {
          errorCode: g.int16(),
          errorMessage: g.nullableString(),
          groupId: g.string(),
          groupState: g.string(),
          groupEpoch: g.int32(),
          assignmentEpoch: g.int32(),
          assignorName: g.string(),
          members: g.array((m): WireConsumerGroupMember => {
            const member: WireConsumerGroupMember = {
              memberId: m.string(),
              instanceId: m.nullableString(),
              rackId: m.nullableString(),
              memberEpoch: m.int32(),
              clientId: m.string(),
              clientHost: m.string(),
              subscribedTopicNames: m.array((t) => t.string()),
              subscribedTopicRegex: m.nullableString(),
              assignment: readAssignment(m),
              targetAssignment: readAssignment(m),
              memberType: version >= 1 ? m.int8() : -1,
            }
            m.tags()
            return member
          }),
        }
        g.int32() // authorized operations (not requested)
        g.tags()
        return group
      })
      r.tags()
      return groups
    },
  })
}

export interface WireListedGroup {
  groupId: string
  protocolType: string
  /** v4+; '' before. */
  groupState: string
  /** v5+: 'classic' | 'consumer' | 'share' | 'streams'; '' before. */
  groupType: string
}

/** ListGroups (key 16), flexible versions 3–5 only: send to every broker (each lists the groups it coordinates). */
export function listGroups(version: number) {
  if (version < 3) throw new Error(`ListGroups v${version} is not flexible: use kafkajs's own listGroups`)
  return flexibleRequest({
    apiKey: API_LIST_GROUPS,
    apiVersion: version,
    apiName: 'ListGroups',
    body(w) {
      if (version >= 4) w.array([], (a, state: string) => a.string(state))
      if (version >= 5) w.array([], (a, type: string) => a.string(type))
      w.tags()
    },
    decode(r) {
      r.int32() // throttle time
      const errorCode = r.int16()
      const groups = r.array((g): WireListedGroup => {
        const group = {
          groupId: g.string(),
          protocolType: g.string(),
          groupState: version >= 4 ? g.string() : '',
          groupType: version >= 5 ? g.string() : '',
        }
        g.tags()
        return group
      })
      r.tags()
      return {errorCode, groups}
    },
  })
}

export interface WireClassicGroupMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  memberAssignment: Buffer
}

export interface WireClassicGroup {
  /** v6: 69 GROUP_ID_NOT_FOUND for a group that does not exist or is not classic; v5 says state Dead instead. */
  errorCode: number
  groupId: string
  groupState: string
  protocolType: string
  /** The chosen protocol: for consumers, the assignor's name. */
  protocolData: string
  members: WireClassicGroupMember[]
}

/** DescribeGroups (key 15), flexible versions 5–6 (v4+ carry static members' group.instance.id): send to the groups' coordinator. */
export function describeClassicGroups(groupIds: string[], version: number) {
  if (version < 5) throw new Error(`DescribeGroups v${version} is not flexible: use kafkajs's own describeGroups`)
  return flexibleRequest({
    apiKey: API_DESCRIBE_GROUPS,
    apiVersion: version,
    apiName: 'DescribeGroups',
    body: (w) =>
      w
        .array(groupIds, (a, id) => a.string(id))
        .bool(false)
        .tags(),
    decode(r) {
      r.int32() // throttle time
      const groups = r.array((g): WireClassicGroup => {
        const errorCode = g.int16()
        if (version >= 6) g.nullableString() // error message
        const group: WireClassicGroup = {
          errorCode,
          groupId: g.string(),
          groupState: g.string(),
          protocolType: g.string(),
          protocolData: g.string(),
          members: g.array((m): WireClassicGroupMember => {
            const memberId = m.string()
            const groupInstanceId = m.nullableString()
            const clientId = m.string()
            const clientHost = m.string()
            m.bytes() // member metadata (subscriptions): not needed
            const memberAssignment = m.bytes()
            m.tags()
            return {memberId, groupInstanceId, clientId, clientHost, memberAssignment}
          }),
        }
        g.int32() // authorized operations (not requested)
        g.tags()
        return group
      })
      r.tags()
      return groups
    },
  })
}

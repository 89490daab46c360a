/**
 * Listing and describing groups of every protocol. kafkajs 2.2.4 only speaks the classic protocol:
 * its DescribeGroups shows a live KIP-848 group as Dead with no members (and its setOffsets then
 * joins it as a classic member). So KIP-848 groups go through ConsumerGroupDescribe first, and the
 * rest through DescribeGroups v5+ (which also carries static members' group.instance.id).
 */
import type {Admin} from './client.js'
import type {ProtocolAdmin} from './protocol/admin.js'
import type {WireClassicGroup, WireConsumerGroup, WireListedGroup, WireTopicPartitions} from './protocol/group-requests.js'
import type {GroupDescription, GroupMember, GroupState, GroupType, ListedGroup} from './types.js'

import {AssignerProtocol} from './client.js'

const GROUP_STATES: ReadonlySet<string> = new Set([
  'Stable',
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Assigning',
  'Reconciling',
  'NotReady',
  'Dead',
])
const GROUP_TYPES: ReadonlySet<string> = new Set(['classic', 'consumer', 'streams'])

export function toGroupState(state: string): GroupState {
  return (GROUP_STATES.has(state) ? state : 'Unknown') as GroupState
}

/** ListGroups' type; brokers before ListGroups v5 have no types (and then no streams groups): classic. */
function toGroupType(type: string): GroupType {
  if (type === '') return 'classic'
  return GROUP_TYPES.has(type) ? (type as GroupType) : 'unknown'
}

/**
 * A Kafka Streams application: a KIP-1071 streams group, or a classic group whose members chose
 * Streams' own assignor ("stream"). Moved keys leave their state behind in the old task's store.
 */
export function isKafkaStreamsGroup(group: Pick<GroupDescription, 'type' | 'protocolType' | 'assignor'>): boolean {
  return group.type === 'streams' || (group.type === 'classic' && group.protocolType === 'consumer' && group.assignor === 'stream')
}

export function decodeAssignment(buffer: Buffer | undefined): Record<string, number[]> {
  if (!buffer || buffer.length === 0) return {}
  try {
    return AssignerProtocol.MemberAssignment.decode(buffer)?.assignment ?? {}
  } catch {
    // A non-consumer protocol (e.g. Connect) or a newer encoding: no partitions we can vouch for.
    return {}
  }
}

function byTopic(assignment: WireTopicPartitions[]): Record<string, number[]> {
  const result: Record<string, number[]> = {}
  // A topic deleted since the assignment has no name any more: keep it under its id.
  for (const t of assignment)
    result[t.topicName || t.topicId] = [...(result[t.topicName || t.topicId] ?? []), ...t.partitions].sort((a, b) => a - b)
  return result
}

function fromConsumerGroup(group: WireConsumerGroup): GroupDescription {
  return {
    groupId: group.groupId,
    type: 'consumer',
    state: toGroupState(group.groupState),
    protocolType: 'consumer',
    assignor: group.assignorName,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    members: group.members.map((m): GroupMember => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: byTopic(m.assignment),
      targetAssignment: byTopic(m.targetAssignment),
      memberEpoch: m.memberEpoch,
    })),
  }
}

function fromClassicGroup(group: WireClassicGroup): GroupDescription {
  return {
    groupId: group.groupId,
    type: 'classic',
    state: toGroupState(group.groupState),
    protocolType: group.protocolType,
    assignor: group.protocolData,
    members: group.members.map((m): GroupMember => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: decodeAssignment(m.memberAssignment),
    })),
  }
}

/** What DescribeGroups says about a group that is not classic (KIP-848, streams, share) or does not exist. */
function notClassic(group: WireClassicGroup): boolean {
  return group.errorCode !== 0 || (group.groupState === 'Dead' && group.protocolType === '' && group.members.length === 0)
}

/** A group neither describe could read: its listed type and state, no members. */
function fromListed(groupId: string, listed: ListedGroup | undefined): GroupDescription {
  // 'consumer' here would be a group that changed protocol between the two describes: not vouched for.
  const type: GroupType = listed?.type === 'streams' || listed?.type === 'classic' ? listed.type : 'unknown'
  return {groupId, type, state: listed?.state ?? 'Dead', protocolType: listed?.protocolType ?? '', assignor: '', members: []}
}

function listedFromWire(group: WireListedGroup): ListedGroup {
  return {
    groupId: group.groupId,
    type: toGroupType(group.groupType),
    protocolType: group.protocolType,
    state: group.groupState === '' ? 'Unknown' : toGroupState(group.groupState),
  }
}

export async function listGroupsWith(admin: Admin, ext: ProtocolAdmin): Promise<ListedGroup[]> {
  const wire = await ext.listGroups()
  const listed: ListedGroup[] = wire
    ? wire.map((group) => listedFromWire(group))
    : (await admin.listGroups()).groups.map((g) => ({
        groupId: g.groupId,
        type: 'classic' as const,
        protocolType: g.protocolType,
        state: 'Unknown' as const,
      }))
  // A group moving between coordinators can be listed by both for a moment.
  const unique = new Map(listed.map((g) => [g.groupId, g]))
  return [...unique.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0))
}

/** kafkajs's DescribeGroups (v0–v2): for brokers without DescribeGroups v5 (Kafka < 2.4); no static member ids. */
async function describeClassicWithKafkajs(admin: Admin, groupIds: string[]): Promise<Map<string, WireClassicGroup>> {
  const {groups} = await admin.describeGroups(groupIds)
  return new Map(
    groups.map((g) => [
      g.groupId,
      {
        errorCode: 0, // kafkajs throws on group errors itself
        groupId: g.groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocol,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: null,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberAssignment: m.memberAssignment,
        })),
      },
    ]),
  )
}

export async function describeGroupsWith(admin: Admin, ext: ProtocolAdmin, groupIds: string[]): Promise<GroupDescription[]> {
  if (groupIds.length === 0) return []
  const ids = [...new Set(groupIds)]
  const routed = await ext.groupCoordinators(ids)
  const consumer = await ext.describeConsumerGroups(routed)
  const isConsumer = (id: string) => consumer?.get(id)?.errorCode === 0
  const rest = routed.filter((r) => !isConsumer(r.groupId))
  const classic =
    rest.length === 0
      ? new Map<string, WireClassicGroup>()
      : ((await ext.describeClassicGroups(rest)) ??
        (await describeClassicWithKafkajs(
          admin,
          rest.map((r) => r.groupId),
        )))
  const unresolved = rest.filter((r) => {
    const group = classic.get(r.groupId)
    return group === undefined || notClassic(group)
  })
  // Streams groups (and missing ones) look alike to both describes: their type comes from ListGroups.
  const listed =
    unresolved.length === 0 ? new Map<string, ListedGroup>() : new Map((await listGroupsWith(admin, ext)).map((g) => [g.groupId, g]))
  const described = new Map<string, GroupDescription>()
  for (const id of ids) {
    const consumerGroup = consumer?.get(id)
    const classicGroup = classic.get(id)
    if (consumerGroup && isConsumer(id)) described.set(id, fromConsumerGroup(consumerGroup))
    else if (classicGroup && !notClassic(classicGroup)) described.set(id, fromClassicGroup(classicGroup))
    else described.set(id, fromListed(id, listed.get(id)))
  }
  return groupIds.map((id) => described.get(id)!)
}

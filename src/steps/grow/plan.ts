import {setTimeout as sleep} from 'node:timers/promises'

import type {ConnectPlan} from '../../connect/discovery.js'
import type {GroupType, KafkaCluster} from '../../kafka/types.js'
import type {AgentView, ControlPort} from './control-port.js'
import type {GrowInputs} from './inputs.js'

import {describeCause} from '../../core/errors.js'
import {type CoPartitionCandidate, coPartitionWarning, readCoPartitionCandidates} from '../../kafka/co-partition.js'
import {type GroupLag, readTopicLag, type TopicLag} from '../../kafka/lag.js'
import {uniformStayShare} from '../../kafka/murmur2.js'
import {keyMovement, type KeyMovement, sampleTopic} from '../../kafka/sampler.js'
import {connectProducerCount, planConnect, plannedConnectFacts, withConnectFacts} from '../connect/plan.js'
import {agentFindings, groupFindings, streamsEvidence} from './plan-checks.js'
import {takeWriterInventory, type WriterInventory, writerInventoryInputs} from './writers.js'

export interface PlannedGroup {
  groupId: string
  state: string
  members: number
  lag: number
  partitionsWithLag: number[]
  /** Records/s the group committed during the measurement window; null when it could not be measured. */
  consumeRatePerSec: number | null
  estimatedDrainMs: number | null
  ignored: boolean
  /** classic or consumer (KIP-848). */
  type?: GroupType
  assignor?: string
  /** group.instance.id of static members. */
  staticMembers?: string[]
  streams?: boolean
  /** --trust-group: assignment coverage counts as proof of its position. */
  trusted?: boolean
}

export interface GrowPlan {
  topic: string
  from: number
  to: number
  keys: KeyMovement
  groups: PlannedGroup[]
  agents: AgentView[]
  /** Who writes to the topic (null when it could not be read: then a blocker says why). */
  writers: WriterInventory | null
  /** Slowest group's estimate: how long producers will likely stay paused for the drain. */
  estimatedDrainMs: number | null
  /**
   * Other topics with the same partition count read by the same groups: possible join inputs that
   * must grow together (absent in checkpoints written before issue 16).
   */
  coPartitioned?: CoPartitionCandidate[]
  /** Other counts near the target and the share of keys each would move (uniform hashing). */
  alternatives: Array<{to: number; uniformMoveShare: number}>
  /** Kafka Connect source connectors that write to the topic (with --connect-url): paused from pin to resume. */
  connect?: ConnectPlan
  warnings: string[]
  /** Reasons grow must not start; preflight/plan fail with exit 3 when any is present. */
  blockers: string[]
}

export function uniformMoveShare(from: number, to: number): number {
  return 1 - uniformStayShare(from, to)
}

/** Counts between the target and twice it that move fewer keys: multiples of the current count. */
export function betterTargets(from: number, to: number): Array<{to: number; uniformMoveShare: number}> {
  const here = uniformMoveShare(from, to)
  const candidates: Array<{to: number; uniformMoveShare: number}> = []
  for (let n = to + 1; n <= to * 2; n++) {
    const share = uniformMoveShare(from, n)
    if (share < here - 1e-9) candidates.push({to: n, uniformMoveShare: share})
  }
  return candidates.sort((a, b) => a.uniformMoveShare - b.uniformMoveShare || a.to - b.to).slice(0, 3)
}

function consideredGroups(lag: TopicLag, inputs: Pick<GrowInputs, 'groups' | 'ignoreGroups'>): GroupLag[] {
  return lag.groups.filter((g) => !inputs.ignoreGroups.includes(g.groupId))
}

/** A group with no members cannot make progress: draining would wait for the full timeout. */
export function isInactive(group: Pick<GroupLag, 'members' | 'state'>): boolean {
  return group.members === 0 || group.state === 'Empty' || group.state === 'Dead'
}

export function inactiveGroupsWithLag(lag: TopicLag, inputs: Pick<GrowInputs, 'groups' | 'ignoreGroups'>): GroupLag[] {
  return consideredGroups(lag, inputs).filter((g) => isInactive(g) && g.total > 0)
}

function committedTotal(group: GroupLag): number {
  return group.partitions.reduce((sum, p) => sum + (p.committed ?? 0), 0)
}

export interface PlanOptions {
  cluster: KafkaCluster
  inputs: GrowInputs
  agents: AgentView[]
  /** Heartbeats within the writer lookback, for the writer inventory. */
  control: Pick<ControlPort, 'agents'>
  /** Time between the two lag reads that give each group's consume rate. */
  rateWindowMs?: number
  signal?: AbortSignal
  onProgress?: (message: string) => void
  /** The other topics grown in the same run: co-partitioned with this one, they are no warning. */
  growingTogether?: readonly string[]
}

/** Everything an operator needs to decide: read-only, the same for `--dry-run` and the plan step. */
export async function buildGrowPlan(options: PlanOptions): Promise<GrowPlan> {
  const {cluster, inputs} = options
  // First: an unreachable Connect worker stops the plan before anything is measured.
  const connect = await planConnect(inputs, options.signal)
  const groupFilter = inputs.groups ? {groups: inputs.groups} : {}
  options.onProgress?.('reading consumer group lag')
  const first = await readTopicLag(cluster, inputs.topic, groupFilter)
  const from = first.partitionCount
  options.onProgress?.(`sampling up to ${inputs.samplePerPartition} records per partition`)
  const sampleStarted = Date.now()
  // --sample 0: no key sample (the movement estimate is then the uniform one only).
  const records =
    inputs.samplePerPartition === 0
      ? []
      : await sampleTopic(cluster, inputs.topic, {
          perPartition: inputs.samplePerPartition,
          from: 'latest',
          ...(options.signal ? {signal: options.signal} : {}),
        })
  const movement = keyMovement(records, from, inputs.to)
  // The sampling above usually takes long enough to measure consume rates; top up to the window.
  const window = options.rateWindowMs ?? 2000
  const remaining = window - (Date.now() - sampleStarted)
  if (remaining > 0) await sleep(remaining, undefined, {signal: options.signal})
  const second = await readTopicLag(cluster, inputs.topic, groupFilter)
  const elapsedSec = (Date.parse(second.readAt) - Date.parse(first.readAt)) / 1000
  const before = new Map(first.groups.map((g) => [g.groupId, g]))

  const groups = second.groups.map((g): PlannedGroup => {
    const earlier = before.get(g.groupId)
    const consumed = earlier ? committedTotal(g) - committedTotal(earlier) : 0
    const rate = earlier && elapsedSec > 0 && consumed > 0 ? consumed / elapsedSec : null
    return {
      groupId: g.groupId,
      state: g.state,
      members: g.members,
      lag: g.total,
      partitionsWithLag: g.partitions.filter((p) => p.lag > 0).map((p) => p.partition),
      consumeRatePerSec: rate === null ? null : Math.round(rate),
      estimatedDrainMs: g.total === 0 ? 0 : rate === null ? null : Math.round((g.total / rate) * 1000),
      ignored: inputs.ignoreGroups.includes(g.groupId),
    }
  })
  options.onProgress?.('describing groups and writers')
  const views = groups.length === 0 ? [] : await cluster.describeGroups(groups.map((g) => g.groupId))
  const topics = await cluster.listTopics()
  for (const group of groups) {
    const view = views.find((v) => v.groupId === group.groupId)
    if (!view) continue
    group.type = view.type
    if (view.assignor) group.assignor = view.assignor
    group.staticMembers = view.members.flatMap((m) => (m.groupInstanceId === null ? [] : [m.groupInstanceId]))
    group.streams = streamsEvidence(view, topics) !== undefined
    group.trusted = inputs.trustGroups.includes(group.groupId)
  }
  // A warning only, so a failed read (a topic deleted meanwhile, a missing DESCRIBE) must not stop the plan.
  let coPartitioned: CoPartitionCandidate[] = []
  let coPartitionError: string | undefined
  try {
    coPartitioned = await readCoPartitionCandidates(
      cluster,
      inputs.topic,
      groups.map((g) => g.groupId),
    )
  } catch (error) {
    coPartitionError = `could not check which topics are co-partitioned with ${inputs.topic}: ${describeCause(error)}`
  }
  const active = groups.filter((g) => !g.ignored)
  const estimates = active.map((g) => g.estimatedDrainMs)
  const estimatedDrainMs = estimates.includes(null) ? null : Math.max(0, ...(estimates as number[]))

  const warnings: string[] = []
  const blockers: string[] = []
  const agentChecks = agentFindings(inputs.topic, options.agents, {...inputs, connectors: connectProducerCount(connect)})
  const groupChecks = groupFindings(inputs.topic, views, topics, inputs)
  blockers.push(...agentChecks.blockers, ...groupChecks.blockers)
  warnings.push(...agentChecks.warnings, ...groupChecks.warnings)
  let writers: WriterInventory | null = null
  try {
    writers = await takeWriterInventory(
      cluster,
      options.control,
      withConnectFacts(writerInventoryInputs(inputs), plannedConnectFacts(connect)),
    )
    blockers.push(...writers.problems)
    warnings.push(...writers.notes)
  } catch (error) {
    blockers.push(`could not take the writer inventory of ${inputs.topic}: ${describeCause(error)}`)
  }
  for (const g of inactiveGroupsWithLag(second, inputs)) {
    blockers.push(
      `group ${g.groupId} has ${g.total} records of lag and no active members, so it cannot drain: start its consumers or pass --ignore-group ${g.groupId}`,
    )
  }
  for (const g of groups.filter((x) => x.ignored)) {
    warnings.push(`group ${g.groupId} is ignored (--ignore-group): its ${g.lag} unconsumed records may be read out of order`)
  }
  if (movement.nullKeyRecords > 0) {
    warnings.push(
      `${movement.nullKeyRecords} sampled records have no key: they have no per-key order to keep, and grow does not change that`,
    )
  }
  warnings.push(...(connect?.warnings ?? []))
  warnings.push(
    ...coPartitioned
      .filter((c) => !(options.growingTogether ?? []).includes(c.topic))
      .map((c) => coPartitionWarning(inputs.topic, c, inputs.to)),
    ...(coPartitionError ? [coPartitionError] : []),
  )
  const alternatives = betterTargets(from, inputs.to)
  const best = alternatives[0]
  if (best) {
    warnings.push(
      `--to ${inputs.to} moves about ${pct(uniformMoveShare(from, inputs.to))} of keys; --to ${best.to} would move ${pct(best.uniformMoveShare)}`,
    )
  }
  for (const g of active.filter(
    (x) => x.lag > 0 && x.consumeRatePerSec === null && !isInactive({members: x.members, state: x.state as GroupLag['state']}),
  )) {
    warnings.push(`group ${g.groupId} has ${g.lag} records of lag and committed nothing while measured: its drain time is unknown`)
  }

  return {
    topic: inputs.topic,
    from,
    to: inputs.to,
    keys: movement,
    groups,
    agents: options.agents,
    writers,
    estimatedDrainMs,
    coPartitioned,
    alternatives,
    ...(connect ? {connect} : {}),
    warnings,
    blockers,
  }
}

export function pct(share: number): string {
  return `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 0)}%`
}

import type {AclBinding, AclOperation, AclResource, KafkaCluster} from './types.js'

import {describeCause, KreorgError} from '../core/errors.js'

/**
 * Least privilege, checked before anything is paused: can this principal do everything a `grow` run
 * will need? Two sources of truth, because neither is enough alone:
 *
 * - Probes: requests the broker authorizes exactly like the real ones but that change nothing.
 *   Metadata (DESCRIBE on the topic), DescribeConfigs (DESCRIBE_CONFIGS), CreatePartitions with
 *   validateOnly (ALTER, the one permission whose absence would otherwise surface only after the
 *   producers are paused and the groups drained), DescribeGroups (DESCRIBE on each group) and
 *   CreateTopics with validateOnly (CREATE, when the control topic is missing). A probe's verdict is
 *   final: it is the broker's own authorizer answering, super users and custom authorizers included.
 * - ACLs (DescribeAcls, which needs DESCRIBE on the cluster): for what no harmless request can probe
 *   (READ on groups, READ/WRITE on the control topic). They are trusted to say "missing" only when they
 *   also explain every probe that succeeded; otherwise the principal has powers ACLs don't show
 *   (a super user, allow.everyone.if.no.acl.found, another authorizer) and the answer is "unverified".
 *
 * The result lists missing permissions (preflight fails on them, naming each) and unverified ones
 * (a warning: the run will find out when it gets there, which for the control topic is before any
 * producer is paused).
 */

export interface PermissionCheckInput {
  topic: string
  /** The consumer groups the run drains and primes. */
  groups: readonly string[]
  controlTopic: string
  /** The count the run will ask for; the ALTER probe validates exactly that. Default: current count + 1. */
  targetPartitions?: number
  /**
   * The principal ACLs are read for, e.g. "User:alice". Default: "User:<SASL username>" when the
   * cluster was connected with SASL; without one, ACL-only permissions are unverified.
   */
  principal?: string
}

export interface PermissionFinding {
  /** "topic orders", "group billing", "topic kreorg-control". */
  resource: string
  /** Kafka's operation name as `kafka-acls` spells it: ALTER, DESCRIBE, DESCRIBE_CONFIGS, READ, WRITE, CREATE. */
  operation: string
  /** Why it is needed and how kreorg knows (or why it cannot tell). */
  reason: string
}

export interface PermissionReport {
  principal: string | null
  /** Permissions the run needs and does not have: preflight fails on any of these. */
  missing: PermissionFinding[]
  /** Permissions kreorg could not verify without side effects and could not read ACLs for. */
  unverified: PermissionFinding[]
  granted: Array<PermissionFinding & {how: 'probe' | 'acl' | 'no-authorizer'}>
  /** Set when the topic does not exist (not a permission problem: preflight reports it as such). */
  topicMissing: boolean
}

interface Needed {
  resource: AclResource
  operation: AclOperation
  why: string
}

const AUTH_ERROR = /(TOPIC|GROUP|CLUSTER|TRANSACTIONAL_ID)_AUTHORIZATION_FAILED/

/** The Kafka error type name of an authorization failure anywhere in a client error (nested causes, aggregate errors). */
export function authorizationFailure(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined
  const candidate = error as {type?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown; originalError?: unknown}
  if (typeof candidate.type === 'string' && AUTH_ERROR.test(candidate.type)) return candidate.type
  if (typeof candidate.message === 'string') {
    const match = /(Topic|Group|Cluster) authorization failed|Not authorized to access (topics|group|cluster)/i.exec(candidate.message)
    if (match) return `${(match[1] ?? match[2] ?? 'CLUSTER').toUpperCase().replace(/S$/, '')}_AUTHORIZATION_FAILED`
  }
  const nested = [candidate.cause, candidate.originalError, ...(Array.isArray(candidate.errors) ? candidate.errors : [])]
  for (const inner of nested) {
    const found = authorizationFailure(inner, depth + 1)
    if (found) return found
  }
  return undefined
}

function errorTypeOf(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined
  const candidate = error as {type?: unknown; cause?: unknown; errors?: unknown}
  if (typeof candidate.type === 'string') return candidate.type
  for (const inner of [candidate.cause, ...(Array.isArray(candidate.errors) ? candidate.errors : [])]) {
    const found = errorTypeOf(inner, depth + 1)
    if (found) return found
  }
  return undefined
}

function label(resource: AclResource): string {
  return `${resource.type} ${resource.name}`
}

function finding(need: Needed, reason: string): PermissionFinding {
  return {resource: label(need.resource), operation: need.operation.toUpperCase(), reason}
}

/** Operations that imply `operation` in Kafka's authorizer (READ/WRITE/DELETE/ALTER imply DESCRIBE, ...). */
function impliedBy(operation: AclOperation): AclOperation[] {
  if (operation === 'describe') return ['describe', 'read', 'write', 'delete', 'alter', 'all']
  if (operation === 'describe_configs') return ['describe_configs', 'alter_configs', 'all']
  return [operation, 'all']
}

function patternMatches(binding: AclBinding, resource: AclResource): boolean {
  if (binding.resourceType !== resource.type) return false
  if (binding.patternType === 'literal') return binding.resourceName === '*' || binding.resourceName === resource.name
  if (binding.patternType === 'prefixed') return resource.name.startsWith(binding.resourceName)
  return false
}

/** What the ACLs say for this principal: DENY wins over ALLOW, like Kafka's StandardAuthorizer. */
export function aclVerdict(
  bindings: readonly AclBinding[],
  principal: string,
  resource: AclResource,
  operation: AclOperation,
): 'allow' | 'deny' | 'none' {
  const relevant = bindings.filter((b) => (b.principal === principal || b.principal === 'User:*') && patternMatches(b, resource))
  if (relevant.some((b) => b.permission === 'deny' && (b.operation === operation || b.operation === 'all'))) return 'deny'
  const allowing = impliedBy(operation)
  return relevant.some((b) => b.permission === 'allow' && allowing.includes(b.operation)) ? 'allow' : 'none'
}

function defaultPrincipal(cluster: KafkaCluster): string | null {
  // The kafkajs adapter exposes its connection options; other implementations may not.
  const username = (cluster as {connectionOptions?: {sasl?: {username?: string}}}).connectionOptions?.sasl?.username
  return username ? `User:${username}` : null
}

/** See the module comment. Never changes anything on the cluster. */
export async function checkPermissions(cluster: KafkaCluster, input: PermissionCheckInput): Promise<PermissionReport> {
  const principal = input.principal ?? defaultPrincipal(cluster)
  const report: PermissionReport = {principal, missing: [], unverified: [], granted: [], topicMissing: false}
  const probedGranted: Needed[] = []
  const aclOnly: Needed[] = []
  let someProbeDenied = false

  const grant = (need: Needed, reason: string) => {
    report.granted.push({...finding(need, reason), how: 'probe'})
    probedGranted.push(need)
  }
  const deny = (need: Needed, reason: string) => {
    report.missing.push(finding(need, reason))
    someProbeDenied = true
  }
  /** Runs a probe; authorization failures become "missing", anything else means the broker let the request through. */
  const probe = async (
    need: Needed,
    run: () => Promise<unknown>,
    deniedReason: string,
    grantedReason = 'probe accepted',
  ): Promise<unknown> => {
    try {
      await run()
      grant(need, grantedReason)
      return undefined
    } catch (error) {
      if (authorizationFailure(error)) deny(need, deniedReason)
      else grant(need, `${grantedReason} (the broker authorized it, then answered ${errorTypeOf(error) ?? describeCause(error)})`)
      return error
    }
  }

  // --- the topic ----------------------------------------------------------------------------------
  const topic: AclResource = {type: 'topic', name: input.topic}
  const topicDescribe: Needed = {resource: topic, operation: 'describe', why: 'read partitions, leaders and end offsets'}
  const topicAlter: Needed = {resource: topic, operation: 'alter', why: 'add partitions'}
  const topicConfigs: Needed = {resource: topic, operation: 'describe_configs', why: 'read min.insync.replicas'}
  let current: number | undefined
  try {
    current = (await cluster.describeTopic(input.topic)).partitions.length
    grant(topicDescribe, `needed to ${topicDescribe.why}`)
  } catch (error) {
    if (error instanceof KreorgError && error.code === 'topic-missing') {
      // Invisible topics look missing: the ALTER probe tells "does not exist" from "not allowed to see it".
      try {
        await cluster.validateCreatePartitions?.(input.topic, input.targetPartitions ?? 2)
      } catch (probeError) {
        if (authorizationFailure(probeError)) {
          deny(topicDescribe, `the topic is invisible to ${principal ?? 'this principal'}: needed to ${topicDescribe.why}`)
          deny(topicAlter, `needed to ${topicAlter.why}`)
          return report
        }
      }
      report.topicMissing = true
      return report
    }
    if (!authorizationFailure(error)) throw error
    deny(topicDescribe, `needed to ${topicDescribe.why}`)
  }

  await probe(topicConfigs, () => cluster.topicConfig(input.topic, ['min.insync.replicas']), `needed to ${topicConfigs.why}`)

  if (cluster.validateCreatePartitions) {
    const target =
      input.targetPartitions !== undefined && current !== undefined && input.targetPartitions > current
        ? input.targetPartitions
        : (current ?? 1) + 1
    await probe(
      topicAlter,
      () => cluster.validateCreatePartitions!(input.topic, target),
      `needed to ${topicAlter.why} (CreatePartitions was refused)`,
      `validate-only CreatePartitions to ${target} accepted`,
    )
  } else {
    aclOnly.push(topicAlter)
  }

  // --- the consumer groups ------------------------------------------------------------------------
  for (const groupId of input.groups) {
    const group: AclResource = {type: 'group', name: groupId}
    await probe(
      {resource: group, operation: 'describe', why: 'read members and committed offsets'},
      () => cluster.describeGroups([groupId]),
      'needed to read members and committed offsets',
    )
    aclOnly.push({resource: group, operation: 'read', why: 'commit offsets for new partitions of empty groups (prime-consumers)'})
  }

  // --- the control topic --------------------------------------------------------------------------
  const control: AclResource = {type: 'topic', name: input.controlTopic}
  const visible = (await cluster.listTopics()).includes(input.controlTopic)
  if (visible) {
    grant({resource: control, operation: 'describe', why: 'find the control topic'}, 'the control topic is visible')
  } else {
    const create: Needed = {resource: control, operation: 'create', why: 'create the missing control topic'}
    if (cluster.validateCreateTopic) {
      const spec = {topic: input.controlTopic, partitions: 1, configs: {'cleanup.policy': 'compact'}}
      await probe(
        create,
        () => cluster.validateCreateTopic!(spec),
        'the control topic does not exist (or is invisible) and cannot be created',
        'validate-only CreateTopics accepted',
      )
    } else {
      aclOnly.push(create)
    }
  }
  aclOnly.push({resource: control, operation: 'write', why: 'publish pause/resume commands and the lease'})
  aclOnly.push({resource: control, operation: 'read', why: 'read agent acks and heartbeats'})

  await settleFromAcls(cluster, principal, aclOnly, probedGranted, someProbeDenied, report)
  return report
}

async function settleFromAcls(
  cluster: KafkaCluster,
  principal: string | null,
  needs: Needed[],
  probedGranted: Needed[],
  someProbeDenied: boolean,
  report: PermissionReport,
): Promise<void> {
  if (needs.length === 0) return
  const unverified = (reason: string) => {
    for (const need of needs) report.unverified.push(finding(need, `needed to ${need.why}; ${reason}`))
  }
  if (!cluster.describeAcls) return unverified('this cluster client cannot read ACLs')

  const resources = new Map<string, AclResource>()
  for (const need of [...needs, ...probedGranted]) resources.set(label(need.resource), need.resource)
  const bindings: AclBinding[] = []
  try {
    for (const resource of resources.values()) bindings.push(...(await cluster.describeAcls(resource)))
  } catch (error) {
    if (errorTypeOf(error) === 'SECURITY_DISABLED') {
      // No authorizer: everything is allowed.
      for (const need of needs) report.granted.push({...finding(need, 'the cluster has no authorizer'), how: 'no-authorizer'})
      return
    }
    if (authorizationFailure(error))
      return unverified('kreorg cannot check it without side effects, and listing ACLs needs DESCRIBE on the cluster')
    return unverified(`listing ACLs failed: ${describeCause(error)}`)
  }
  if (!principal) return unverified('the principal is unknown (no SASL username), so ACLs cannot be matched')

  // ACLs are authoritative only if they explain what the probes saw; a super user's powers are not in ACLs.
  const explained = probedGranted.every((need) => aclVerdict(bindings, principal, need.resource, need.operation) === 'allow')
  for (const need of needs) {
    const verdict = aclVerdict(bindings, principal, need.resource, need.operation)
    if (verdict === 'allow') {
      report.granted.push({...finding(need, `an ACL allows it for ${principal}`), how: 'acl'})
    } else if (verdict === 'deny') {
      report.missing.push(finding(need, `needed to ${need.why}; an ACL denies it to ${principal}`))
    } else if (someProbeDenied || explained) {
      report.missing.push(finding(need, `needed to ${need.why}; no ACL grants it to ${principal}`))
    } else {
      report.unverified.push(
        finding(need, `needed to ${need.why}; no ACL grants it, but ${principal} has permissions ACLs do not show (a super user?)`),
      )
    }
  }
}

/** One line per missing permission, for a preflight error or a table. */
export function formatMissingPermissions(findings: readonly PermissionFinding[]): string {
  return findings.map((f) => `${f.operation} on ${f.resource} (${f.reason})`).join('; ')
}

export {type AclResourceType} from './types.js'

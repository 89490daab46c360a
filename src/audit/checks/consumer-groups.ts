import type {AuditCheck, Verdict} from '../types.js'

import {listPartitions, VERDICT_RANK, worst} from '../figures.js'

/** Groups that would block a drain (lag and no members) or leave partitions unread. */
export const consumerGroupsCheck: AuditCheck = {
  id: 'consumer-groups',
  run({input}) {
    const n = input.partitionCount
    const groups = input.groups.map((g) => {
      const active = g.members > 0
      const assigned = [...new Set(g.assigned)]
      const unassigned = active ? input.partitions.map((p) => p.partition).filter((p) => !assigned.includes(p)) : []
      const problem: {verdict: Verdict; why: string} | null =
        !active && g.total > 0
          ? {
              verdict: 'fail',
              why: `${g.groupId} has no members and ${g.total} records of lag: drain would wait for it forever (let it catch up or delete it)`,
            }
          : active && unassigned.length > 0
            ? {verdict: 'warn', why: `${g.groupId} leaves partitions ${listPartitions(unassigned)} unassigned`}
            : null
      return {
        groupId: g.groupId,
        state: g.state,
        members: g.members,
        assignedPartitions: assigned.length,
        unassigned,
        lag: g.total,
        idleMembers: Math.max(0, g.members - n),
        problem,
      }
    })
    const details = {groups}
    const base = {id: 'consumer-groups' as const, title: 'Consumer groups', details}
    if (groups.length === 0) return {...base, verdict: 'pass', why: 'no consumer group has offsets on this topic'}
    const problems = groups.flatMap((g) => (g.problem ? [g.problem] : []))
    const verdict = worst(problems.map((p) => p.verdict))
    const active = groups.filter((g) => g.members > 0).length
    const idle = groups.filter((g) => g.idleMembers > 0)
    const summary = `${groups.length} group${groups.length === 1 ? '' : 's'} (${active} active)`
    if (problems.length > 0) {
      const sorted = [...problems].sort((a, b) => VERDICT_RANK[b.verdict] - VERDICT_RANK[a.verdict])
      return {...base, verdict, why: `${summary}: ${sorted.map((p) => p.why).join('; ')}`}
    }
    const idleNote =
      idle.length > 0
        ? `; ${idle.map((g) => `${g.groupId} has ${g.members} members for ${n} partitions`).join(', ')} (idle members get work after a grow)`
        : ''
    return {...base, verdict: 'pass', why: `${summary}, every active group owns every partition, no inactive group has lag${idleNote}`}
  },
}

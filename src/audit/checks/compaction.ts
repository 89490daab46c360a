import type {AuditCheck} from '../types.js'

import {percent} from '../figures.js'

/** `compact` or `compact,delete`: the log keeps each key's last value until a newer one or a tombstone replaces it. */
export function isCompactedPolicy(policy: string | undefined): boolean {
  return (policy ?? '')
    .split(',')
    .map((p) => p.trim())
    .includes('compact')
}

/**
 * Compacted topics: every moved key's last value (or tombstone) stays in its old partition for good,
 * where nothing ever writes that key again to replace it. Grow refuses them; the audit says how many
 * sampled keys each candidate count would strand (docs/operations.md explains why no flag offers it).
 */
export const compactionCheck: AuditCheck = {
  id: 'compaction',
  run({input, ranking}) {
    const policy = input.cleanupPolicy ?? 'delete'
    const moved = ranking.candidates.map((c) => ({to: c.to, movedKeys: c.movedKeys, sampledKeys: c.sampledKeys}))
    const base = {id: 'compaction' as const, title: 'Compaction', details: {cleanupPolicy: policy, compacted: false, moved}}
    if (!isCompactedPolicy(policy)) {
      return {...base, verdict: 'pass', why: `cleanup.policy=${policy}: not compacted`}
    }
    const figures = ranking.candidates
      .map((c) =>
        c.sampledKeys > 0
          ? `${c.movedKeys} of ${c.sampledKeys} sampled keys (${percent(c.movedShare)}) would move at ${c.to}`
          : `about ${percent(c.uniformMovedShare)} of keys would move at ${c.to} (no keys sampled)`,
      )
      .join('; ')
    return {
      ...base,
      details: {...base.details, compacted: true},
      verdict: 'fail',
      why:
        `cleanup.policy=${policy}: kreorg grow refuses compacted topics. ${figures || 'every grow moves keys'}. ` +
        `Each moved key's last value (or tombstone) stays in its old partition for good, so a consumer rebuilding state from the start ` +
        `(a KTable, a cache, a new group on earliest) can read it after the key's newer value in the new partition: stale values come back and deletions are lost`,
    }
  },
}

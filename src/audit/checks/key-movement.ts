import type {AuditCheck} from '../types.js'

import {highestSkew, movedShareOf} from '../candidates.js'
import {percent} from '../figures.js'

/** The recommendation: the candidate count that moves the fewest keys with acceptable skew. */
export const keyMovementCheck: AuditCheck = {
  id: 'key-movement',
  run({ranking}) {
    const {candidates, recommended} = ranking
    const details = {partitioner: ranking.partitioner, baselineSkew: ranking.baselineSkew, candidates, recommended}
    const base = {id: 'key-movement' as const, title: 'Key movement per candidate count', details}
    const figures = candidates
      .map((c) => `${c.to}: ${percent(movedShareOf(c))} of keys move, skew ${highestSkew(c.skew).toFixed(2)}`)
      .join('; ')
    if (candidates.length === 0) return {...base, verdict: 'pass', why: 'no candidate counts given (--to)'}
    if (recommended === null) return {...base, verdict: 'warn', why: `every candidate makes skew clearly worse than today (${figures})`}
    const source = candidates.every((c) => c.sampledKeys > 0) ? 'sampled keys' : 'uniform-hash estimate (no keys sampled)'
    return {...base, verdict: 'pass', why: `recommend ${recommended}: fewest moved keys with acceptable skew (${figures}; ${source})`}
  },
}

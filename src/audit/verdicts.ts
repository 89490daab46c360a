/**
 * The audit's judgement, as pure functions of what was read: sampled records, offsets and consumer
 * group lag go in, checks with a verdict and one line of why come out. No I/O here, so every
 * threshold is unit-tested (test/unit/audit-verdicts.test.ts) and the integration tests only have
 * to prove the figures that come from a real broker.
 */
import {keyId, keyMovement, partitionerMatch, type PartitionerMatch} from '../kafka/key-analysis.js'
import type {GroupLag} from '../kafka/lag.js'
import {PARTITIONER_LABELS, PARTITIONER_NAMES, positiveHashWith, type PartitionerName} from '../kafka/partitioners.js'
import type {PartitionSample, SampledRecord} from '../kafka/sampler.js'

export type Verdict = 'pass' | 'warn' | 'fail'

export type CheckId =
  | 'sample'
  | 'null-keys'
  | 'key-cardinality'
  | 'partition-skew'
  | 'partitioner'
  | 'idempotence'
  | 'consumer-groups'
  | 'key-movement'

export interface Check<D = Record<string, unknown>> {
  id: CheckId
  title: string
  verdict: Verdict
  /** One line: what was found and why it matters. */
  why: string
  details: D
}

/** Thresholds in one place; the README quotes them. */
export const THRESHOLDS = {
  /** Null-key records at or above this share of keyed topics fail (below: warn). */
  nullKeyFailShare: 0.01,
  /** Partition skew (max / mean) above this warns. */
  skew: 1.5,
  /** A candidate's projected skew is acceptable up to max(skew, baseline × this). */
  skewGrowth: 1.25,
  /** Keyed records no detected partitioner explains above this share warn. */
  unexplainedShare: 0.01,
  /** How many of the heaviest keys the report lists. */
  heaviestKeys: 5,
} as const

export interface AuditInput {
  topic: string
  partitionCount: number
  /** The sampler's per-partition plan and outcome (also carries low/high offsets). */
  partitions: readonly PartitionSample[]
  records: readonly SampledRecord[]
  perPartition: number
  sampleComplete: boolean
  groups: readonly GroupLag[]
  /** Candidate partition counts, all above `partitionCount`. */
  candidates: readonly number[]
}

export interface CandidateFigures {
  to: number
  sampledKeys: number
  movedKeys: number
  /** Share of distinct sampled keys whose partition changes. */
  movedShare: number
  /** Share of (volume-weighted) keyed records whose key moves. */
  movedRecordShare: number
  /** What a uniform hash predicts: 1 − gcd(from, to)/to. */
  uniformMovedShare: number
  /** Projected max/mean load over the new partitions, by records and by bytes. */
  skew: {records: number; bytes: number}
  /** The skew hot keys force at this count whatever the hash (light keys spread evenly). */
  unavoidableSkew: {records: number; bytes: number}
  /** The projected skew up to which this count is acceptable. */
  skewLimit: number
  acceptable: boolean
}

export interface AuditReport {
  topic: string
  partitionCount: number
  verdict: Verdict
  counts: Record<Verdict, number>
  sample: {perPartition: number; records: number; keyedRecords: number; complete: boolean; partitions: number}
  checks: Check[]
  candidates: CandidateFigures[]
  recommended: number | null
  partitioner: PartitionerMatch
}

const VERDICT_RANK: Record<Verdict, number> = {pass: 0, warn: 1, fail: 2}

export function worst(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((a, b) => (VERDICT_RANK[b] > VERDICT_RANK[a] ? b : a), 'pass')
}

export function percent(share: number): string {
  if (share === 0) return '0%'
  if (share < 0.001) return '<0.1%'
  if (share > 0.999 && share < 1) return '>99.9%'
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b
}

function listPartitions(partitions: readonly number[], max = 8): string {
  const shown = partitions.slice(0, max).join(', ')
  return partitions.length > max ? `${shown}, … (${partitions.length})` : shown
}

/** A key for humans: text when it is printable, hex otherwise, cut at 40 characters. */
export function displayKey(key: Uint8Array): string {
  const buffer = Buffer.from(key.buffer, key.byteOffset, key.byteLength)
  const text = buffer.toString('utf8')
  const printable = /^[\x20-\x7e\u00a0-\uffff]*$/.test(text) && !text.includes('\ufffd')
  const shown = printable ? text : `0x${buffer.toString('hex')}`
  return shown.length > 40 ? `${shown.slice(0, 39)}…` : shown
}

/**
 * Each sampled record stands for `retained / sampled` records of its partition, so figures over the
 * whole topic are not skewed by sampling the same number from a busy and an idle partition.
 */
export function partitionWeights(partitions: readonly PartitionSample[], records: readonly SampledRecord[]): Map<number, number> {
  const sampled = new Map<number, number>()
  for (const r of records) sampled.set(r.partition, (sampled.get(r.partition) ?? 0) + 1)
  return new Map(partitions.map((p) => [p.partition, ratio(p.high - p.low, sampled.get(p.partition) ?? 0)]))
}

function maxOverMean(values: readonly number[]): number {
  const total = values.reduce((a, b) => a + b, 0)
  if (values.length === 0 || total === 0) return 1
  return Math.max(...values) / (total / values.length)
}

function checkSample(input: AuditInput): Check {
  const {records, partitions} = input
  const incomplete = partitions.filter((p) => !p.complete).map((p) => p.partition)
  const empty = partitions.filter((p) => p.high - p.low === 0).length
  const details = {
    records: records.length,
    perPartition: input.perPartition,
    partitions: partitions.length,
    emptyPartitions: empty,
    incompletePartitions: incomplete,
  }
  if (records.length === 0) {
    return {id: 'sample', title: 'Sample', verdict: 'warn', why: 'the topic holds no records: nothing to judge keys, partitioner or producers by', details}
  }
  if (!input.sampleComplete) {
    return {
      id: 'sample',
      title: 'Sample',
      verdict: 'warn',
      why: `${records.length} records read, but partitions ${listPartitions(incomplete)} were not finished in time: figures cover what was read`,
      details,
    }
  }
  return {
    id: 'sample',
    title: 'Sample',
    verdict: 'pass',
    why: `${records.length} records, the last ≤${input.perPartition} of each of ${partitions.length} partitions${empty > 0 ? ` (${empty} empty)` : ''}`,
    details,
  }
}

function checkNullKeys(input: AuditInput, weights: Map<number, number>): Check {
  const perPartition = input.partitions.map((p) => {
    const sampled = input.records.filter((r) => r.partition === p.partition)
    const nullKeys = sampled.filter((r) => r.key === null).length
    return {partition: p.partition, sampled: sampled.length, nullKeys, share: ratio(nullKeys, sampled.length)}
  })
  let total = 0
  let nulls = 0
  for (const r of input.records) {
    const w = weights.get(r.partition) ?? 0
    total += w
    if (r.key === null) nulls += w
  }
  const share = ratio(nulls, total)
  const nullRecords = perPartition.reduce((s, p) => s + p.nullKeys, 0)
  const details = {share, records: nullRecords, perPartition}
  const base = {id: 'null-keys' as const, title: 'Records without a key', details}
  if (input.records.length === 0) return {...base, verdict: 'warn', why: 'no records sampled'}
  if (nullRecords === 0) return {...base, verdict: 'pass', why: 'every sampled record has a key'}
  if (nullRecords === input.records.length) {
    return {...base, verdict: 'warn', why: 'no record has a key: records are spread without per-key order, so a grow reorders nothing that was ordered'}
  }
  const where = perPartition.filter((p) => p.nullKeys > 0)
  const worstShown = [...where].sort((a, b) => b.share - a.share).slice(0, 4)
  const why =
    `${percent(share)} of records have no key (${nullRecords} sampled; ` +
    `${worstShown.map((p) => `p${p.partition} ${percent(p.share)}`).join(', ')}${where.length > worstShown.length ? ', …' : ''}): ` +
    'they have no per-key order and land on any partition'
  return {...base, verdict: share >= THRESHOLDS.nullKeyFailShare ? 'fail' : 'warn', why}
}

function checkKeyCardinality(input: AuditInput, weights: Map<number, number>): Check {
  const perKey = new Map<string, {key: Uint8Array; weight: number; records: number}>()
  let keyedWeight = 0
  for (const r of input.records) {
    if (r.key === null) continue
    const w = weights.get(r.partition) ?? 0
    keyedWeight += w
    const id = keyId(r.key)
    const entry = perKey.get(id)
    if (entry) {
      entry.weight += w
      entry.records++
    } else perKey.set(id, {key: r.key, weight: w, records: 1})
  }
  const keyedRecords = input.records.filter((r) => r.key !== null).length
  const heaviest = [...perKey.values()]
    .sort((a, b) => b.weight - a.weight || b.records - a.records)
    .slice(0, THRESHOLDS.heaviestKeys)
    .map((k) => ({key: displayKey(k.key), records: k.records, share: ratio(k.weight, keyedWeight)}))
  const distinct = perKey.size
  const allDistinct = distinct === keyedRecords
  const details = {distinctKeys: distinct, keyedRecords, allDistinct, heaviest}
  const base = {id: 'key-cardinality' as const, title: 'Key cardinality and hot keys', details}
  if (keyedRecords === 0) return {...base, verdict: 'warn', why: 'no keyed records sampled'}
  const top = heaviest[0]!
  const fairShare = 1 / input.partitionCount
  const cardinality = allDistinct ? `every one of ${distinct} sampled keys is distinct` : `${distinct} distinct keys in ${keyedRecords} keyed records`
  if (top.share >= fairShare && distinct > 1) {
    return {
      ...base,
      verdict: 'warn',
      why: `hot key "${top.key}" carries ${percent(top.share)} of keyed records (a partition's fair share is ${percent(fairShare)}): more partitions cannot spread one key`,
    }
  }
  if (distinct < input.partitionCount && !allDistinct) {
    return {...base, verdict: 'warn', why: `only ${distinct} distinct keys for ${input.partitionCount} partitions: some partitions get no keyed records`}
  }
  return {...base, verdict: 'pass', why: `${cardinality}; the heaviest carries ${percent(top.share)}`}
}

function checkPartitionSkew(input: AuditInput): Check {
  const avgBytes = new Map<number, number>()
  for (const p of input.partitions) {
    const sampled = input.records.filter((r) => r.partition === p.partition)
    avgBytes.set(p.partition, ratio(sampled.reduce((s, r) => s + r.valueBytes + (r.key?.length ?? 0), 0), sampled.length))
  }
  const perPartition = input.partitions.map((p) => {
    const records = p.high - p.low
    return {partition: p.partition, records, bytes: Math.round(records * (avgBytes.get(p.partition) ?? 0))}
  })
  const recordSkew = maxOverMean(perPartition.map((p) => p.records))
  const byteSkew = maxOverMean(perPartition.map((p) => p.bytes))
  const meanRecords = ratio(perPartition.reduce((s, p) => s + p.records, 0), perPartition.length)
  const meanBytes = ratio(perPartition.reduce((s, p) => s + p.bytes, 0), perPartition.length)
  const hot = perPartition
    .filter((p) => p.records > meanRecords * THRESHOLDS.skew || p.bytes > meanBytes * THRESHOLDS.skew)
    .map((p) => p.partition)
  const details = {records: recordSkew, bytes: byteSkew, hotPartitions: hot, perPartition}
  const base = {id: 'partition-skew' as const, title: 'Partition skew', details}
  const figures = `max/mean ${recordSkew.toFixed(2)} by records, ${byteSkew.toFixed(2)} by bytes`
  if (meanRecords === 0) return {...base, verdict: 'pass', why: 'no records retained'}
  if (Math.max(recordSkew, byteSkew) > THRESHOLDS.skew) {
    return {...base, verdict: 'warn', why: `${figures}: hot partitions ${listPartitions(hot)}`}
  }
  return {...base, verdict: 'pass', why: `${figures} (retained records; bytes estimated from the sample)`}
}

function checkPartitioner(match: PartitionerMatch): Check {
  const details = {...match}
  const base = {id: 'partitioner' as const, title: 'Partitioner', details}
  const shares = `murmur2 ${percent(match.murmur2.share)}, CRC32 ${percent(match.crc32.share)}, neither ${percent(match.neither.share)}`
  switch (match.detected) {
    case 'none':
      return {...base, verdict: 'warn', why: 'no keyed records to tell the partitioner by'}
    case 'inconclusive':
      return {...base, verdict: 'warn', why: 'one partition: every partitioner agrees, so which one producers use shows only after a grow'}
    case 'mixed': {
      const [first, second] = match.partitioners as [PartitionerName, PartitionerName]
      return {
        ...base,
        verdict: 'fail',
        why: `two partitioners write this topic (${match.partitioners.map((p) => `${p} ${percent(match[p].share)}`).join(', ')}): a key written by both lands in two partitions and is reordered even without a grow (${PARTITIONER_LABELS[first]} vs ${PARTITIONER_LABELS[second]})`,
      }
    }
    case 'unknown':
      return {
        ...base,
        verdict: 'warn',
        why: `no known partitioner explains where keyed records sit (${shares}): a custom partitioner or explicit partitions; key movement cannot be predicted`,
      }
    default: {
      const name = match.detected
      const unexplained = match.unexplained.share > THRESHOLDS.unexplainedShare ? `; ${percent(match.unexplained.share)} of keyed records sit where it would not put them (explicit partitions or written before an earlier partition change)` : ''
      if (name === 'murmur2') {
        return {...base, verdict: unexplained ? 'warn' : 'pass', why: `${percent(match.murmur2.share)} of keyed records match murmur2 (Java client, kafkajs default)${unexplained}`}
      }
      return {
        ...base,
        verdict: 'warn',
        why: `keyed records follow ${PARTITIONER_LABELS[name]} (${percent(match[name].share)}), not the Java client's murmur2: a Java or kafkajs producer added later would put the same keys elsewhere${unexplained}`,
      }
    }
  }
}

function checkIdempotence(input: AuditInput, weights: Map<number, number>): Check {
  const plain = input.records.filter((r) => r.producerId < 0)
  const producerIds = [...new Set(input.records.filter((r) => r.producerId >= 0).map((r) => r.producerId))].sort((a, b) => a - b)
  const transactional = input.records.filter((r) => r.inTransaction).length
  let total = 0
  let plainWeight = 0
  for (const r of input.records) {
    const w = weights.get(r.partition) ?? 0
    total += w
    if (r.producerId < 0) plainWeight += w
  }
  const partitions = [...new Set(plain.map((r) => r.partition))].sort((a, b) => a - b)
  const details = {
    nonIdempotentRecords: plain.length,
    nonIdempotentShare: ratio(plainWeight, total),
    nonIdempotentPartitions: partitions,
    producerIds,
    transactionalRecords: transactional,
  }
  const base = {id: 'idempotence' as const, title: 'Idempotent producers', details}
  if (input.records.length === 0) return {...base, verdict: 'warn', why: 'no records sampled'}
  const risk = 'a retried batch can land behind a later one and reorder a partition (enable.idempotence=true, kafkajs idempotent: true)'
  if (plain.length === 0) {
    return {
      ...base,
      verdict: 'pass',
      why: `every record batch carries a producer id (${producerIds.length} idempotent producer${producerIds.length === 1 ? '' : 's'}${transactional > 0 ? `, ${transactional} transactional records` : ''})`,
    }
  }
  if (plain.length === input.records.length) return {...base, verdict: 'fail', why: `no record batch carries a producer id: producers are not idempotent; ${risk}`}
  return {
    ...base,
    verdict: 'fail',
    why: `${percent(details.nonIdempotentShare)} of records come from non-idempotent producers (partitions ${listPartitions(partitions)}); ${risk}`,
  }
}

function checkGroups(input: AuditInput): Check {
  const n = input.partitionCount
  const groups = input.groups.map((g) => {
    const active = g.members > 0
    const assigned = [...new Set(g.assigned)]
    const unassigned = active ? input.partitions.map((p) => p.partition).filter((p) => !assigned.includes(p)) : []
    const problem: {verdict: Verdict; why: string} | null =
      !active && g.total > 0
        ? {verdict: 'fail', why: `${g.groupId} has no members and ${g.total} records of lag: drain would wait for it forever (let it catch up or delete it)`}
        : active && unassigned.length > 0
          ? {verdict: 'warn', why: `${g.groupId} leaves partitions ${listPartitions(unassigned)} unassigned`}
          : null
    return {groupId: g.groupId, state: g.state, members: g.members, assignedPartitions: assigned.length, unassigned, lag: g.total, idleMembers: Math.max(0, g.members - n), problem}
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
  const idleNote = idle.length > 0 ? `; ${idle.map((g) => `${g.groupId} has ${g.members} members for ${n} partitions`).join(', ')} (idle members get work after a grow)` : ''
  return {...base, verdict: 'pass', why: `${summary}, every active group owns every partition, no inactive group has lag${idleNote}`}
}

interface KeyLoad {
  hash: number
  records: number
  bytes: number
}

/** Volume-weighted load per distinct key, plus what has no key (or a key the partitioner ignores). */
function keyLoads(records: readonly SampledRecord[], weights: Map<number, number>, partitioner: PartitionerName): {keys: KeyLoad[]; spread: {records: number; bytes: number}} {
  const perKey = new Map<string, KeyLoad>()
  const spread = {records: 0, bytes: 0}
  for (const r of records) {
    const w = weights.get(r.partition) ?? 0
    const size = r.valueBytes + (r.key?.length ?? 0)
    const hash = r.key === null ? null : positiveHashWith(partitioner, r.key)
    if (hash === null || r.key === null) {
      spread.records += w
      spread.bytes += w * size
      continue
    }
    const id = keyId(r.key)
    const entry = perKey.get(id) ?? {hash, records: 0, bytes: 0}
    entry.records += w
    entry.bytes += w * size
    perKey.set(id, entry)
  }
  return {keys: [...perKey.values()], spread}
}

/**
 * Max/mean load over `to` partitions: keyed load where the hash puts it, keyless load spread evenly
 * (round-robin or sticky). With `onlyHeavyKeys`, keys below a quarter of a partition's fair share are
 * spread evenly too: what is left is the skew no hash can avoid (hot keys and their collisions),
 * without the sampling noise of light keys.
 */
function projectedSkew(loads: {keys: KeyLoad[]; spread: {records: number; bytes: number}}, to: number, onlyHeavyKeys = false): {records: number; bytes: number} {
  const records = new Array<number>(to).fill(0)
  const bytes = new Array<number>(to).fill(0)
  const total = loads.keys.reduce((s, k) => s + k.records, loads.spread.records)
  let spreadRecords = loads.spread.records
  let spreadBytes = loads.spread.bytes
  for (const key of loads.keys) {
    if (onlyHeavyKeys && key.records < total / to / 4) {
      spreadRecords += key.records
      spreadBytes += key.bytes
      continue
    }
    records[key.hash % to]! += key.records
    bytes[key.hash % to]! += key.bytes
  }
  return {
    records: maxOverMean(records.map((l) => l + spreadRecords / to)),
    bytes: maxOverMean(bytes.map((b) => b + spreadBytes / to)),
  }
}

function checkCandidates(input: AuditInput, weights: Map<number, number>, partitioner: PartitionerName): {check: Check; candidates: CandidateFigures[]; recommended: number | null} {
  const n = input.partitionCount
  const loads = keyLoads(input.records, weights, partitioner)
  const baseline = projectedSkew(loads, n)
  const highest = (s: {records: number; bytes: number}) => Math.max(s.records, s.bytes)
  const candidates = input.candidates.map((to): CandidateFigures => {
    const movement = keyMovement(input.records, n, to, {partitioner})
    let keyedWeight = 0
    let movedWeight = 0
    for (const r of input.records) {
      if (r.key === null) continue
      const hash = positiveHashWith(partitioner, r.key)
      if (hash === null) continue
      const w = weights.get(r.partition) ?? 0
      keyedWeight += w
      if (hash % n !== hash % to) movedWeight += w
    }
    const skew = projectedSkew(loads, to)
    const unavoidable = projectedSkew(loads, to, true)
    // Acceptable: not much worse than today, than the hot keys force anyway, or than the plain threshold.
    const limit = Math.max(THRESHOLDS.skew, highest(baseline) * THRESHOLDS.skewGrowth, highest(unavoidable) * THRESHOLDS.skewGrowth)
    return {
      to,
      sampledKeys: movement.sampledKeys,
      movedKeys: movement.moved,
      movedShare: movement.movedShare,
      movedRecordShare: ratio(movedWeight, keyedWeight),
      uniformMovedShare: movement.uniformMovedShare,
      skew,
      unavoidableSkew: unavoidable,
      skewLimit: limit,
      acceptable: highest(skew) <= limit,
    }
  })
  // With no keys sampled the uniform estimate is all there is to rank by.
  const moved = (c: CandidateFigures) => (c.sampledKeys > 0 ? c.movedShare : c.uniformMovedShare)
  const ranked = candidates.filter((c) => c.acceptable).sort((a, b) => moved(a) - moved(b) || a.to - b.to)
  const recommended = ranked[0]?.to ?? null
  const details = {partitioner, baselineSkew: baseline, candidates, recommended}
  const base = {id: 'key-movement' as const, title: 'Key movement per candidate count', details}
  const figures = candidates.map((c) => `${c.to}: ${percent(moved(c))} of keys move, skew ${highest(c.skew).toFixed(2)}`).join('; ')
  let check: Check
  if (candidates.length === 0) check = {...base, verdict: 'pass', why: 'no candidate counts given (--to)'}
  else if (recommended === null) {
    check = {...base, verdict: 'warn', why: `every candidate makes skew clearly worse than today (${figures})`}
  } else {
    const source = candidates.every((c) => c.sampledKeys > 0) ? 'sampled keys' : 'uniform-hash estimate (no keys sampled)'
    check = {...base, verdict: 'pass', why: `recommend ${recommended}: fewest moved keys with acceptable skew (${figures}; ${source})`}
  }
  return {check, candidates, recommended}
}

/** Default candidates when none are given: the multiples of the current count keep the most keys. */
export function defaultCandidates(partitionCount: number): number[] {
  return [2, 3, 4].map((m) => partitionCount * m)
}

export function auditVerdicts(input: AuditInput): AuditReport {
  const weights = partitionWeights(input.partitions, input.records)
  const match = partitionerMatch(input.records, input.partitionCount)
  const partitioner: PartitionerName = (PARTITIONER_NAMES as readonly string[]).includes(match.detected)
    ? (match.detected as PartitionerName)
    : match.detected === 'mixed'
      ? match.partitioners[0]!
      : 'murmur2'
  const movement = checkCandidates(input, weights, partitioner)
  const checks: Check[] = [
    checkSample(input),
    checkNullKeys(input, weights),
    checkKeyCardinality(input, weights),
    checkPartitionSkew(input),
    checkPartitioner(match),
    checkIdempotence(input, weights),
    checkGroups(input),
    movement.check,
  ]
  const counts: Record<Verdict, number> = {pass: 0, warn: 0, fail: 0}
  for (const c of checks) counts[c.verdict]++
  return {
    topic: input.topic,
    partitionCount: input.partitionCount,
    verdict: worst(checks.map((c) => c.verdict)),
    counts,
    sample: {
      perPartition: input.perPartition,
      records: input.records.length,
      keyedRecords: input.records.filter((r) => r.key !== null).length,
      complete: input.sampleComplete,
      partitions: input.partitions.length,
    },
    checks,
    candidates: movement.candidates,
    recommended: movement.recommended,
    partitioner: match,
  }
}

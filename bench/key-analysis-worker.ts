/**
 * Child process of bench/key-analysis.ts: one analysis over N generated keys, then its peak RSS.
 * A fresh process per measurement, so maxRSS belongs to that one analysis.
 *
 *   node dist/bench/key-analysis-worker.js <mode> <keys> <from> <to>
 * modes: records   — build KeyedRecord[] (what the sampler returns), then keyMovement(records)
 *        records-before — the same with keyMovement as it was before KeyHasher (bench/baseline)
 *        streaming — KeyHasher as the audit uses it: add each key as it is generated, then movement
 *                    (hash once; bounded table: past DEFAULT_MAX_TRACKED_KEYS distinct keys, a uniform
 *                    hash-sample of them, scaled up)
 *        streaming-exact — the same with a table big enough for every key (exact, memory grows with keys)
 *        hash-loop — the Java baseline's loop in JS: murmur2 per key, count moved, no de-duplication
 */
import {performance} from 'node:perf_hooks'

import * as keyAnalysis from '../src/kafka/key-analysis.js'
import {murmur2, toPositive} from '../src/kafka/murmur2.js'
import {keyMovementBefore} from './baseline/key-movement-before.js'

const [mode = 'records', countArg = '1000000', fromArg = '12', toArg = '16'] = process.argv.slice(2)
const count = Number(countArg)
const from = Number(fromArg)
const to = Number(toArg)
// "key-" + i as UTF-8 (ASCII) bytes, written into one scratch buffer: key generation should cost
// what reading keys off the wire costs (nothing), not what TextEncoder costs per call in Node 20.
const scratch = new Uint8Array(32)
scratch.set([0x6b, 0x65, 0x79, 0x2d]) // "key-"
const views = Array.from({length: scratch.length + 1}, (_, n) => scratch.subarray(0, n))
function key(i: number): Uint8Array {
  let digits = 1
  for (let v = i; v >= 10; v = Math.floor(v / 10)) digits++
  let pos = 4 + digits
  let v = i
  do {
    scratch[--pos] = 0x30 + (v % 10)
    v = Math.floor(v / 10)
  } while (v > 0)
  return views[4 + digits]!
}

interface Out {
  mode: string
  keys: number
  moved: number
  movedShare: number
  /** Distinct keys the table held, when the figures were scaled up from a sample. */
  trackedKeys?: number
  generateMs: number
  analyzeMs: number
  totalMs: number
  maxRssKiB: number
  /** User + system CPU of the whole process: steadier than wall time on a shared machine. */
  cpuMs: number
}

function figures(movement: keyAnalysis.KeyMovement): Pick<Out, 'mode' | 'keys' | 'moved' | 'movedShare' | 'trackedKeys'> {
  return {
    mode,
    keys: movement.sampledKeys,
    moved: movement.moved,
    movedShare: movement.movedShare,
    ...(movement.estimated ? {trackedKeys: movement.estimated.trackedKeys} : {}),
  }
}

function run(): Out {
  const t0 = performance.now()
  if (mode === 'records') {
    const records: keyAnalysis.KeyedRecord[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const k = key(i).slice()
      records[i] = {key: k, partition: toPositive(murmur2(k)) % from}
    }
    const t1 = performance.now()
    const movement = keyAnalysis.keyMovement(records, from, to)
    const t2 = performance.now()
    return {...figures(movement), generateMs: t1 - t0, analyzeMs: t2 - t1, totalMs: t2 - t0, maxRssKiB: 0, cpuMs: 0}
  }
  if (mode === 'records-before') {
    const records: keyAnalysis.KeyedRecord[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const k = key(i).slice()
      records[i] = {key: k, partition: toPositive(murmur2(k)) % from}
    }
    const t1 = performance.now()
    const movement = keyMovementBefore(records, from, to)
    const t2 = performance.now()
    return {
      mode,
      keys: movement.sampledKeys,
      moved: movement.moved,
      movedShare: movement.moved / movement.sampledKeys,
      generateMs: t1 - t0,
      analyzeMs: t2 - t1,
      totalMs: t2 - t0,
      maxRssKiB: 0,
      cpuMs: 0,
    }
  }
  if (mode === 'streaming' || mode === 'streaming-exact') {
    const hasher = new keyAnalysis.KeyHasher(mode === 'streaming-exact' ? {maxTrackedKeys: count} : {})
    for (let i = 0; i < count; i++) hasher.add(key(i))
    const t1 = performance.now()
    const movement = hasher.movement(from, to)
    const t2 = performance.now()
    // Generation and hashing are one pass here: generateMs holds both.
    return {...figures(movement), generateMs: t1 - t0, analyzeMs: t2 - t1, totalMs: t2 - t0, maxRssKiB: 0, cpuMs: 0}
  }
  if (mode === 'hash-loop') {
    let moved = 0
    for (let i = 0; i < count; i++) {
      const h = toPositive(murmur2(key(i)))
      if (h % from !== h % to) moved++
    }
    const t1 = performance.now()
    return {
      mode,
      keys: count,
      moved,
      movedShare: moved / count,
      generateMs: 0,
      analyzeMs: t1 - t0,
      totalMs: t1 - t0,
      maxRssKiB: 0,
      cpuMs: 0,
    }
  }
  throw new Error(`unknown mode ${mode}`)
}

const out = run()
out.maxRssKiB = process.resourceUsage().maxRSS
const cpu = process.cpuUsage()
out.cpuMs = (cpu.user + cpu.system) / 1000
process.stdout.write(`${JSON.stringify(out)}\n`)

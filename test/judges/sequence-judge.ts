/**
 * The per-key sequence check every independent judge feeds. It knows nothing of kreorg: producers
 * write values `<key>:<seq>` (seq 1, 2, 3, … per key, each key owned by one writer that awaits every
 * send), a `SentRecords` ledger keeps what the broker acknowledged, and a `SequenceJudge` is told every
 * record one consumer group printed, in the order the group processed them.
 *
 * Verdicts, per group:
 * - lost: acknowledged (key, seq) never seen;
 * - reordered: a (key, seq) seen after a higher seq of the same key;
 * - duplicated: a (key, seq) seen again;
 * - unexpected: a (key, seq) no writer ever tried to send (a parser or producer bug: never 0-by-accident).
 * A send that failed may or may not have landed ("uncertain"): seeing it is fine, missing it is not a loss.
 */

/** What the writers did: acknowledged and uncertain sequence numbers, per key. Sequence numbers are never reused. */
export class SentRecords {
  private readonly acked = new Map<string, Set<number>>()
  private readonly uncertain = new Map<string, Set<number>>()
  private readonly next = new Map<string, number>()
  private ackedCount = 0

  /** The next sequence number of a key (1, 2, 3, …). */
  take(key: string): number {
    const seq = (this.next.get(key) ?? 0) + 1
    this.next.set(key, seq)
    return seq
  }

  ack(key: string, seq: number): void {
    let set = this.acked.get(key)
    if (!set) this.acked.set(key, (set = new Set()))
    if (!set.has(seq)) this.ackedCount++
    set.add(seq)
  }

  /** The send failed: the record may still have been written (a timeout after the broker appended it). */
  fail(key: string, seq: number): void {
    let set = this.uncertain.get(key)
    if (!set) this.uncertain.set(key, (set = new Set()))
    set.add(seq)
  }

  get total(): number {
    return this.ackedCount
  }

  get uncertainTotal(): number {
    let sum = 0
    for (const set of this.uncertain.values()) sum += set.size
    return sum
  }

  keys(): string[] {
    return [...this.acked.keys()]
  }

  ackedOf(key: string): ReadonlySet<number> {
    return this.acked.get(key) ?? new Set()
  }

  /** Ever handed to a writer (acked, failed, or still in flight). */
  wasTaken(key: string, seq: number): boolean {
    return seq >= 1 && seq <= (this.next.get(key) ?? 0)
  }
}

export interface ConsumedRecord {
  key: string
  seq: number
  partition: number
  offset: number
}

export interface JudgeVerdict {
  group: string
  consumed: number
  expected: number
  lost: number
  reordered: number
  duplicated: number
  unexpected: number
  /** Lines the consumer printed that are not records (tool chatter); kept apart, never counted as records. */
  unparsed: number
  /** First few examples of each kind, `key:seq` (with partition/offset where seen). */
  samples: {lost: string[]; reordered: string[]; duplicated: string[]; unexpected: string[]; unparsed: string[]}
  /** Lowest offset the group read on each partition: a new partition read from its start shows 0 or its first marker + 1. */
  firstOffsetByPartition: Record<number, number>
  recordsByPartition: Record<number, number>
}

const SAMPLES = 8

/**
 * Records with this key are not judged: the scenario writes them to every partition before traffic
 * starts, to see that each group has a position everywhere (`sawWarmup`).
 */
export const WARMUP_KEY = '~warmup'

function pushSample(list: string[], text: string): void {
  if (list.length < SAMPLES) list.push(text)
}

/** One consumer group's view: every record it printed, in processing order. */
export class SequenceJudge {
  private readonly seen = new Map<string, Map<number, {partition: number; offset: number}>>()
  private readonly highest = new Map<string, number>()
  private consumedCount = 0
  private reorderedCount = 0
  private duplicatedCount = 0
  private unparsedCount = 0
  private readonly firstOffset = new Map<number, number>()
  private readonly perPartition = new Map<number, number>()
  private readonly samples = {reordered: [] as string[], duplicated: [] as string[], unparsed: [] as string[]}
  private readonly warmup = new Set<number>()
  private readonly listeners: Array<(entry: ConsumedRecord) => void> = []

  constructor(readonly group: string) {}

  /**
   * Hands every judged record (warm-ups excluded) to `listener` too, in the group's processing order:
   * a scenario can split one group's view, e.g. per producer, or see where each key landed.
   */
  onRecord(listener: (entry: ConsumedRecord) => void): void {
    this.listeners.push(listener)
  }

  get consumed(): number {
    return this.consumedCount
  }

  record(entry: ConsumedRecord): void {
    const {key, seq, partition, offset} = entry
    if (key === WARMUP_KEY) {
      this.warmup.add(partition)
      return
    }
    for (const listener of this.listeners) listener(entry)
    this.consumedCount++
    this.firstOffset.set(partition, Math.min(this.firstOffset.get(partition) ?? Number.POSITIVE_INFINITY, offset))
    this.perPartition.set(partition, (this.perPartition.get(partition) ?? 0) + 1)
    let ofKey = this.seen.get(key)
    if (!ofKey) this.seen.set(key, (ofKey = new Map()))
    const earlier = ofKey.get(seq)
    if (earlier) {
      this.duplicatedCount++
      pushSample(this.samples.duplicated, `${key}:${seq} at p${partition}@${offset} (first at p${earlier.partition}@${earlier.offset})`)
    } else {
      ofKey.set(seq, {partition, offset})
      const max = this.highest.get(key) ?? 0
      if (seq < max) {
        this.reorderedCount++
        pushSample(this.samples.reordered, `${key}:${seq} at p${partition}@${offset} after ${key}:${max}`)
      } else {
        this.highest.set(key, seq)
      }
    }
  }

  /** The group read a warm-up record on this partition: it had a position there before judged traffic began. */
  sawWarmup(partition: number): boolean {
    return this.warmup.has(partition)
  }

  unparsed(line: string): void {
    this.unparsedCount++
    pushSample(this.samples.unparsed, line.slice(0, 200))
  }

  /** Every acknowledged record was seen (the group caught up), whatever else happened. */
  sawAll(sent: SentRecords): boolean {
    for (const key of sent.keys()) {
      const ofKey = this.seen.get(key)
      for (const seq of sent.ackedOf(key)) if (!ofKey?.has(seq)) return false
    }
    return true
  }

  verdict(sent: SentRecords): JudgeVerdict {
    const lost: string[] = []
    let lostCount = 0
    for (const key of sent.keys()) {
      const ofKey = this.seen.get(key)
      const missing = [...sent.ackedOf(key)].filter((seq) => !ofKey?.has(seq)).sort((a, b) => a - b)
      lostCount += missing.length
      if (missing.length > 0) pushSample(lost, `${key}:${missing.slice(0, 3).join(',')}${missing.length > 3 ? `…(${missing.length})` : ''}`)
    }
    const unexpected: string[] = []
    let unexpectedCount = 0
    for (const [key, ofKey] of this.seen) {
      for (const [seq, at] of ofKey) {
        if (sent.wasTaken(key, seq)) continue
        unexpectedCount++
        pushSample(unexpected, `${key}:${seq} at p${at.partition}@${at.offset}`)
      }
    }
    return {
      group: this.group,
      consumed: this.consumedCount,
      expected: sent.total,
      lost: lostCount,
      reordered: this.reorderedCount,
      duplicated: this.duplicatedCount,
      unexpected: unexpectedCount,
      unparsed: this.unparsedCount,
      samples: {lost, reordered: this.samples.reordered, duplicated: this.samples.duplicated, unexpected, unparsed: this.samples.unparsed},
      firstOffsetByPartition: Object.fromEntries([...this.firstOffset].sort((a, b) => a[0] - b[0])),
      recordsByPartition: Object.fromEntries([...this.perPartition].sort((a, b) => a[0] - b[0])),
    }
  }
}

/** `<key>:<seq>`: the key may itself hold colons, the seq is what follows the last one. */
export function parseSequencedValue(value: string): {key: string; seq: number} | undefined {
  const colon = value.lastIndexOf(':')
  if (colon <= 0) return undefined
  const seq = Number(value.slice(colon + 1))
  if (!Number.isSafeInteger(seq) || seq < 1) return undefined
  return {key: value.slice(0, colon), seq}
}

/**
 * One line of Apache Kafka's ConsoleConsumer with DefaultMessageFormatter and
 * `print.partition=true print.offset=true print.key=true` (4.3.1):
 * `Partition:3<TAB>Offset:17<TAB><key><TAB><value>`.
 */
export function parseConsoleConsumerLine(line: string): ConsumedRecord | undefined {
  const fields = line.split('\t')
  if (fields.length !== 4) return undefined
  const [partitionField, offsetField, key, value] = fields as [string, string, string, string]
  if (!partitionField.startsWith('Partition:') || !offsetField.startsWith('Offset:')) return undefined
  const partition = Number(partitionField.slice('Partition:'.length))
  const offset = Number(offsetField.slice('Offset:'.length))
  const parsed = parseSequencedValue(value)
  if (!Number.isSafeInteger(partition) || !Number.isSafeInteger(offset) || !parsed || parsed.key !== key) return undefined
  return {key, seq: parsed.seq, partition, offset}
}

import {describe, expect, it} from 'vitest'

import {testBrokers} from '../helpers/kafka.js'
import {javaJudgeClasspath} from '../judges/console-consumer.js'
import {describeVerdicts} from '../judges/report.js'
import {runJudgedScenario, type ScenarioResult, standardJudges} from '../judges/scenario.js'
import {parseConsoleConsumerLine, SentRecords, SequenceJudge} from '../judges/sequence-judge.js'

/**
 * The judges can fail: the same traffic and the same independent consumer groups as
 * java-judge.test.ts, but the topic grown the naive way (createPartitions while producers run).
 * Producers notice the new partitions within 5 s and write there; `latest` groups notice up to one
 * metadata refresh (20 s) later and start at the end, so they must be seen to lose records
 * (KAFKA-12478). A judge that reported 0 here would be worthless for the kreorg runs.
 */

describe('the per-key judge itself', () => {
  it('reads ConsoleConsumer lines (print.partition, print.offset, print.key) and nothing else', () => {
    expect(parseConsoleConsumerLine('Partition:13\tOffset:0\tkey-0007\tkey-0007:42')).toEqual({
      partition: 13,
      offset: 0,
      key: 'key-0007',
      seq: 42,
    })
    expect(parseConsoleConsumerLine('Partition:1\tOffset:5\ta:b\ta:b:3')).toEqual({partition: 1, offset: 5, key: 'a:b', seq: 3})
    expect(parseConsoleConsumerLine('Processed a total of 3 messages')).toBeUndefined()
    expect(parseConsoleConsumerLine('Partition:1\tOffset:5\tkey-1\tkey-2:3')).toBeUndefined()
  })

  it('counts lost, reordered, duplicated and unexpected records per key; a failed send may be missing', () => {
    const sent = new SentRecords()
    for (let i = 0; i < 5; i++) sent.ack('a', sent.take('a'))
    for (let i = 0; i < 2; i++) sent.ack('b', sent.take('b'))
    sent.fail('b', sent.take('b')) // b:3 may or may not have landed
    const judge = new SequenceJudge('g')
    const read = (key: string, seq: number, offset: number) => judge.record({key, seq, partition: 0, offset})
    read('a', 1, 0)
    read('a', 3, 1) // a:2 comes later: reordered
    read('a', 2, 2)
    read('a', 3, 3) // again: duplicated
    read('a', 9, 4) // never sent
    read('b', 1, 5) // b:2 never read: lost; b:3 uncertain, not lost
    const verdict = judge.verdict(sent)
    expect({lost: verdict.lost, reordered: verdict.reordered, duplicated: verdict.duplicated, unexpected: verdict.unexpected}).toEqual({
      lost: 3,
      reordered: 1,
      duplicated: 1,
      unexpected: 1,
    })
    expect(verdict.samples.lost).toEqual(['a:4,5', 'b:2'])
    expect(judge.sawAll(sent)).toBe(false)
  })
})

const classpath = await javaJudgeClasspath()
const skip = 'skip' in classpath ? classpath.skip : undefined
if (skip) process.stdout.write(`[java-judge-naive] skipped: ${skip}\n`)

describe.skipIf(skip !== undefined)('independent judges on a naive partition add (12 → 16 under traffic)', () => {
  let result: ScenarioResult

  it('the run completes: 16 partitions, records produced on the new ones', async () => {
    result = await runJudgedScenario({
      brokers: testBrokers(),
      classpath: 'classpath' in classpath ? classpath.classpath : '',
      mode: 'naive',
      from: 12,
      to: 16,
      ...standardJudges(20_000),
      // Long enough after the alter for producers to write to new partitions before the groups notice them.
      afterMs: 8000,
      settleTimeoutMs: 60_000,
      log: (line) => process.stdout.write(`${line}\n`),
    })
    process.stdout.write(`${describeVerdicts(result)}\n`)
    expect(result.partitionsAfter).toBe(16)
    expect(result.produced).toBeGreaterThan(2000)
    const earliest = result.groups.find((g) => g.group === 'java-classic-earliest')!
    const onNew = [12, 13, 14, 15].reduce((sum, p) => sum + (earliest.recordsByPartition[p] ?? 0), 0)
    expect(onNew, describeVerdicts(result)).toBeGreaterThan(0)
  }, 360_000)

  it('the classic Java `latest` group is judged to have lost records', () => {
    const latest = result.groups.find((g) => g.group === 'java-classic-latest')!
    expect(latest.lost, describeVerdicts(result)).toBeGreaterThan(0)
    // What it lost is what was written to the new partitions before it looked: it never read their start.
    expect(
      [12, 13, 14, 15].some((p) => (latest.firstOffsetByPartition[p] ?? Number.POSITIVE_INFINITY) > 0),
      describeVerdicts(result),
    ).toBe(true)
  })

  it('the `earliest` group, which reads new partitions from offset 0, loses nothing: the judge does not cry wolf', () => {
    const earliest = result.groups.find((g) => g.group === 'java-classic-earliest')!
    expect({lost: earliest.lost, duplicated: earliest.duplicated, unexpected: earliest.unexpected}, describeVerdicts(result)).toEqual({
      lost: 0,
      duplicated: 0,
      unexpected: 0,
    })
  })
})

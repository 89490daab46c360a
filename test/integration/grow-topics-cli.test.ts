import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {describeRun, runGrowCli, tempDir} from '../helpers/grow-fixtures.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'

/**
 * `kreorg grow a b …` (issue 16) at the edges, against the real broker: the plan of a set, the
 * co-partitioning refusal, "nothing to do" for a set already at its targets, a set where only some
 * topics are, and bad `--to` values. Each refusal leaves every partition count as it was.
 * The grow itself under traffic is test/e2e/grow-topics.test.ts.
 */

let cluster: KafkaCluster
let stateDir: string
const orders = randomName('set-orders')
const payments = randomName('set-payments')
const wide = randomName('set-wide')
const controlTopic = randomName('set-ctl')

const common = () => ['--control-topic', controlTopic, '--state-dir', stateDir, '--no-producers', '--sample', '10']

async function counts(): Promise<number[]> {
  return Promise.all([orders, payments, wide].map(async (t) => (await cluster.describeTopic(t)).partitions.length))
}

beforeAll(async () => {
  cluster = await connectTestCluster()
  stateDir = await tempDir('kreorg-grow-set-')
  for (const topic of [orders, payments]) await cluster.createTopic({topic, partitions: 12, replicationFactor: 1})
  await cluster.createTopic({topic: wide, partitions: 16, replicationFactor: 1})
}, 60_000)

afterAll(async () => {
  await cluster?.deleteTopics([orders, payments, wide, controlTopic]).catch(() => {})
  await cluster?.close()
})

describe('grow of several topics: plan, refusals, nothing to do', () => {
  it('--dry-run plans every topic (byTopic), changes nothing, exit 0', async () => {
    const run = await runGrowCli(['grow', orders, payments, '--to', '16', '--dry-run', ...common()])
    expect(run.code, describeRun(run)).toBe(0)
    const plan = run.events.find((e) => e.event === 'plan') as unknown as {
      plan: {byTopic: Record<string, {from: number; to: number; warnings: string[]}>}
    }
    expect(Object.keys(plan.plan.byTopic)).toEqual([orders, payments])
    for (const topic of [orders, payments]) expect(plan.plan.byTopic[topic]).toMatchObject({from: 12, to: 16})
    expect(await counts()).toEqual([12, 12, 16])
  })

  it('co-partitioned today (12 and 12), different targets: refused, exit 3, in --dry-run and for real; nothing changed', async () => {
    const dry = await runGrowCli(['grow', orders, payments, '--to', `${orders}=16`, '--to', `${payments}=24`, '--dry-run', ...common()])
    expect(dry.code, describeRun(dry)).toBe(3)
    expect(dry.stderr).toMatch(/both have 12 partitions today \(co-partitioned/)
    const real = await runGrowCli(['grow', orders, payments, '--to', `${orders}=16`, '--to', `${payments}=24`, '--yes', ...common()])
    expect(real.code, describeRun(real)).toBe(3)
    const failed = real.events.find((e) => e.event === 'run:fail') as {error?: {message?: string}} | undefined
    expect(failed?.error?.message).toMatch(/co-partitioned/)
    expect(await counts()).toEqual([12, 12, 16])
  })

  it('every topic already at its target: nothing to do, exit 0, a summary per topic', async () => {
    const run = await runGrowCli(['grow', orders, payments, '--to', '12', ...common()])
    expect(run.code, describeRun(run)).toBe(0)
    expect(run.events.at(-1)).toMatchObject({
      event: 'run:done',
      nothingToDo: true,
      summary: {byTopic: {[orders]: {to: 12, nothingToDo: true}, [payments]: {to: 12, nothingToDo: true}}},
    })
  })

  it('only some topics at their target: refused, exit 3, naming the topic to drop', async () => {
    const run = await runGrowCli(['grow', orders, wide, '--to', '16', ...common(), '--yes'])
    expect(run.code, describeRun(run)).toBe(3)
    expect(run.stderr).toContain(`${wide} already has 16 partitions`)
    expect(await counts()).toEqual([12, 12, 16])
  })

  it('a topic without a --to: usage error, exit 2', async () => {
    const run = await runGrowCli(['grow', orders, payments, '--to', `${orders}=16`, ...common()])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`no --to for ${payments}`)
  })
})

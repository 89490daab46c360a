import {promises as fs} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {parseNdjson, runCli, runCliUntil} from '../helpers/cli.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'
import {endState, engineEnv, type JsonEvent, tempStateDir, TEST_RUN_TIMEOUT_MS, TEST_STEPS} from '../helpers/test-runbook.js'

/**
 * The engine's promise: kill kreorg at any moment and `kreorg resume` finishes the job, doing nothing
 * twice that must happen once. The test runbook (runbooks/test-markers.ts) creates a topic, writes
 * marker "a", commits offset 1, writes marker "b" — on the real broker. We SIGKILL the real CLI at
 * every step boundary and in the middle of every step (before and after its effect), resume, and
 * compare Kafka's end state with an uninterrupted run's.
 */

type KillPoint = {name: string; when: (event: JsonEvent) => boolean}

const killPoints: KillPoint[] = TEST_STEPS.flatMap((step): KillPoint[] => [
  // Mid-step, before the effect (the step sleeps KREORG_TEST_STEP_DELAY_MS first).
  {name: `${step}: mid-step before its effect`, when: (e) => e.event === 'step:start' && e.step === step},
  // Mid-step, after the effect but before the checkpoint records it: the nastiest moment.
  {
    name: `${step}: mid-step after its effect`,
    when: (e) => e.event === 'step:progress' && e.step === step && e.message === 'effect applied',
  },
  // Step boundary: the checkpoint has the step, the next one hasn't started.
  {name: `${step}: boundary after it`, when: (e) => e.event === 'step:done' && e.step === step},
])

const DELAY_MS = '400'
let cluster: KafkaCluster
let baseline: Awaited<ReturnType<typeof endState>>
const dirs: string[] = []

async function state(): Promise<string> {
  const dir = await tempStateDir()
  dirs.push(dir)
  return dir
}

async function checkpointOf(stateDir: string, runId: string): Promise<{status: string; steps: Array<{id: string; state: string}>}> {
  return JSON.parse(await fs.readFile(path.join(stateDir, 'runs', `${runId}.json`), 'utf8'))
}

/** Runs a few scenarios at a time: every one spawns two CLIs, and the broker is shared. */
async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items]
  await Promise.all(
    Array.from({length: size}, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item)
    }),
  )
}

beforeAll(async () => {
  cluster = await connectTestCluster()
  const topic = randomName('crash-baseline')
  const group = randomName('crash-baseline-g')
  const stateDir = await state()
  const result = await runCli(['test-runbook', '--topic', topic, '--group', group, '--json'], {env: engineEnv(stateDir)})
  expect(result.code, result.stderr).toBe(0)
  const runId = String(parseNdjson(result.stdout)[0]?.runId)
  baseline = await endState(cluster, topic, group, runId)
  await cluster.deleteTopics([topic])
})

afterAll(async () => {
  await cluster?.close()
  await Promise.all(dirs.map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

describe('SIGKILL at every step boundary and mid-step, then resume', () => {
  it('an uninterrupted run writes each marker once and commits offset 1', () => {
    expect(baseline.partitions).toBe(1)
    expect(baseline.records).toEqual([
      {offset: 0, key: '<run>', value: 'a'},
      {offset: 1, key: '<run>', value: 'b'},
    ])
    expect(baseline.committed).toEqual([{partition: 0, offset: 1}])
  })

  it(`ends in the uninterrupted run's state from each of ${killPoints.length} kill points`, async () => {
    const failures: string[] = []
    await inBatches(killPoints, 6, async (point) => {
      // One admin per scenario, like one kreorg process per run: a kafkajs admin keeps every topic it
      // has looked at in its metadata requests, so a topic another scenario deletes on a shared admin
      // fails this scenario's requests with UNKNOWN_TOPIC_OR_PARTITION ("does not exist") meanwhile.
      const own = await connectTestCluster()
      const topic = randomName('crash')
      const group = randomName('crash-g')
      const stateDir = await state()
      const env = engineEnv(stateDir, {KREORG_TEST_STEP_DELAY_MS: DELAY_MS})
      const killed = await runCliUntil<JsonEvent>(['test-runbook', '--topic', topic, '--group', group], point.when, {
        env,
        timeoutMs: TEST_RUN_TIMEOUT_MS,
      })
      try {
        expect(killed.matched, `${point.name}: the kill point was never reached; stderr: ${killed.stderr}`).toBe(true)
        expect(killed.signal).toBe('SIGKILL')
        const runId = killed.events[0]!.runId
        // A SIGKILLed run never got to say so: its checkpoint still says running, with a dead pid.
        const before = await checkpointOf(stateDir, runId)
        if (before.status === 'done' && point.name === `${TEST_STEPS.at(-1)}: boundary after it`) {
          // After the last step's step:done the run only writes its final status and exits: on a
          // loaded machine that can land before the SIGKILL does. Then there was no crash to resume,
          // and the end state must simply be the uninterrupted one.
          expect(await endState(own, topic, group, runId), point.name).toEqual(baseline)
          return
        }
        expect(before.status).toBe('running')
        const runs = JSON.parse((await runCli(['runs', '--json'], {env})).stdout) as Array<{runId: string; status: string}>
        expect(runs.map((r) => [r.runId, r.status])).toEqual([[runId, 'interrupted']])

        const resumed = await runCli(['resume', runId, '--json'], {env: engineEnv(stateDir)})
        expect(resumed.code, `${point.name}: resume failed: ${resumed.stderr}`).toBe(0)
        const events = parseNdjson(resumed.stdout)
        expect(events.at(-1)?.event).toBe('run:done')
        // Steps the checkpoint had recorded are never run again.
        const recorded = before.steps.map((s) => s.id)
        const rerun = events.filter((e) => e.event === 'step:start').map((e) => e.step)
        expect(rerun.filter((id) => recorded.includes(String(id)))).toEqual([])
        expect([...recorded, ...rerun]).toEqual([...TEST_STEPS])

        expect(await endState(own, topic, group, runId), point.name).toEqual(baseline)
        const after = await checkpointOf(stateDir, runId)
        expect(after.status).toBe('done')
        expect(after.steps.map((s) => s.id)).toEqual([...TEST_STEPS])
      } catch (error) {
        failures.push(`${point.name}: ${(error as Error).message}`)
      } finally {
        await own.deleteTopics([topic]).catch(() => {})
        await own.close()
      }
    })
    expect(failures).toEqual([])
  })
})

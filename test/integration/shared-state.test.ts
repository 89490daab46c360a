import {promises as fs} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {createKafkaClient} from '../../src/kafka/client.js'
import {parseNdjson, runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'
import {endState, engineEnv, readRecords, tempStateDir, TEST_STEPS} from '../helpers/test-runbook.js'

/**
 * `--state kafka`: checkpoints mirrored to the control topic under `run/<runId>`, so a run started
 * on one machine is listed, shown and resumed from another (here: a second, empty state dir). Every
 * test uses its own state topic so nothing else on the shared broker interferes.
 */

let cluster: KafkaCluster
const dirs: string[] = []
const topics: string[] = []

async function state(): Promise<string> {
  const dir = await tempStateDir()
  dirs.push(dir)
  return dir
}

function names() {
  const topic = randomName('shared')
  const stateTopic = randomName('shared-state')
  topics.push(topic, stateTopic)
  return {topic, group: randomName('shared-g'), stateTopic}
}

function kafkaEnv(stateDir: string, stateTopic: string, extra: Record<string, string> = {}): Record<string, string> {
  return engineEnv(stateDir, {KREORG_STATE: 'kafka', KREORG_STATE_TOPIC: stateTopic, ...extra})
}

/** A run that failed at write-marker-b on "machine A" (state dir A), mirrored to `stateTopic`. */
async function failedRunOnA() {
  const {topic, group, stateTopic} = names()
  const dirA = await state()
  const result = await runCli(['test-runbook', '--topic', topic, '--group', group, '--json'], {
    env: kafkaEnv(dirA, stateTopic, {KREORG_TEST_FAIL_STEP: 'write-marker-b'}),
  })
  expect(result.code, result.stderr).toBe(3)
  const runId = String(parseNdjson(result.stdout)[0]?.runId)
  return {topic, group, stateTopic, dirA, runId, fileA: path.join(dirA, 'runs', `${runId}.json`)}
}

async function produce(topic: string, key: string, value: unknown): Promise<void> {
  const producer = createKafkaClient({brokers: testBrokers().split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000}).producer()
  await producer.connect()
  try {
    await producer.send({topic, acks: -1, messages: [{key, value: JSON.stringify(value), partition: 0}]})
  } finally {
    await producer.disconnect()
  }
}

beforeAll(async () => {
  cluster = await connectTestCluster()
})

afterAll(async () => {
  await cluster.deleteTopics(topics).catch(() => {})
  await cluster.close()
  await Promise.all(dirs.map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

describe('--state kafka', () => {
  it('mirrors every checkpoint write to run/<runId> as a v1 record holding the local file', async () => {
    const run = await failedRunOnA()
    const local = JSON.parse(await fs.readFile(run.fileA, 'utf8')) as Record<string, unknown>
    const records = await readRecords(run.stateTopic, 1)
    const mine = records.filter((r) => r.key === `run/${run.runId}`)
    // One write per save: start, each step start/done, the failure.
    expect(mine.length).toBeGreaterThanOrEqual(4)
    const last = JSON.parse(mine.at(-1)!.value) as {v: number; type: string; runId: string; checkpoint: Record<string, unknown>}
    expect(last).toMatchObject({v: 1, type: 'run', runId: run.runId})
    expect(last.checkpoint).toEqual(local)
    expect(local).toMatchObject({status: 'failed', currentStep: 'write-marker-b'})
  })

  it('lists, shows and resumes the run from another, empty state dir; runs dedupes local and kafka copies', async () => {
    const run = await failedRunOnA()
    const dirB = await state()
    // Machine B has one run of its own, local only, started later.
    const {topic: topicB, group: groupB} = names()
    const own = await runCli(['test-runbook', '--topic', topicB, '--group', groupB, '--json'], {env: engineEnv(dirB)})
    expect(own.code, own.stderr).toBe(0)
    const ownId = String(parseNdjson(own.stdout)[0]?.runId)

    // Without --state kafka, B knows only its own run.
    const localOnly = JSON.parse((await runCli(['runs', '--json'], {env: engineEnv(dirB)})).stdout) as Array<{runId: string}>
    expect(localOnly.map((r) => r.runId)).toEqual([ownId])

    const listed = await runCli(['runs', '--json'], {env: kafkaEnv(dirB, run.stateTopic)})
    expect(listed.code, listed.stderr).toBe(0)
    const runs = JSON.parse(listed.stdout) as Array<{runId: string; status: string; source: string; currentStep: string | null}>
    expect(runs.map((r) => [r.runId, r.source, r.status])).toEqual([
      [ownId, 'local', 'done'],
      [run.runId, 'kafka', 'failed'],
    ])

    const status = await runCli(['status', run.runId, '--json'], {env: kafkaEnv(dirB, run.stateTopic)})
    expect(status.code, status.stderr).toBe(0)
    const report = JSON.parse(status.stdout) as {
      status: string
      checkpoint: string
      next: string
      steps: Array<{id: string; state: string}>
    }
    expect(report.status).toBe('failed')
    expect(report.checkpoint).toBe(`kafka:${run.stateTopic}/run/${run.runId}`)
    expect(report.steps.find((s) => s.id === 'write-marker-b')?.state).toBe('failed')
    expect(report.next).toContain(`resume ${run.runId}`)
    // status never writes: B's state dir still has only its own run.
    expect(await fs.readdir(path.join(dirB, 'runs'))).toEqual([`${ownId}.json`])

    const resumed = await runCli(['resume', run.runId, '--json'], {env: kafkaEnv(dirB, run.stateTopic)})
    expect(resumed.code, resumed.stderr).toBe(0)
    const events = parseNdjson(resumed.stdout)
    expect(events.filter((e) => e.event === 'step:start').map((e) => e.step)).toEqual(['write-marker-b'])
    expect(events.at(-1)?.event).toBe('run:done')
    // The work happened exactly once across both machines.
    const end = await endState(cluster, run.topic, run.group, run.runId)
    expect(end.records.map((r) => [r.key, r.value])).toEqual([
      ['<run>', 'a'],
      ['<run>', 'b'],
    ])
    const fileB = JSON.parse(await fs.readFile(path.join(dirB, 'runs', `${run.runId}.json`), 'utf8')) as {
      status: string
      steps: Array<{id: string}>
    }
    expect(fileB.status).toBe('done')
    expect(fileB.steps.map((s) => s.id)).toEqual([...TEST_STEPS])

    // Back on A: its local file still says failed, Kafka says done; the newer copy wins, once.
    const fromA = JSON.parse((await runCli(['runs', '--json'], {env: kafkaEnv(run.dirA, run.stateTopic)})).stdout) as Array<{
      runId: string
      status: string
      source: string
    }>
    expect(fromA.filter((r) => r.runId === run.runId)).toEqual([expect.objectContaining({status: 'done', source: 'both'})])
    const again = await runCli(['resume', run.runId, '--json'], {env: kafkaEnv(run.dirA, run.stateTopic)})
    expect(again.code, again.stderr).toBe(0)
    expect(parseNdjson(again.stdout).at(-1)).toMatchObject({event: 'run:done', alreadyDone: true})
  })

  it('refuses to resume a run that is live on another host while its lease holds (exit 6), and shows it interrupted once the lease is gone', async () => {
    const run = await failedRunOnA()
    const checkpoint = JSON.parse(await fs.readFile(run.fileA, 'utf8')) as Record<string, unknown>
    // What machine C would mirror while it drives the run: running, on another host, holding the lease.
    const live = {...checkpoint, status: 'running', host: 'ops-elsewhere', pid: 4242, failure: null, updatedAt: new Date().toISOString()}
    await produce(run.stateTopic, `run/${run.runId}`, {v: 1, type: 'run', runId: run.runId, at: Date.now(), checkpoint: live})
    const lease = {
      v: 1,
      type: 'lease',
      topic: run.topic,
      runId: run.runId,
      host: 'ops-elsewhere',
      pid: 4242,
      leaseMs: 120_000,
      at: Date.now(),
    }
    await produce(run.stateTopic, `lease/${run.topic}`, {...lease, op: 'claim'})

    const dirB = await state()
    const refused = await runCli(['resume', run.runId], {env: kafkaEnv(dirB, run.stateTopic)})
    expect(refused.code).toBe(6)
    expect(refused.stderr).toContain(`run ${run.runId} is live on ops-elsewhere (pid 4242)`)
    await expect(fs.readdir(path.join(dirB, 'runs'))).rejects.toThrow(/ENOENT/)
    const whileLive = JSON.parse((await runCli(['runs', '--json'], {env: kafkaEnv(dirB, run.stateTopic)})).stdout) as Array<{
      runId: string
      status: string
    }>
    expect(whileLive.find((r) => r.runId === run.runId)?.status).toBe('running')

    await produce(run.stateTopic, `lease/${run.topic}`, {...lease, op: 'release', leaseMs: 0})
    const afterRelease = JSON.parse((await runCli(['runs', '--json'], {env: kafkaEnv(dirB, run.stateTopic)})).stdout) as Array<{
      runId: string
      status: string
    }>
    expect(afterRelease.find((r) => r.runId === run.runId)?.status).toBe('interrupted')
  })

  it('without brokers, --state kafka is a usage error naming what is missing', async () => {
    const dir = await state()
    const result = await runCli(['runs'], {env: {...kafkaEnv(dir, 'unused'), KAFKA_BROKERS: ''}})
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
  })
})

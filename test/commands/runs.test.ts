import {promises as fs} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {KafkaCluster} from '../../src/kafka/types.js'

import {parseNdjson, runCli, runCliUntil} from '../helpers/cli.js'
import {connectTestCluster, randomName} from '../helpers/kafka.js'
import {engineEnv, type JsonEvent, tempStateDir, TEST_RUN_TIMEOUT_MS, TEST_STEPS} from '../helpers/test-runbook.js'

let cluster: KafkaCluster
const dirs: string[] = []
const topics: string[] = []

async function state(): Promise<string> {
  const dir = await tempStateDir()
  dirs.push(dir)
  return dir
}

function names() {
  const topic = randomName('runs')
  topics.push(topic)
  return {topic, group: randomName('runs-g')}
}

async function snapshot(file: string): Promise<{bytes: string; mtimeMs: number}> {
  const [bytes, stat] = await Promise.all([fs.readFile(file, 'base64'), fs.stat(file)])
  return {bytes, mtimeMs: stat.mtimeMs}
}

/** A real checkpoint of a run that failed at write-marker-b (KREORG_TEST_FAIL_STEP), to tamper with. */
async function failedRun(): Promise<{stateDir: string; runId: string; file: string; topic: string; group: string}> {
  const stateDir = await state()
  const {topic, group} = names()
  const result = await runCli(['test-runbook', '--topic', topic, '--group', group, '--json'], {
    env: engineEnv(stateDir, {KREORG_TEST_FAIL_STEP: 'write-marker-b'}),
  })
  expect(result.code, result.stderr).toBe(3)
  const runId = String(parseNdjson(result.stdout)[0]?.runId)
  return {stateDir, runId, file: path.join(stateDir, 'runs', `${runId}.json`), topic, group}
}

beforeAll(async () => {
  cluster = await connectTestCluster()
})

afterAll(async () => {
  await cluster.deleteTopics(topics).catch(() => {})
  await cluster.close()
  await Promise.all(dirs.map((dir) => fs.rm(dir, {recursive: true, force: true})))
})

describe.concurrent('kreorg runs / status', () => {
  it('`runs --json` on an empty state dir prints [] and creates nothing', async () => {
    const stateDir = path.join(await state(), 'not-yet')
    const result = await runCli(['runs', '--json'], {env: engineEnv(stateDir)})
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toBe('[]\n')
    await expect(fs.stat(stateDir)).rejects.toThrow(/ENOENT/)
  })

  it('lists a failed run and shows its steps, error and next command; files are private', async () => {
    const run = await failedRun()
    const runs = JSON.parse((await runCli(['runs', '--json'], {env: engineEnv(run.stateDir)})).stdout) as Array<Record<string, unknown>>
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({
      runId: run.runId,
      runbook: 'test-markers',
      topic: run.topic,
      status: 'failed',
      currentStep: 'write-marker-b',
    })

    const status = await runCli(['status', '--latest', '--json'], {env: engineEnv(run.stateDir)})
    expect(status.code, status.stderr).toBe(0)
    const report = JSON.parse(status.stdout) as {steps: Array<{id: string; state: string; error: {message: string} | null}>; next: string}
    expect(report.steps.map((s) => [s.id, s.state])).toEqual([
      ['create-topic', 'done'],
      ['write-marker-a', 'done'],
      ['commit-offset', 'done'],
      ['write-marker-b', 'failed'],
    ])
    expect(report.steps[3]?.error?.message).toContain('injected failure in write-marker-b')
    expect(report.next).toBe(`kreorg resume ${run.runId}`)

    const text = await runCli(['status', run.runId], {env: engineEnv(run.stateDir)})
    expect(text.stdout).toMatch(/write-marker-b\s+failed\s+.*injected failure/)

    expect((await fs.stat(run.stateDir)).mode & 0o777).toBe(0o700)
    expect((await fs.stat(path.dirname(run.file))).mode & 0o777).toBe(0o700)
    expect((await fs.stat(run.file)).mode & 0o777).toBe(0o600)
  })
})

describe.concurrent('resume refusals leave the checkpoint untouched (exit 2)', () => {
  const cases: Array<{name: string; tamper: (text: string) => string; message: RegExp}> = [
    {
      name: 'truncated checkpoint',
      tamper: (text) => text.slice(0, Math.floor(text.length / 2)),
      message: /not valid JSON \(truncated or corrupted\)/,
    },
    {
      name: 'unknown schema version',
      tamper: (text) => JSON.stringify({...JSON.parse(text), schemaVersion: 99}),
      message: /schema version 99; this kreorg understands version 1/,
    },
    {
      name: 'changed runbook (hash)',
      tamper(text) {
        const checkpoint = JSON.parse(text)
        checkpoint.runbook.hash = 'f'.repeat(64)
        return JSON.stringify(checkpoint)
      },
      message: /runbook test-markers changed since run/,
    },
    {
      name: 'finished steps not a prefix of the runbook',
      tamper(text) {
        const checkpoint = JSON.parse(text)
        checkpoint.steps = [checkpoint.steps[1], checkpoint.steps[0], checkpoint.steps[2]]
        return JSON.stringify(checkpoint)
      },
      message: /records steps \[write-marker-a, create-topic, commit-offset\] which are not the start of runbook test-markers/,
    },
  ]

  it.each(cases)('$name', async ({tamper, message}) => {
    const run = await failedRun()
    await fs.writeFile(run.file, tamper(await fs.readFile(run.file, 'utf8')))
    const before = await snapshot(run.file)
    for (const args of [
      ['resume', run.runId],
      ['abort', run.runId, '--yes'],
      ['resume', '--latest'],
    ]) {
      const result = await runCli(args, {env: engineEnv(run.stateDir)})
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2)
      expect(result.stderr).toMatch(message)
    }
    expect(await snapshot(run.file)).toEqual(before)
    // Nothing ran: marker b was never written.
    expect((await cluster.endOffsets(run.topic))[0]?.high).toBe(1)
  })

  it('a missing run id names the state dir', async () => {
    const stateDir = await state()
    const result = await runCli(['resume', '20990101-000000-test-markers-nope-0000'], {env: engineEnv(stateDir)})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(`no run "20990101-000000-test-markers-nope-0000" in ${stateDir}`)
    const latest = await runCli(['resume', '--latest'], {env: engineEnv(stateDir)})
    expect(latest.code).toBe(2)
    expect(latest.stderr).toContain('no matching runs')
  })
})

describe.concurrent('runs on one topic', () => {
  it('two runs started on the same topic at once: one finishes, the other exits 6 and writes no checkpoint', async () => {
    const stateDir = await state()
    const {topic, group} = names()
    const env = engineEnv(stateDir, {KREORG_TEST_STEP_DELAY_MS: '500'})
    const args = ['test-runbook', '--topic', topic, '--group', group]
    const results = await Promise.all([runCli(args, {env}), runCli(args, {env})])
    const codes = results.map((r) => r.code).sort()
    expect(codes, results.map((r) => r.stderr).join('\n')).toEqual([0, 6])
    const refused = results.find((r) => r.code === 6)!
    expect(refused.stderr).toMatch(new RegExp(`"${topic}" is locked by run \\S+ \\(pid \\d+`))
    expect(await fs.readdir(path.join(stateDir, 'runs'))).toHaveLength(1)
    expect((await cluster.endOffsets(topic))[0]?.high).toBe(2)
  })

  it('resumes a failed run once the cause is gone, without redoing finished steps', async () => {
    const run = await failedRun()
    const result = await runCli(['resume', run.runId, '--json'], {env: engineEnv(run.stateDir)})
    expect(result.code, result.stderr).toBe(0)
    const events = parseNdjson(result.stdout)
    expect(events.filter((e) => e.event === 'step:start').map((e) => e.step)).toEqual(['write-marker-b'])
    expect(events.filter((e) => e.event === 'step:skip').map((e) => [e.step, e.reason])).toEqual(
      TEST_STEPS.slice(0, 3).map((id) => [id, 'checkpoint']),
    )
    expect((await cluster.endOffsets(run.topic))[0]?.high).toBe(2)
    // Resuming a finished run is harmless.
    const again = await runCli(['resume', run.runId, '--json'], {env: engineEnv(run.stateDir)})
    expect(again.code).toBe(0)
    expect(parseNdjson(again.stdout)).toMatchObject([{event: 'run:done', alreadyDone: true}])
  })

  it('SIGINT checkpoints, prints the exact resume command and exits 130; resume finishes', async () => {
    const stateDir = await state()
    const {topic, group} = names()
    const env = engineEnv(stateDir, {KREORG_TEST_STEP_DELAY_MS: '1500'})
    const interrupted = await runCliUntil<JsonEvent>(
      ['test-runbook', '--topic', topic, '--group', group],
      (e) => e.event === 'step:start' && e.step === 'write-marker-a',
      {
        env,
        timeoutMs: TEST_RUN_TIMEOUT_MS,
        signal: 'SIGINT',
      },
    )
    expect(interrupted.code, interrupted.stderr).toBe(130)
    const runId = interrupted.events[0]!.runId
    expect(interrupted.events.at(-1)).toMatchObject({
      event: 'run:interrupted',
      step: 'write-marker-a',
      resumeCommand: `kreorg resume ${runId}`,
    })
    const checkpoint = JSON.parse(await fs.readFile(path.join(stateDir, 'runs', `${runId}.json`), 'utf8'))
    expect(checkpoint).toMatchObject({status: 'interrupted', currentStep: 'write-marker-a'})
    expect(checkpoint.steps.map((s: {id: string}) => s.id)).toEqual(['create-topic'])
    // The lock was released on the way out.
    expect(await fs.readdir(path.join(stateDir, 'locks'))).toEqual([])
    expect((await cluster.endOffsets(topic))[0]?.high).toBe(0)

    const resumed = await runCli(['resume', '--latest'], {env: engineEnv(stateDir)})
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toContain(`Resuming test-markers run ${runId}`)
    expect((await cluster.endOffsets(topic))[0]?.high).toBe(2)
  })
})

describe('kreorg abort', () => {
  it('asks for --yes off a terminal (file untouched), then undoes finished steps in reverse', async () => {
    const run = await failedRun()
    const before = await snapshot(run.file)
    const refused = await runCli(['abort', run.runId], {env: engineEnv(run.stateDir)})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('pass --yes')
    expect(await snapshot(run.file)).toEqual(before)
    expect(await cluster.listTopics()).toContain(run.topic)

    const aborted = await runCli(['abort', run.runId, '--yes', '--json'], {env: engineEnv(run.stateDir)})
    expect(aborted.code, aborted.stderr).toBe(0)
    const events = parseNdjson(aborted.stdout)
    expect(events.filter((e) => e.event === 'undo:done').map((e) => e.step)).toEqual(['create-topic'])
    expect(events.at(-1)).toMatchObject({event: 'run:aborted', undone: ['create-topic']})
    expect(await cluster.listTopics()).not.toContain(run.topic)
    const status = JSON.parse((await runCli(['status', run.runId, '--json'], {env: engineEnv(run.stateDir)})).stdout)
    expect(status.status).toBe('aborted')
    expect(status.steps[0]).toMatchObject({id: 'create-topic', state: 'undone'})
    const resume = await runCli(['resume', run.runId], {env: engineEnv(run.stateDir)})
    expect(resume.code).toBe(2)
    expect(resume.stderr).toContain('was aborted')
  })
})

import {randomBytes} from 'node:crypto'
/**
 * Control protocol conformance (docs/control-protocol.md, protocol 1 and the 1.1 additions): every agent
 * implementation is driven through the same scenarios by its conformance driver against the real test
 * broker, and judged only by what it answers and what it writes to the broker.
 *
 * Scenarios needing a protocol 1.1 capability run only for agents whose heartbeat advertises it; the
 * others are reported as skipped with the reason (or fail, for agents required to have it: agents.ts).
 */
import {afterAll, beforeAll, describe, expect, it, type TestContext} from 'vitest'

import {CONTROL_TOPIC_CONFIG, keys} from '../../src/control/schema.js'
import {
  CAPABILITIES,
  type ConformanceAgent,
  PROTOCOL_11,
  type Readiness,
  type Requirement,
  selectedAgents,
  skippedByEnv,
  unavailableFails,
  V1_CAPABILITIES,
} from './agents.js'
import {type Driver, readTopic, type SendHandle} from './harness.js'
import {expectedPartition, keysAcrossGrowth, KNOWN_PARTITIONERS} from './partitioners.js'
import {allAnswered, checkSends, HEARTBEAT_TOPIC_CONFIG, Scenario, type ScenarioOptions, World} from './scenario.js'

/** What the agent says about itself in its first heartbeat. */
interface Profile {
  capabilities: string[] | undefined
  language: string | undefined
  partitioner: string
  where: 'control' | 'heartbeats'
}

const newRunId = (): string => `conformance-run-${randomBytes(3).toString('hex')}`
/** Lease of the lapse scenario: long enough to pause on a loaded machine, short enough to wait out. */
const LAPSE_LEASE_MS = 8000
/** Broker and agent read the same OS clock; this only absorbs rounding between them. */
const CLOCK_SLACK_MS = 250

function withDiagnostics(error: unknown, diagnostics: string): Error {
  const failure = error instanceof Error ? error : new Error(String(error))
  failure.message = `${failure.message}\n\n${diagnostics}`
  return failure
}

function expectPartition(partitioner: string, key: string, count: number): number {
  const partition = expectedPartition(partitioner, key, count)
  if (partition === undefined)
    throw new Error(
      `the agent reports partitioner ${JSON.stringify(partitioner)}, which the suite cannot predict: canary and placement checks cannot pass`,
    )
  return partition
}

/** Sends every key once and waits for all answers. */
async function sendAll(driver: Driver, keyList: string[], tag: string): Promise<SendHandle[]> {
  const sends = keyList.map((key, i) => driver.send(key, `${tag}-${i}`))
  await allAnswered(sends, driver, 60_000, `${tag} sends to be answered`)
  return sends
}

function expectPlacement(sends: SendHandle[], partitioner: string, count: number, what: string): void {
  const wrong = sends
    .filter((s) => s.result?.op !== 'sent' || s.result.partition !== expectPartition(partitioner, s.key!, count))
    .map(
      (s) =>
        `${s.key} -> ${s.result?.op === 'sent' ? `partition ${s.result.partition}` : JSON.stringify(s.result)}, ${partitioner} with ${count} partitions says ${expectPartition(partitioner, s.key!, count)}`,
    )
  expect(wrong, `${what}: records must land where the agent's partitioner puts them with ${count} partitions`).toEqual([])
}

async function probe(world: World, agent: ConformanceAgent): Promise<Profile> {
  const scenario = await Scenario.create(world, agent, {partitions: 1})
  try {
    const driver = await scenario.start()
    const first = await scenario.records.waitForHeartbeats(1, 0, {timeoutMs: 60_000, abort: driver.died})
    const heartbeat = first.heartbeat!
    await driver.close().catch(() => {})
    return {capabilities: heartbeat.capabilities, language: heartbeat.language, partitioner: heartbeat.partitioner, where: first.where}
  } catch (error) {
    throw withDiagnostics(error, scenario.diagnostics())
  } finally {
    await scenario.cleanup()
  }
}

const agents = selectedAgents()

describe('control protocol conformance', () => {
  it('has agents to test', () => {
    expect(agents.length, 'KREORG_CONFORMANCE_AGENTS selects no agent').toBeGreaterThan(0)
  })
})

for (const agent of agents) {
  describe(`agent: ${agent.name}`, () => {
    let world: World | undefined
    let unavailable: string | undefined
    let profile: Profile | undefined
    let probeFailure: Error | undefined
    const summary: string[] = []
    const readyTimes: number[] = []

    beforeAll(async () => {
      const readiness: Readiness =
        agent.builtIn && skippedByEnv(agent.name)
          ? {runnable: false, reason: `skipped on request (KREORG_SKIP_AGENTS=${process.env.KREORG_SKIP_AGENTS})`}
          : await agent.prepare()
      if (!readiness.runnable) {
        unavailable = readiness.reason
        console.log(`[conformance] ${agent.name}: cannot run: ${unavailable}`)
        return
      }
      world = await World.open()
      try {
        profile = await probe(world, agent)
        const capabilities = profile.capabilities
          ? profile.capabilities.join(', ') || 'none'
          : `no capabilities field (protocol v1: ${V1_CAPABILITIES.join(', ')} assumed)`
        console.log(
          `[conformance] ${agent.name}: language ${profile.language ?? '(not reported)'}, partitioner ${profile.partitioner}, heartbeats on the ${profile.where} topic, capabilities: ${capabilities}`,
        )
      } catch (error) {
        probeFailure = error instanceof Error ? error : new Error(String(error))
      }
    }, 20 * 60_000)

    afterAll(async () => {
      const count = (prefix: string) => summary.filter((line) => line.startsWith(prefix)).length
      const startup =
        readyTimes.length > 0
          ? `; driver ready in ${Math.round(readyTimes.reduce((a, b) => a + b, 0) / readyTimes.length)} ms on average (max ${Math.max(...readyTimes)})`
          : ''
      console.log(
        `[conformance] ${agent.name}: ${count('PASS')} passed, ${count('SKIP')} skipped, ${count('FAIL')} failed${startup}\n  ${summary.join('\n  ')}`,
      )
      await world?.close()
    })

    /** Skips (reporting why) or fails a scenario the agent does not advertise the capabilities for. */
    function gate(context: TestContext, name: string, needs: Requirement[]): void {
      const fail = (message: string): never => {
        summary.push(`FAIL  ${name}: ${message}`)
        throw new Error(message)
      }

      if (unavailable) {
        if (unavailableFails(agent)) fail(`${agent.name} agent cannot run: ${unavailable}`)
        summary.push(`SKIP  ${name}: agent unavailable: ${unavailable}`)
        context.skip(`${agent.name} agent unavailable: ${unavailable}`)
      }
      if (probeFailure || !profile)
        return fail(`${agent.name}: the driver did not start and heartbeat: ${probeFailure?.message ?? 'no profile'}`)
      const advertised = profile.capabilities
      const has = (need: Requirement): boolean =>
        need === PROTOCOL_11 ? advertised !== undefined : (advertised ?? V1_CAPABILITIES).includes(need)
      const missing = needs.filter((need) => !has(need))
      if (missing.length === 0) return
      const advertisedText = advertised
        ? `advertises ${advertised.join(', ') || 'nothing'}`
        : 'advertises no capabilities: a protocol v1 agent'
      const required = missing.filter((need) => agent.require.includes(need))
      if (required.length > 0) fail(`${agent.name} must implement ${required.join(', ')} but its heartbeat ${advertisedText}`)
      const reason = `${agent.name} does not advertise ${missing.join(', ')} (${advertisedText})`
      summary.push(`SKIP  ${name}: ${reason}`)
      console.log(`[conformance] SKIP ${agent.name} › ${name}: ${reason}`)
      context.skip(reason)
    }

    function scenario(
      name: string,
      needs: Requirement[],
      options: ScenarioOptions,
      body: (s: Scenario, profile: Profile) => Promise<void>,
      timeoutMs = 120_000,
    ): void {
      it(
        name,
        async (context) => {
          gate(context, name, needs)
          const s = await Scenario.create(world!, agent, options)
          try {
            await body(s, profile!)
            const problems = s.problems()
            expect(problems, 'records the agent wrote that kreorg would skip, and driver protocol violations').toEqual([])
            summary.push(`PASS  ${name}`)
          } catch (error) {
            summary.push(`FAIL  ${name}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`)
            throw withDiagnostics(error, s.diagnostics())
          } finally {
            readyTimes.push(...s.drivers.map((driver) => driver.readyMs))
            await s.cleanup()
          }
        },
        timeoutMs,
      )
    }

    scenario(
      'heartbeats: a valid agent record every heartbeatMs; the control topic it creates has the protocol settings',
      [],
      {partitions: 2, createControlTopics: false},
      async (s) => {
        const driver = await s.start()
        await s.attachTails()
        const first = await s.records.waitForHeartbeats(1, 0, {abort: driver.died})
        // Watch a few intervals: beats must keep coming (state changes may add extra ones).
        const last = await s.records.waitForHeartbeats(1, first.timestamp + 3500, {abort: driver.died})
        const window = s.records.heartbeats.items.filter(
          (h) => h.heartbeat && h.timestamp >= first.timestamp && h.timestamp <= last.timestamp,
        )
        const gaps = window.slice(1).map((h, i) => h.timestamp - window[i]!.timestamp)
        const heartbeat = last.heartbeat!
        expect(heartbeat.agentId).toBe(s.agentId)
        expect(heartbeat.topics).toContain(s.topic)
        expect(heartbeat.heartbeatMs).toBe(1000)
        expect(heartbeat.states[s.topic]?.state).toBe('running')
        const count = heartbeat.states[s.topic]?.partitionCount
        if (count) expect(count, 'states[topic].partitionCount').toBe(2)
        expect(KNOWN_PARTITIONERS, `partitioner ${heartbeat.partitioner}`).toContain(heartbeat.partitioner)
        // kreorg counts an agent live while its last heartbeat is younger than 3 intervals.
        expect(Math.max(...gaps), `gaps between heartbeats (ms): ${gaps.join(', ')}`).toBeLessThan(3 * heartbeat.heartbeatMs)
        expect(window.length, 'heartbeats in 3.5 s at heartbeatMs 1000').toBeGreaterThanOrEqual(3)
        const description = await s.world.cluster.describeTopic(s.controlTopic)
        expect(description.partitions.length, 'control topic partitions').toBe(1)
        expect(await s.world.cluster.topicConfig(s.controlTopic, Object.keys(CONTROL_TOPIC_CONFIG))).toMatchObject(CONTROL_TOPIC_CONFIG)
      },
    )

    scenario(
      'heartbeats 1.1: on <control>-heartbeats (created with its settings) with capabilities, language, partitioner, lastWrite; none on the control topic',
      [PROTOCOL_11],
      {partitions: 2, createControlTopics: false},
      async (s) => {
        const driver = await s.start()
        expect(await s.world.cluster.listTopics(), 'the agent creates the heartbeat topic').toContain(s.heartbeatTopic)
        await s.attachTails()
        expect((await s.world.cluster.describeTopic(s.heartbeatTopic)).partitions.length, 'heartbeat topic partitions').toBe(1)
        expect(await s.world.cluster.topicConfig(s.heartbeatTopic, Object.keys(HEARTBEAT_TOPIC_CONFIG))).toMatchObject(
          HEARTBEAT_TOPIC_CONFIG,
        )
        const first = await s.records.waitForHeartbeats(1, 0, {abort: driver.died})
        expect(first.where).toBe('heartbeats')
        const heartbeat = first.heartbeat!
        expect(Array.isArray(heartbeat.capabilities)).toBe(true)
        const unknown = heartbeat.capabilities!.filter((c) => !(CAPABILITIES as readonly string[]).includes(c))
        if (unknown.length > 0)
          console.log(`[conformance] ${s.agent.name} advertises capabilities this suite does not know: ${unknown.join(', ')}`)
        expect(typeof heartbeat.language).toBe('string')
        if (s.agent.language) expect(heartbeat.language).toBe(s.agent.language)
        expect(KNOWN_PARTITIONERS, `partitioner ${heartbeat.partitioner}`).toContain(heartbeat.partitioner)
        if (heartbeat.producerId !== undefined) expect(heartbeat.producerId).toBeGreaterThanOrEqual(-1)
        const [sent] = await sendAll(driver, ['last-write'], 'last-write')
        const withLastWrite = await s.records.waitForHeartbeats(1, 0, {
          abort: driver.died,
          accept: (h) =>
            h.lastWrite?.[s.topic]?.offset === sent!.result!.offset && h.lastWrite?.[s.topic]?.partition === sent!.result!.partition,
        })
        expect(withLastWrite.heartbeat!.states[s.topic]?.state).toBe('running')
        expect(
          s.records.heartbeats.items.filter((h) => h.where === 'control'),
          'heartbeats on the control topic',
        ).toEqual([])
        checkSends(driver.sends, await s.readData())
      },
    )

    scenario(
      'pause with in-flight sends: acked only after every earlier send is written; nothing written after the ack until resume',
      ['pause'],
      {partitions: 4},
      async (s) => {
        const driver = await s.start()
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        const burst = Array.from({length: 400}, (_, i) => driver.send(`inflight-${i % 16}`, `inflight-${i}`))
        // Pause while the burst is being written: at least one send is through, most are still in flight.
        await Promise.race([...burst.map((send) => send.reply), driver.died])
        await s.orchestrator.pause(lease, 1)
        const ack = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        expect(ack.ack.partitionCount).toBe(4)
        const held = Array.from({length: 20}, (_, i) => driver.send(`held-${i % 4}`, `held-${i}`))
        const state = await driver.waitForState((st) => st.held >= held.length, `${held.length} held sends`)
        expect(state.state).toBe('paused')
        // Give a misbehaving agent time to write: two more heartbeats.
        await s.records.waitForHeartbeats(2, ack.timestamp, {abort: driver.died})
        expect(
          held.filter((send) => send.result),
          'sends answered while paused',
        ).toEqual([])
        const resume = await s.orchestrator.command('resume', {runId, epoch: 2})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        await allAnswered([...burst, ...held], driver)
        const records = await s.readData()
        const when = (r: {timestamp: number}) =>
          r.timestamp <= ack.timestamp ? 'before the ack' : r.timestamp >= resume.timestamp ? 'after the resume' : 'while paused'
        const {written} = checkSends(driver.sends, records, {annotate: when})
        // Whatever waited for the resume (the held sends, and burst sends the pause caught before they reached the producer) is released in call order.
        const released = driver.sends.filter((send) => written.get(send.index)!.timestamp >= resume.timestamp)
        checkSends(driver.sends, records, {inOrder: released, annotate: when, label: 'sends released by the resume'})
        const between = records.filter((r) => r.timestamp > ack.timestamp && r.timestamp < resume.timestamp)
        expect(
          between.map((r) => `${r.partition}/${r.offset} ${r.value?.toString()} at ${r.timestamp}`),
          `records written after the paused ack (${ack.timestamp}) and before the resume (${resume.timestamp})`,
        ).toEqual([])
        expect(
          records.filter((r) => r.timestamp <= ack.timestamp).length,
          'records written before the ack (the pause found sends in flight)',
        ).toBeGreaterThan(0)
        for (const send of held)
          expect(written.get(send.index)!.timestamp, `held send #${send.index}`).toBeGreaterThanOrEqual(resume.timestamp)
      },
    )

    scenario(
      'held sends: answered only after resume, released in call order; re-publishing the same command is re-acked',
      ['pause'],
      {partitions: 4},
      async (s) => {
        const driver = await s.start()
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.pause(lease, 1)
        const first = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        await s.orchestrator.pause(lease, 1)
        await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died, from: s.records.acks.items.indexOf(first) + 1})
        const held = Array.from({length: 60}, (_, i) => driver.send(`order-${i % 6}`, `held-${i}`))
        const state = await driver.waitForState((st) => st.held >= held.length, `${held.length} held sends`)
        expect(state.state).toBe('paused')
        await s.records.waitForHeartbeats(1, Date.now(), {abort: driver.died})
        expect(
          held.filter((send) => send.result),
          'sends answered while paused',
        ).toEqual([])
        const resume = await s.orchestrator.command('resume', {runId, epoch: 2})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        await allAnswered(held, driver)
        const {written} = checkSends(driver.sends, await s.readData(), {inOrder: held})
        for (const send of held)
          expect(written.get(send.index)!.timestamp, `held send #${send.index}`).toBeGreaterThanOrEqual(resume.timestamp)
        const after = await driver.state()
        expect(after.state).toBe('running')
        expect(after.held).toBe(0)
      },
    )

    scenario(
      'acks report the partition count the next send uses: paused, and resumed without targetPartitions',
      ['pause'],
      {partitions: 3},
      async (s) => {
        const driver = await s.start()
        await sendAll(driver, ['count-1', 'count-2'], 'count')
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.pause(lease, 1)
        const paused = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        expect(paused.ack.partitionCount, 'partitionCount of the paused ack').toBe(3)
        await s.orchestrator.command('resume', {runId, epoch: 2})
        const resumed = await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        expect(resumed.ack.partitionCount, 'partitionCount of a resumed ack without targetPartitions').toBe(3)
        checkSends(driver.sends, await s.readData())
      },
    )

    scenario(
      'pause during an open transaction: no ack until it commits, its sends are not held; begin waits while paused',
      ['txn'],
      {partitions: 3},
      async (s) => {
        const driver = await s.start({transactionalId: `conformance-txn-${randomBytes(4).toString('hex')}`})
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        expect((await driver.call('begin')).op).toBe('ok')
        await sendAll(driver, ['txn-a', 'txn-b', 'txn-c', 'txn-d'], 'txn-1')
        const pause = await s.orchestrator.pause(lease, 1)
        // The transaction must be able to finish: a send inside it is not held by the pending pause.
        const [late] = [driver.send('txn-late', 'txn-1-late')]
        await allAnswered([late!], driver, 60_000, 'a send inside the open transaction')
        await s.records.waitForHeartbeats(2, pause.timestamp, {abort: driver.died})
        expect(
          s.records.acks.items.filter((a) => a.ack.runId === runId),
          'acks while the transaction is open',
        ).toEqual([])
        expect((await driver.call('commit')).op).toBe('ok')
        const ack = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        const begin = driver.request('begin')
        let begun = false
        void begin.reply.then(() => {
          begun = true
        })
        await s.records.waitForHeartbeats(2, ack.timestamp, {abort: driver.died})
        expect(begun, 'begin answered while paused').toBe(false)
        const resume = await s.orchestrator.command('resume', {runId, epoch: 2})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        const begin2 = await begin.reply
        expect(begin2.op).toBe('ok')
        const second = await sendAll(driver, ['txn-a', 'txn-e'], 'txn-2')
        expect((await driver.call('commit')).op).toBe('ok')
        const {written} = checkSends(driver.sends, await s.readData())
        for (const send of second)
          expect(written.get(send.index)!.timestamp, 'records of the transaction begun after the resume').toBeGreaterThanOrEqual(
            resume.timestamp,
          )
      },
    )

    scenario(
      'start during a pause: the agent starts paused and acks; its sends wait for the resume',
      ['pause'],
      {partitions: 2},
      async (s) => {
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        const pause = await s.orchestrator.pause(lease, 1)
        const driver = await s.start()
        const ack = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        expect(ack.timestamp).toBeGreaterThan(pause.timestamp)
        expect((await driver.state()).state).toBe('paused')
        const held = Array.from({length: 10}, (_, i) => driver.send(`start-${i % 3}`, `start-${i}`))
        await driver.waitForState((st) => st.held >= held.length, `${held.length} held sends`)
        await s.records.waitForHeartbeats(1, Date.now(), {abort: driver.died})
        expect(
          held.filter((send) => send.result),
          'sends answered while paused',
        ).toEqual([])
        const resume = await s.orchestrator.command('resume', {runId, epoch: 2})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        await allAnswered(held, driver)
        const {written} = checkSends(driver.sends, await s.readData(), {inOrder: held})
        for (const send of held) expect(written.get(send.index)!.timestamp).toBeGreaterThanOrEqual(resume.timestamp)
      },
    )

    scenario(
      'refresh and resume with a new count: refreshed ack with canary partitions from its own partitioner; keys land there after resume',
      ['refresh', 'canary'],
      {partitions: 4},
      async (s, profile) => {
        const driver = await s.start()
        const canaryKeys = keysAcrossGrowth(profile.partitioner, 4, 8, 8, 4, 'canary')
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.pause(lease, 1, {pinPartitions: 4})
        const paused = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        expect(paused.ack.partitionCount).toBe(4)
        await s.grow(8)
        await s.orchestrator.command('refresh', {
          runId,
          epoch: 2,
          leaseExpiresAt: lease.expiresAt,
          targetPartitions: 8,
          canaryKeys,
          pinPartitions: 4,
        })
        const refreshed = await s.records.waitForAck({state: 'refreshed', runId, epoch: 2}, {abort: driver.died})
        expect(refreshed.ack.partitionCount, 'partitionCount in the refreshed ack').toBe(8)
        expect(refreshed.ack.warning).toBeUndefined()
        expect(refreshed.ack.partitioner, 'partitioner in the ack').toBe(profile.partitioner)
        const expected = Object.fromEntries(canaryKeys.map((key) => [key, expectPartition(profile.partitioner, key, 8)]))
        expect(refreshed.ack.canary, `canary partitions (${profile.partitioner} with 8 partitions)`).toEqual(expected)
        expect((await driver.state()).state, 'a refresh keeps the agent paused').toBe('paused')
        await s.orchestrator.command('resume', {runId, epoch: 3, targetPartitions: 8, canaryKeys})
        const resumed = await s.records.waitForAck({state: 'resumed', runId, epoch: 3}, {abort: driver.died})
        expect(resumed.ack.partitionCount).toBe(8)
        if (resumed.ack.canary) expect(resumed.ack.canary).toEqual(expected)
        const sends = await sendAll(driver, canaryKeys, 'canary')
        expectPlacement(sends, profile.partitioner, 8, 'after the resume')
        checkSends(driver.sends, await s.readData())
      },
    )

    scenario(
      'lease lapse with pinPartitions: resumes by itself without an ack, on the pinned count; a resume with targetPartitions lifts the pin',
      ['pause'],
      {partitions: 4},
      async (s, profile) => {
        const driver = await s.start()
        const keyList = keysAcrossGrowth(profile.partitioner, 4, 8, 6, 2, 'lapse')
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId, LAPSE_LEASE_MS)
        await s.orchestrator.pause(lease, 1, {pinPartitions: 4})
        const paused = await s.records.waitForAck({state: 'paused', runId, epoch: 1}, {abort: driver.died})
        await s.grow(8)
        const held = keyList.map((key, i) => driver.send(key, `lapse-held-${i}`))
        await allAnswered(
          held,
          driver,
          Math.max(0, lease.expiresAt - Date.now()) + 60_000,
          'held sends to be released when the lease lapses',
        )
        expect(
          s.records.acks.items.filter((a) => a.offset > paused.offset).map((a) => a.ack.state),
          'acks after the lapse (an agent resuming by itself does not ack)',
        ).toEqual([])
        const state = await driver.state()
        expect(state.state).toBe('running')
        expect(state.pinnedPartitions, 'pinnedPartitions after the lapse').toBe(4)
        const heartbeat = await s.records.waitForHeartbeats(1, lease.expiresAt, {
          abort: driver.died,
          accept: (h) => h.states[s.topic]?.state === 'running',
        })
        expect(heartbeat.heartbeat!.states[s.topic]?.pinnedPartitions, 'heartbeat states[topic].pinnedPartitions after the lapse').toBe(4)
        expectPlacement(held, profile.partitioner, 4, 'held sends released by the lapse')
        const pinned = await sendAll(driver, keyList, 'lapse-pinned')
        expectPlacement(pinned, profile.partitioner, 4, 'sends after the lapse')
        await s.orchestrator.command('resume', {runId, epoch: 2, targetPartitions: 8})
        const resumed = await s.records.waitForAck({state: 'resumed', runId, epoch: 2}, {abort: driver.died})
        expect(resumed.ack.partitionCount).toBe(8)
        expect((await driver.state()).pinnedPartitions, 'pinnedPartitions after a resume with targetPartitions').toBeNull()
        const lifted = await sendAll(driver, keyList, 'lapse-lifted')
        expectPlacement(lifted, profile.partitioner, 8, 'sends after the resume with targetPartitions')
        const {written} = checkSends(driver.sends, await s.readData(), {inOrder: held})
        for (const send of held)
          expect(written.get(send.index)!.timestamp, 'held sends are written once the lease expired').toBeGreaterThanOrEqual(
            lease.expiresAt - CLOCK_SLACK_MS,
          )
      },
      180_000,
    )

    scenario(
      'pin action: pinned ack with the pinned count; keeps running on partitions below the pin, also after the lease is released',
      ['pin'],
      {partitions: 8},
      async (s, profile) => {
        const driver = await s.start()
        const keyList = keysAcrossGrowth(profile.partitioner, 4, 8, 6, 2, 'pin')
        const before = await sendAll(driver, keyList, 'pin-before')
        expectPlacement(before, profile.partitioner, 8, 'before the pin')
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.command('pin', {runId, epoch: 1, pinPartitions: 4, leaseExpiresAt: lease.expiresAt})
        const pinnedAck = await s.records.waitForAck({state: 'pinned', runId, epoch: 1}, {abort: driver.died})
        expect(pinnedAck.ack.partitionCount, 'partitionCount of a pinned ack').toBe(4)
        const state = await driver.state()
        expect(state.state).toBe('running')
        expect(state.pinnedPartitions).toBe(4)
        const pinned = await sendAll(driver, keyList, 'pinned')
        expectPlacement(pinned, profile.partitioner, 4, 'while pinned')
        await s.records.waitForHeartbeats(1, pinnedAck.timestamp, {
          abort: driver.died,
          accept: (h) => h.states[s.topic]?.pinnedPartitions === 4,
        })
        const release = await s.orchestrator.lease('release', runId, 0)
        await s.records.waitForHeartbeats(1, release.timestamp, {abort: driver.died})
        expect((await driver.state()).pinnedPartitions, 'a pin does not lapse with the lease').toBe(4)
        const released = await sendAll(driver, keyList, 'pinned-released')
        expectPlacement(released, profile.partitioner, 4, 'after the lease was released')
        checkSends(driver.sends, await s.readData())
      },
    )

    scenario(
      'resume without targetPartitions keeps the pin (also through a pause); resume with targetPartitions lifts it',
      ['pin'],
      {partitions: 8},
      async (s, profile) => {
        const driver = await s.start()
        const keyList = keysAcrossGrowth(profile.partitioner, 4, 8, 6, 2, 'lift')
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.command('pin', {runId, epoch: 1, pinPartitions: 4, leaseExpiresAt: lease.expiresAt})
        await s.records.waitForAck({state: 'pinned', runId, epoch: 1}, {abort: driver.died})
        await s.orchestrator.pause(lease, 2)
        await s.records.waitForAck({state: 'paused', runId, epoch: 2}, {abort: driver.died})
        expect((await driver.state()).pinnedPartitions, 'a pause keeps an existing pin').toBe(4)
        await s.orchestrator.command('resume', {runId, epoch: 3})
        const kept = await s.records.waitForAck({state: 'resumed', runId, epoch: 3}, {abort: driver.died})
        expect(kept.ack.partitionCount, 'partitionCount of a resume that keeps the pin (the count the next send uses)').toBe(4)
        const state = await driver.state()
        expect(state.state).toBe('running')
        expect(state.pinnedPartitions).toBe(4)
        expectPlacement(await sendAll(driver, keyList, 'kept'), profile.partitioner, 4, 'after a resume without targetPartitions')
        await s.orchestrator.command('resume', {runId, epoch: 4, targetPartitions: 8})
        const lifted = await s.records.waitForAck({state: 'resumed', runId, epoch: 4}, {abort: driver.died})
        expect(lifted.ack.partitionCount).toBe(8)
        expect((await driver.state()).pinnedPartitions).toBeNull()
        expectPlacement(await sendAll(driver, keyList, 'lifted'), profile.partitioner, 8, 'after a resume with targetPartitions')
        checkSends(driver.sends, await s.readData())
      },
    )

    scenario(
      'fencing: a command with a lower epoch than already seen for its run is ignored and not acked',
      ['fence'],
      {partitions: 2},
      async (s) => {
        const driver = await s.start()
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.pause(lease, 5)
        await s.records.waitForAck({state: 'paused', runId, epoch: 5}, {abort: driver.died})
        const held = Array.from({length: 5}, (_, i) => driver.send(`fence-${i}`, `fence-held-${i}`))
        await driver.waitForState((st) => st.held >= held.length, `${held.length} held sends`)
        await s.orchestrator.command('resume', {runId, epoch: 3})
        // The agent applies commands in log order: once epoch 6 is acked, epoch 3 was read and ignored.
        const resume = await s.orchestrator.command('resume', {runId, epoch: 6})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 6}, {abort: driver.died})
        await allAnswered(held, driver)
        await s.orchestrator.pause(lease, 4)
        await s.orchestrator.command('resume', {runId, epoch: 7})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 7}, {abort: driver.died})
        expect(
          s.records.acks.items.map((a) => `${a.ack.state}#${a.ack.epoch}`),
          'acks (stale epochs 3 and 4 must not be acked)',
        ).toEqual(['paused#5', 'resumed#6', 'resumed#7'])
        expect((await driver.state()).state).toBe('running')
        await sendAll(driver, ['fence-after'], 'fence-after')
        const {written} = checkSends(driver.sends, await s.readData(), {inOrder: held})
        for (const send of held)
          expect(written.get(send.index)!.timestamp, 'held sends wait for the current epoch').toBeGreaterThanOrEqual(resume.timestamp)
      },
    )

    scenario(
      'malformed records and unknown keys are skipped, before and after start; the agent keeps obeying valid commands',
      [],
      {partitions: 2},
      async (s) => {
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        const cmdKey = keys.cmd(s.topic)
        const valid = (epoch: number, extra: Record<string, unknown> = {}) =>
          JSON.stringify({
            v: 1,
            type: 'cmd',
            action: 'pause',
            topic: s.topic,
            runId,
            epoch,
            leaseExpiresAt: lease.expiresAt,
            at: Date.now(),
            ...extra,
          })
        const garbage = (round: number): Array<[string | null, string | Buffer]> => [
          [cmdKey, 'not json {'],
          [cmdKey, '[1,2,3]'],
          [cmdKey, '"a string"'],
          [cmdKey, 'null'],
          [cmdKey, Buffer.from([0xff, 0xfe, 0x00, 0x80])],
          [cmdKey, valid(round * 100 + 1, {v: 2})],
          [cmdKey, valid(round * 100 + 2, {topic: `${s.topic}-other`})],
          [cmdKey, valid(round * 100 + 3, {action: 'explode'})],
          [cmdKey, valid(round * 100 + 4, {type: 'lease'})],
          [cmdKey, valid(round * 100 + 5, {epoch: -1})],
          [cmdKey, JSON.stringify({v: 1, type: 'cmd', action: 'pause', topic: s.topic, runId, at: Date.now()})],
          [`${cmdKey}/extra`, valid(round * 100 + 6)],
          [`nonsense/${s.topic}`, valid(round * 100 + 7)],
          [`CMD/${s.topic}`, valid(round * 100 + 8)],
          [`run/${runId}`, JSON.stringify({v: 1, type: 'run', runId, at: Date.now(), checkpoint: {}})],
          [keys.lease(s.topic), 'garbage'],
          [`ack/${s.topic}/someone-else`, 'garbage'],
          ['agent/someone-else', '{"v":1}'],
        ]
        for (const [key, value] of garbage(1)) await s.orchestrator.writeRaw(key, value)
        const driver = await s.start()
        for (const [key, value] of garbage(2)) await s.orchestrator.writeRaw(key, value)
        // Epochs above every garbage one, so an agent that fences cannot mistake them for stale.
        await s.orchestrator.pause(lease, 1000)
        // Readers ignore fields they do not know (protocol section 7).
        await s.orchestrator.command(
          'pause',
          {runId, epoch: 1001, leaseExpiresAt: lease.expiresAt},
          {},
          {futureField: {nested: [1, 2]}, note: 'from a newer kreorg'},
        )
        await s.records.waitForAck({state: 'paused', runId, epoch: 1001}, {abort: driver.died})
        expect(
          s.records.acks.items.map((a) => `${a.ack.state}#${a.ack.epoch}`),
          'acks: only for the valid commands',
        ).toEqual(['paused#1000', 'paused#1001'])
        await s.orchestrator.command('resume', {runId, epoch: 1002})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 1002}, {abort: driver.died})
        await sendAll(driver, ['after-garbage'], 'after-garbage')
        checkSends(driver.sends, await s.readData())
        expect(driver.alive).toBe(true)
      },
    )

    scenario(
      'signed control topic: unsigned, badly signed, tampered and re-keyed records are ignored; signed ones applied; the agent signs what it writes',
      [],
      {partitions: 2, secret: randomBytes(16).toString('hex')},
      async (s) => {
        const driver = await s.start()
        const wrong = {secret: 'not-the-secret'}
        // If the agent honoured either lease, the signed run's claim would be refused by its fold and its pause never acked.
        await s.orchestrator.claim(newRunId(), 120_000, {secret: null})
        await s.orchestrator.claim(newRunId(), 120_000, wrong)
        const runId = newRunId()
        const lease = await s.orchestrator.claim(runId)
        await s.orchestrator.pause(lease, 1, {}, {secret: null})
        await s.orchestrator.pause(lease, 2, {}, wrong)
        await s.orchestrator.pause(
          lease,
          3,
          {},
          {
            tamper(value) {
              value.leaseExpiresAt = lease.expiresAt + 3_600_000
            },
          },
        )
        await s.orchestrator.pause(lease, 4, {}, {key: keys.cmd(`${s.topic}-other`)})
        await s.orchestrator.pause(lease, 5)
        const ack = await s.records.waitForAck({state: 'paused', runId, epoch: 5}, {abort: driver.died})
        expect(
          s.records.acks.items.map((a) => `${a.ack.state}#${a.ack.epoch}`),
          'acks: only for the signed command',
        ).toEqual(['paused#5'])
        // Every record the agent writes is decoded with the secret (AgentRecords): its acks and heartbeats must be signed.
        await s.records.waitForHeartbeats(1, ack.timestamp, {abort: driver.died})
        const held = driver.send('signed-held', 'signed-held')
        await s.orchestrator.command('resume', {runId, epoch: 6}, {secret: null})
        const resume = await s.orchestrator.command('resume', {runId, epoch: 7})
        await s.records.waitForAck({state: 'resumed', runId, epoch: 7}, {abort: driver.died})
        expect(
          s.records.acks.items.map((a) => `${a.ack.state}#${a.ack.epoch}`),
          'an unsigned resume is ignored',
        ).toEqual(['paused#5', 'resumed#7'])
        await allAnswered([held], driver)
        const {written} = checkSends(driver.sends, await s.readData())
        expect(written.get(held.index)!.timestamp).toBeGreaterThanOrEqual(resume.timestamp)
        expect(s.records.heartbeats.items.filter((h) => h.heartbeat).length, 'signed heartbeats').toBeGreaterThan(0)
      },
    )

    scenario(
      'clean close: closed, exit 0, and a tombstone where its heartbeats were, after its last heartbeat',
      [],
      {partitions: 1},
      async (s) => {
        const driver = await s.start()
        const first = await s.records.waitForHeartbeats(1, 0, {abort: driver.died})
        await sendAll(driver, ['close-1'], 'close')
        const closed = await driver.close()
        expect(closed.reply.op).toBe('closed')
        expect(closed.code, 'exit code after close').toBe(0)
        const topic = first.where === 'control' ? s.controlTopic : s.heartbeatTopic
        const own = (await readTopic(s.world.kafka, s.world.cluster, topic)).filter((r) => r.key === keys.agent(s.agentId))
        expect(own.length).toBeGreaterThan(0)
        expect(own.at(-1)!.value, `the agent's last record on ${topic} is a tombstone`).toBeNull()
        checkSends(driver.sends, await s.readData())
      },
    )
  })
}

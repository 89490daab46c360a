import {setTimeout as sleep} from 'node:timers/promises'

import type {ConnectorRef, ConnectPauseRecord, ConnectResumeRecord} from '../../connect/records.js'
import type {ConnectorState, ConnectorStatus, ConnectRestClient} from '../../connect/rest-client.js'
import type {GrowContext, GrowSummary, PinResult, ResumeResult} from '../grow/context.js'
import type {InventoryInputs} from '../grow/writers.js'

import {kreorgPauses} from '../../connect/discovery.js'
import {formatDuration} from '../../core/duration.js'
import {describeCause, KreorgError} from '../../core/errors.js'
import {partitionsAdded} from '../grow/lease.js'
import {pollUntil} from '../poll.js'
import {connectClients, withConnectFacts} from './plan.js'

/**
 * Kafka Connect source connectors in the grow runbook. Their producers cannot be pinned, so the
 * connectors kreorg found in `plan` are paused from pin-producers until resume-producers:
 *
 * - pin-producers: `PUT /connectors/{name}/pause`, then the status until the connector and every task
 *   is PAUSED (FAILED tasks write nothing and count as stopped); then, after a short settle, the high
 *   watermarks and producer sequences the writer inventory judges Connect's writes by. A timeout or
 *   any failure resumes the connectors this attempt paused, and the run fails with nothing changed.
 * - add-partitions: every connector must still be PAUSED (something may have resumed it: Strimzi
 *   reconciles a KafkaConnector's `spec.state`) before the inventory and the alter.
 * - resume-producers: each PAUSED task is restarted (`POST /connectors/{name}/tasks/{id}/restart`, which
 *   answers once the task runs again, still PAUSED, with a new producer: a paused task's producer would
 *   keep the old partition count until its metadata refresh, `metadata.max.age.ms`, and move keys
 *   mid-stream after the drain), then producers resume, then the connectors (`PUT .../resume`) until RUNNING.
 * - before add-partitions, the undo of pin-producers and the failure path resume the connectors this
 *   run paused (no restart needed: the topic still has its old count).
 *
 * Which connectors were paused is recorded in pin-producers' result, so `kreorg resume` and `kreorg
 * abort` act on exactly those. Connect has no lease: a connector kreorg paused stays PAUSED until the
 * run finishes or is aborted.
 */

/** After the pause is confirmed: sends a task made before it are given this long to land. */
export const PAUSE_SETTLE_MS = 2000
const POLL_MS = 500

type Run<R> = (ctx: GrowContext) => Promise<R>

interface Live {
  ref: ConnectorRef
  status: ConnectorStatus
}

/** Clients by worker URL; a recorded URL the inputs no longer list still gets one (no credentials). */
function clientsFor(ctx: GrowContext, withSignal: boolean): (worker: string) => ConnectRestClient {
  const signal = withSignal ? ctx.signal : undefined
  const byUrl = new Map(connectClients(ctx.inputs.connectUrls, signal).map((c) => [c.url, c]))
  return (worker) => {
    let client = byUrl.get(worker)
    if (!client) {
      client = connectClients([worker], signal)[0]!
      byUrl.set(worker, client)
    }
    return client
  }
}

function label(ref: ConnectorRef): string {
  return `${ref.name} (${ref.worker})`
}

function describeStatus(status: ConnectorStatus): string {
  const tasks = status.tasks.map((t) => `task ${t.id} ${t.state}`).join(', ')
  return `connector ${status.state}${tasks ? `, ${tasks}` : ', no tasks'}`
}

/** A FAILED task (or connector) has stopped and closed its producer: it writes nothing. */
const STOPPED_TASK: ReadonlySet<ConnectorState> = new Set(['FAILED', 'PAUSED'])

function isPaused(status: ConnectorStatus): boolean {
  return STOPPED_TASK.has(status.state) && status.tasks.every((t) => STOPPED_TASK.has(t.state))
}

/** Resumed: RUNNING with its tasks back (a FAILED connector or task stays FAILED: a resume does not restart it). */
function isRunning(status: ConnectorStatus, expectedTasks: number): boolean {
  if (status.state !== 'RUNNING' && status.state !== 'FAILED') return false
  if (status.state === 'RUNNING' && expectedTasks > 0 && status.tasks.length === 0) return false
  return status.tasks.every((t) => t.state === 'RUNNING' || t.state === 'FAILED')
}

async function readAll(
  client: (worker: string) => ConnectRestClient,
  refs: readonly ConnectorRef[],
): Promise<Array<Live | {ref: ConnectorRef; status: undefined}>> {
  return Promise.all(refs.map(async (ref) => ({ref, status: await client(ref.worker).statusIfExists(ref.name)})))
}

/** Polls until every connector satisfies `done`; the timeout names the ones that do not, with their states. */
async function waitFor(
  ctx: GrowContext,
  client: (worker: string) => ConnectRestClient,
  refs: readonly ConnectorRef[],
  what: string,
  done: (status: ConnectorStatus, ref: ConnectorRef) => boolean,
  options: {signal: boolean; suggestions: string[]},
): Promise<Live[]> {
  let pending: string[] = []
  return pollUntil(
    async () => {
      const live = await readAll(client, refs)
      pending = live.flatMap(({ref, status}) =>
        status === undefined ? [] : done(status, ref) ? [] : [`${label(ref)}: ${describeStatus(status)}`],
      )
      return pending.length === 0 ? live.filter((l): l is Live => l.status !== undefined) : undefined
    },
    {
      intervalMs: POLL_MS,
      timeoutMs: ctx.inputs.ackTimeoutMs,
      ...(options.signal ? {signal: ctx.signal} : {}),
      timeoutMessage: (ms) => `Kafka Connect connector(s) did not become ${what} within ${formatDuration(ms)}: ${pending.join('; ')}`,
      suggestions: options.suggestions,
    },
  )
}

/** The connectors of the plan kreorg pauses (for an undo of a pin-producers that did not finish). */
function plannedPauses(ctx: GrowContext): ConnectorRef[] {
  return (ctx.results.plan?.connect?.connectors ?? []).filter((c) => kreorgPauses(c.state)).map((c) => ({worker: c.worker, name: c.name}))
}

/**
 * Resumes connectors this run paused, before the alter. Never throws: returns what it could not
 * confirm (the caller warns or fails), so one unreachable worker does not keep the others paused.
 */
export async function resumeConnectorsBeforeAlter(ctx: GrowContext, refs: readonly ConnectorRef[]): Promise<string[]> {
  if (refs.length === 0) return []
  // No signal: an interrupted failure path must not leave connectors paused.
  const client = clientsFor(ctx, false)
  const failures: string[] = []
  const requested: ConnectorRef[] = []
  for (const ref of refs) {
    try {
      await client(ref.worker).resume(ref.name)
      requested.push(ref)
    } catch (error) {
      failures.push(`${label(ref)}: ${describeCause(error)}`)
    }
  }
  if (requested.length > 0) {
    ctx.progress(`resuming ${requested.length} Kafka Connect connector(s): ${requested.map((r) => r.name).join(', ')}`)
    try {
      await waitFor(ctx, client, requested, 'RUNNING', (s) => isRunning(s, 0), {signal: false, suggestions: []})
    } catch (error) {
      failures.push(describeCause(error))
    }
  }
  return failures
}

function manualResume(refs: readonly ConnectorRef[]): string {
  return refs.map((r) => `curl -X PUT ${r.worker}/connectors/${encodeURIComponent(r.name)}/resume`).join('; ')
}

/** pin-producers, Connect part: pause, confirm, settle, record the evidence. Undefined when Connect is not involved. */
export async function pauseConnectors(ctx: GrowContext): Promise<ConnectPauseRecord | undefined> {
  const planned = ctx.results.plan?.connect?.connectors ?? []
  if (planned.length === 0) return undefined
  const client = clientsFor(ctx, true)
  const live = await readAll(
    client,
    planned.map((c) => ({worker: c.worker, name: c.name})),
  )
  const plannedState = new Map(planned.map((c) => [`${c.worker}\u0000${c.name}`, c.state]))
  const ours: Live[] = []
  const alreadyPaused: Live[] = []
  for (const entry of live) {
    if (entry.status === undefined) {
      ctx.warn(`Kafka Connect connector ${label(entry.ref)} no longer exists`)
      continue
    }
    const atPlan = plannedState.get(`${entry.ref.worker}\u0000${entry.ref.name}`) ?? entry.status.state
    if (entry.status.state === 'STOPPED') continue
    // Running at the plan (a redo after an interrupt finds it paused by this run) or running now.
    if (kreorgPauses(atPlan) || kreorgPauses(entry.status.state)) ours.push(entry as Live)
    else alreadyPaused.push(entry as Live)
  }
  if (ours.length === 0 && alreadyPaused.length === 0) return undefined
  const started = Date.now()
  const requested: ConnectorRef[] = []
  try {
    ctx.progress(`pausing ${ours.length} Kafka Connect source connector(s): ${ours.map((c) => label(c.ref)).join(', ')}`)
    for (const c of ours) {
      await client(c.ref.worker).pause(c.ref.name)
      requested.push(c.ref)
    }
    const confirmed = await waitFor(
      ctx,
      client,
      [...ours, ...alreadyPaused].map((c) => c.ref),
      'PAUSED',
      isPaused,
      {
        signal: true,
        suggestions: [
          'a task stuck in poll() never acknowledges a pause (the worker checks between two polls): check the connector, or raise --ack-timeout',
        ],
      },
    )
    const pausedAt = Date.now()
    ctx.progress(`Kafka Connect connector(s) PAUSED in ${formatDuration(pausedAt - started)}`, {
      connect: confirmed.map((c) => ({worker: c.ref.worker, name: c.ref.name, state: c.status.state, tasks: c.status.tasks})),
    })
    await sleep(PAUSE_SETTLE_MS, undefined, {signal: ctx.signal})
    const {cluster} = ctx.services
    const [highWatermarks, producers] = await Promise.all([
      cluster.highWatermarks(ctx.inputs.topic),
      cluster.describeProducers(ctx.inputs.topic),
    ])
    const since = pausedAt - ctx.inputs.writerLookbackMs
    const producerSequences = producers.flatMap((p) =>
      p.producers
        .filter((x) => x.lastTimestamp < 0 || x.lastTimestamp >= since || x.currentTxnStartOffset >= 0)
        .map((x): [number, number, number] => [p.partition, x.producerId, x.lastSequence]),
    )
    const tasksOf = new Map(confirmed.map((c) => [`${c.ref.worker}\u0000${c.ref.name}`, c.status.tasks.map((t) => t.id)]))
    const tasks = (ref: ConnectorRef) => tasksOf.get(`${ref.worker}\u0000${ref.name}`) ?? []
    return {
      paused: ours.map((c) => ({...c.ref, tasks: tasks(c.ref)})),
      alreadyPaused: alreadyPaused.map((c) => c.ref),
      pausedAt,
      pauseMs: pausedAt - started,
      facts: {
        phase: 'paused',
        connectors: [...ours, ...alreadyPaused].map((c) => ({worker: c.ref.worker, name: c.ref.name, tasks: tasks(c.ref).length})),
        pausedAt,
        highWatermarks: highWatermarks.map((o) => ({partition: o.partition, high: o.high})),
        producerSequences,
      },
    }
  } catch (error) {
    // Interrupted: nothing is undone (resume pauses again; abort's undo resumes them).
    if (ctx.signal.aborted) throw error
    const failures = await resumeConnectorsBeforeAlter(ctx, requested)
    const resumed =
      requested.length === 0
        ? 'no connector was paused'
        : failures.length === 0
          ? `the connector(s) kreorg paused were resumed`
          : `could not confirm the resume of every connector kreorg paused (${failures.join('; ')}): ${manualResume(requested)}`
    if (error instanceof KreorgError) {
      throw new KreorgError(error.code, `${error.message}; ${resumed}`, {
        suggestions: [...error.suggestions, 'nothing was changed: the topic keeps its partitions and producers were not pinned'],
        cause: error,
      })
    }
    throw error
  }
}

/** pin-producers with the Connect pause first; a failed pin resumes the connectors again. */
export function pinWithConnect(pin: Run<PinResult>): Run<PinResult> {
  return async (ctx) => {
    const connect = await pauseConnectors(ctx)
    try {
      const result = await pin(ctx)
      return connect ? {...result, connect} : result
    } catch (error) {
      if (connect && !ctx.signal.aborted) {
        const failures = await resumeConnectorsBeforeAlter(ctx, connect.paused)
        if (failures.length > 0)
          ctx.warn(`could not confirm the resume of Kafka Connect connectors (${failures.join('; ')}): ${manualResume(connect.paused)}`)
      }
      throw error
    }
  }
}

/** The undo of pin-producers (abort, before the alter): lift the pin, then resume the connectors this run paused. */
export function unpinWithConnect(unpin: Run<void>): Run<void> {
  return async (ctx) => {
    let failure: unknown
    try {
      await unpin(ctx)
    } catch (error) {
      failure = error
    }
    // After the alter a connector resumed without a restart would write with the old count: never here.
    if (!(await partitionsAdded(ctx).catch(() => true))) {
      const refs = ctx.results['pin-producers']?.connect?.paused ?? plannedPauses(ctx)
      const failures = await resumeConnectorsBeforeAlter(ctx, refs)
      if (failures.length > 0 && failure === undefined) {
        failure = new KreorgError('timeout', `could not confirm the resume of Kafka Connect connectors: ${failures.join('; ')}`, {
          suggestions: [`run the abort again, or resume them by hand: ${manualResume(refs)}`],
        })
      }
    }
    if (failure !== undefined) throw failure
  }
}

/** The runbook's failure path: after it (pin lifted before the alter), resume the connectors this run paused. */
export function recoverWithConnect<E>(onFailure: (ctx: GrowContext, failedStep: string, error: E) => Promise<void>) {
  return async (ctx: GrowContext, failedStep: string, error: E): Promise<void> => {
    await onFailure(ctx, failedStep, error)
    const record = ctx.results['pin-producers']?.connect
    // pin-producers resumes its own connectors when it fails; after the alter they stay paused (resume the run).
    if (!record || failedStep === 'post-check' || (await partitionsAdded(ctx).catch(() => true))) return
    const failures = await resumeConnectorsBeforeAlter(ctx, record.paused)
    if (failures.length === 0)
      ctx.warn(`the Kafka Connect connectors kreorg paused were resumed: ${record.paused.map((r) => r.name).join(', ')}`)
    else ctx.warn(`could not confirm the resume of Kafka Connect connectors (${failures.join('; ')}): ${manualResume(record.paused)}`)
  }
}

/** add-partitions: the connectors must still be PAUSED; the inventory then judges their writes by the pause's evidence. */
export async function connectInventoryInputs(ctx: GrowContext, inputs: InventoryInputs): Promise<InventoryInputs> {
  const record = ctx.results['pin-producers']?.connect
  if (!record) return inputs
  const client = clientsFor(ctx, true)
  const live = await readAll(client, [...record.paused, ...record.alreadyPaused])
  const running = live.flatMap(({ref, status}) => (status && !isPaused(status) ? [`${label(ref)}: ${describeStatus(status)}`] : []))
  if (running.length > 0) {
    throw new KreorgError(
      'precondition',
      `Kafka Connect connector(s) no longer PAUSED since kreorg paused them: ${running.join('; ')}; not adding partitions`,
      {
        suggestions: [
          'something resumed them: a KafkaConnector managed by Strimzi gets its spec.state reconciled, so set spec.state: paused for the window',
          'nothing was changed: the topic keeps its partitions, the pin is lifted and the connectors kreorg paused are resumed',
        ],
      },
    )
  }
  return withConnectFacts(inputs, record.facts)
}

/**
 * Before producers resume: restart every PAUSED task of the connectors on the topic (those this run
 * paused, and those paused before it), so each gets a new producer that fetches the new partition
 * count at its first send. A connector of this run that someone resumed meanwhile is paused again first.
 */
async function restartPausedTasks(ctx: GrowContext, record: ConnectPauseRecord): Promise<Array<ConnectorRef & {tasks: number[]}>> {
  const client = clientsFor(ctx, true)
  const ours = new Set(record.paused.map((r) => `${r.worker}\u0000${r.name}`))
  const refs = [...record.paused.map(({worker, name}) => ({worker, name})), ...record.alreadyPaused]
  const live = (await readAll(client, refs)).filter((l): l is Live => l.status !== undefined)
  const repause = live.filter((l) => ours.has(`${l.ref.worker}\u0000${l.ref.name}`) && !isPaused(l.status))
  if (repause.length > 0) {
    ctx.warn(
      `Kafka Connect connector(s) ${repause.map((l) => label(l.ref)).join(', ')} were resumed by someone else during the run: pausing them again`,
    )
    for (const l of repause) await client(l.ref.worker).pause(l.ref.name)
    await waitFor(
      ctx,
      client,
      repause.map((l) => l.ref),
      'PAUSED',
      isPaused,
      {signal: true, suggestions: []},
    )
  }
  const restarted: Array<ConnectorRef & {tasks: number[]}> = []
  for (const l of await readAll(client, refs)) {
    if (!l.status || l.status.state !== 'PAUSED') {
      if (l.status && !ours.has(`${l.ref.worker}\u0000${l.ref.name}`))
        ctx.warn(
          `Kafka Connect connector ${label(l.ref)} is ${l.status.state} now, not PAUSED: its tasks were not restarted; restart them if they write to ${ctx.inputs.topic}`,
        )
      continue
    }
    const tasks = l.status.tasks.filter((t) => t.state === 'PAUSED').map((t) => t.id)
    for (const task of tasks) await client(l.ref.worker).restartTask(l.ref.name, task)
    restarted.push({...l.ref, tasks})
  }
  if (restarted.length > 0) {
    ctx.progress(
      `restarted ${restarted.reduce((n, r) => n + r.tasks.length, 0)} paused Kafka Connect task(s) (new producers, fresh metadata): ${restarted.map((r) => r.name).join(', ')}`,
    )
    await waitFor(ctx, client, restarted, 'PAUSED again after the restart', isPaused, {signal: true, suggestions: []})
  }
  return restarted
}

/** resume-producers with Connect: restart the paused tasks, resume producers (fence first), then the connectors. */
export function resumeWithConnect(resume: Run<ResumeResult>): Run<ResumeResult> {
  return async (ctx) => {
    const restarted = await restartBeforeResume(ctx)
    const result = await resume(ctx)
    const connect = await resumeConnectorsAfter(ctx, restarted)
    return connect ? {...result, connect} : result
  }
}

/** Before producers resume: the topic's paused tasks restarted (undefined when Connect is not involved). */
export async function restartBeforeResume(ctx: GrowContext): Promise<Array<ConnectorRef & {tasks: number[]}> | undefined> {
  const record = ctx.results['pin-producers']?.connect
  return record ? restartPausedTasks(ctx, record) : undefined
}

/** After producers resumed: the connectors this run paused resumed until RUNNING (undefined without Connect). */
export async function resumeConnectorsAfter(
  ctx: GrowContext,
  restarted: Array<ConnectorRef & {tasks: number[]}> | undefined,
): Promise<ConnectResumeRecord | undefined> {
  const record = ctx.results['pin-producers']?.connect
  if (!record || !restarted) return undefined
  const client = clientsFor(ctx, true)
  for (const ref of record.paused) await client(ref.worker).resume(ref.name)
  const expected = new Map(record.paused.map((r) => [`${r.worker}\u0000${r.name}`, r.tasks.length]))
  const running = await waitFor(
    ctx,
    client,
    record.paused,
    'RUNNING',
    (status, ref) => isRunning(status, expected.get(`${ref.worker}\u0000${ref.name}`) ?? 0),
    {signal: true, suggestions: ['the partitions are added and producers resumed; check the connectors, then resume the run']},
  )
  const failed = running.flatMap((l) => [
    ...(l.status.state === 'FAILED' ? [`${label(l.ref)} (the connector)`] : []),
    ...l.status.tasks.filter((t) => t.state === 'FAILED').map((t) => `${label(l.ref)} task ${t.id}${t.trace ? ` (${t.trace})` : ''}`),
  ])
  if (failed.length > 0) ctx.warn(`Kafka Connect FAILED after the resume (a resume does not restart what failed): ${failed.join('; ')}`)
  const resumedAt = Date.now()
  ctx.progress(`Kafka Connect connector(s) RUNNING: ${record.paused.map((r) => r.name).join(', ')}`, {
    connect: running.map((l) => ({worker: l.ref.worker, name: l.ref.name, state: l.status.state, tasks: l.status.tasks})),
  })
  return {
    restarted,
    resumed: record.paused.map(({worker, name}) => ({worker, name})),
    resumedAt,
    blackoutMs: resumedAt - (record.pausedAt - record.pauseMs),
  }
}

/** The run summary with how long the Kafka Connect connectors were paused. */
export function connectSummary(summary: GrowSummary | undefined, resumed: ResumeResult | undefined): GrowSummary | undefined {
  const blackout = resumed?.connect?.blackoutMs
  return summary && blackout !== undefined ? {...summary, connectPausedMs: blackout} : summary
}

/**
 * Shared run state (`--state kafka`): every checkpoint write is mirrored to the control topic under
 * `run/<runId>` (compacted, so the latest checkpoint of every run stays), which lets an on-call
 * engineer on another machine list, inspect and `kreorg resume` a run whose laptop died. The local
 * file stays the engine's working copy; Kafka is the copy others can reach. See
 * docs/control-protocol.md, "Run state records".
 */
import {promises as fs} from 'node:fs'
import {createKafkaClient} from '../kafka/client.js'
import {ControlLog, type RawControlRecord} from '../kafka/control-log.js'
import type {ConnectionOptions} from '../kafka/types.js'
import {redact} from '../config/redact.js'
import {decode} from '../control/codec.js'
import {CONTROL_TOPIC_CONFIG, DEFAULT_CONTROL_TOPIC} from '../control/schema.js'
import {ControlState} from '../control/state.js'
import {
  type Checkpoint,
  type RunStatus,
  type RunSummary,
  checkpointPath,
  effectiveStatus,
  hostName,
  parseCheckpoint,
  unreadableSummary,
  writeCheckpoint,
} from './checkpoint.js'
import {KreorgError, describeCause} from './errors.js'

export const STATE_MODES = ['local', 'kafka'] as const
export type StateMode = (typeof STATE_MODES)[number]

export const RUN_STATE_VERSION = 1
export const RUN_KEY_PREFIX = 'run/'

export function runStateKey(runId: string): string {
  return `${RUN_KEY_PREFIX}${runId}`
}

/** The value under `run/<runId>`: the checkpoint exactly as the local file holds it (redacted). */
export interface RunStateRecord {
  v: typeof RUN_STATE_VERSION
  type: 'run'
  runId: string
  /** Writer's wall clock, ms since the epoch (informational; the checkpoint's updatedAt orders copies). */
  at: number
  checkpoint: Checkpoint
}

export function encodeRunState(checkpoint: Checkpoint, now: number = Date.now()): Buffer {
  const record: RunStateRecord = {v: RUN_STATE_VERSION, type: 'run', runId: checkpoint.runId, at: now, checkpoint: redact(checkpoint)}
  return Buffer.from(JSON.stringify(record))
}

/** Where a Kafka copy is "stored", for messages and `status`'s File line. */
export function kafkaLocation(topic: string, runId: string): string {
  return `kafka:${topic}/${runStateKey(runId)}`
}

export type RemoteRun = {runId: string; offset: number; checkpoint: Checkpoint} | {runId: string; offset: number; problem: string}

/**
 * Writes checkpoints to the control topic. Opened lazily on the first write (the engine knows the
 * connection only after `setup`), append-only: it never reads the topic, so a run pays one produce
 * round trip per checkpoint and no consumer group join.
 */
export class KafkaCheckpointMirror {
  private log: ControlLog | undefined
  private opening: Promise<ControlLog> | undefined

  constructor(readonly topic: string = DEFAULT_CONTROL_TOPIC) {}

  private open(connection: ConnectionOptions): Promise<ControlLog> {
    this.opening ??= (async () => {
      const log = new ControlLog(createKafkaClient(connection), {topic: this.topic, role: 'state', topicConfig: CONTROL_TOPIC_CONFIG})
      await log.ensureTopic(true)
      this.log = log
      return log
    })()
    // A failed open is retried on the next write (the cluster may be back).
    this.opening.catch(() => (this.opening = undefined))
    return this.opening
  }

  async write(checkpoint: Checkpoint, connection: ConnectionOptions): Promise<void> {
    const log = await this.open(connection)
    await log.append(runStateKey(checkpoint.runId), encodeRunState(checkpoint))
  }

  async close(): Promise<void> {
    await this.log?.stop()
    this.log = undefined
    this.opening = undefined
  }
}

/** Every run recorded in the control topic (latest record per run id) plus the leases, folded once. */
export class KafkaRunSnapshot {
  private constructor(
    readonly topic: string,
    private readonly runs: Map<string, RemoteRun>,
    private readonly control: ControlState,
  ) {}

  /**
   * Reads the control topic from the beginning to its current end. A missing control topic is an
   * empty snapshot (nothing was ever mirrored there); an unreachable cluster is a connect error.
   */
  static async read(connection: ConnectionOptions, topic: string = DEFAULT_CONTROL_TOPIC, options: {timeoutMs?: number} = {}): Promise<KafkaRunSnapshot> {
    const runs = new Map<string, RemoteRun>()
    const control = new ControlState()
    const log = new ControlLog(createKafkaClient(connection), {topic, role: 'state-reader', topicConfig: CONTROL_TOPIC_CONFIG})
    const onRecord = (record: RawControlRecord) => {
      const key = record.key ?? ''
      if (key.startsWith(RUN_KEY_PREFIX)) {
        const runId = key.slice(RUN_KEY_PREFIX.length)
        if (record.value === null) runs.delete(runId)
        else runs.set(runId, parseRunRecord(runId, record, topic))
        return
      }
      // Leases, to tell a run that is live on another host from one whose process is gone.
      control.apply(decode(record.key, record.value), {offset: record.offset, timestamp: record.timestamp})
    }
    try {
      if (await log.ensureTopic(false)) await log.start(onRecord, {catchUpTimeoutMs: options.timeoutMs ?? 30_000})
    } catch (error) {
      throw error instanceof KreorgError
        ? error
        : new KreorgError('connect', `cannot read run state from control topic ${topic}: ${describeCause(error)}`, {
            cause: error,
            suggestions: ['check --brokers / KAFKA_BROKERS, or use --state local'],
          })
    } finally {
      await log.stop()
    }
    return new KafkaRunSnapshot(topic, runs, control)
  }

  list(): RemoteRun[] {
    return [...this.runs.values()]
  }

  get(runId: string): RemoteRun | undefined {
    return this.runs.get(runId)
  }

  /**
   * Status as this host can judge it: a run recorded as running on another host whose lease on its
   * topic is no longer held is really interrupted (that host's process can't be probed from here).
   */
  effectiveStatus(checkpoint: Checkpoint): RunStatus {
    const status = effectiveStatus(checkpoint)
    if ((status === 'running' || status === 'aborting') && checkpoint.host !== hostName() && checkpoint.steps.length > 0) {
      const holder = this.leaseHolder(checkpoint.lockKey)
      if (!holder || holder.runId !== checkpoint.runId) return 'interrupted'
    }
    return status
  }

  /** The valid lease on a topic (as of the read), if any. */
  leaseHolder(topic: string): {runId: string; host: string; pid: number; expiresAt: number} | undefined {
    return this.control.holderAt(topic, Date.now())
  }
}

function parseRunRecord(runId: string, record: RawControlRecord, topic: string): RemoteRun {
  const where = kafkaLocation(topic, runId)
  try {
    const raw = JSON.parse(record.value!.toString('utf8')) as Partial<RunStateRecord> | null
    if (!raw || raw.v !== RUN_STATE_VERSION || raw.type !== 'run') {
      return {runId, offset: record.offset, problem: `${where}: not a version ${RUN_STATE_VERSION} run record`}
    }
    const checkpoint = parseCheckpoint(JSON.stringify(raw.checkpoint), where)
    if (checkpoint.runId !== runId) return {runId, offset: record.offset, problem: `${where}: holds run ${checkpoint.runId}`}
    return {runId, offset: record.offset, checkpoint}
  } catch (error) {
    return {runId, offset: record.offset, problem: describeCause(error)}
  }
}

/** The summary `kreorg runs` prints for a checkpoint (same shape as listRuns' entries). */
export function summarize(checkpoint: Checkpoint, stepsTotal: number | null, status: RunStatus = effectiveStatus(checkpoint)): RunSummary {
  return {
    runId: checkpoint.runId,
    runbook: checkpoint.runbook.name,
    topic: checkpoint.lockKey,
    description: checkpoint.description,
    status,
    recordedStatus: checkpoint.status,
    currentStep: checkpoint.currentStep,
    stepsDone: checkpoint.steps.length,
    stepsTotal,
    startedAt: checkpoint.createdAt,
    updatedAt: checkpoint.updatedAt,
    problem: null,
  }
}

export type RunSource = 'local' | 'kafka' | 'both'
export type MergedRunSummary = RunSummary & {source: RunSource}

/**
 * Local and Kafka runs in one list: deduplicated by run id (the copy updated last wins; `source`
 * says where the run was found), newest first.
 */
export function mergeRuns(local: RunSummary[], snapshot: KafkaRunSnapshot, lookupSteps: (name: string) => number | null): MergedRunSummary[] {
  const merged = new Map<string, MergedRunSummary>()
  for (const run of local) merged.set(run.runId, {...run, source: 'local'})
  for (const run of snapshot.list()) {
    const summary: RunSummary =
      'checkpoint' in run
        ? summarize(run.checkpoint, lookupSteps(run.checkpoint.runbook.name), snapshot.effectiveStatus(run.checkpoint))
        : unreadableSummary(run.runId, run.problem)
    const existing = merged.get(run.runId)
    if (!existing) {
      merged.set(run.runId, {...summary, source: 'kafka'})
      continue
    }
    const remoteNewer = existing.status === 'unreadable' || (summary.updatedAt ?? '') > (existing.updatedAt ?? '')
    merged.set(run.runId, {...(remoteNewer && summary.status !== 'unreadable' ? summary : existing), source: 'both'})
  }
  return [...merged.values()].sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0))
}

async function readLocal(stateDir: string, runId: string): Promise<{file: string; checkpoint: Checkpoint | null; problem: string | null}> {
  const file = checkpointPath(stateDir, runId)
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {file, checkpoint: null, problem: null}
    throw new KreorgError('state-dir', `cannot read ${file}: ${describeCause(error)}`, {cause: error})
  }
  try {
    return {file, checkpoint: parseCheckpoint(text, file), problem: null}
  } catch (error) {
    return {file, checkpoint: null, problem: describeCause(error)}
  }
}

export interface AdoptOutcome {
  /** 'kafka': the Kafka copy was newer (or the only one) and now is the local file; 'local': the local file is current. */
  from: 'kafka' | 'local'
  file: string
  /** null when the local file is damaged: it is left alone and the engine's refusal names it. */
  checkpoint: Checkpoint | null
}

/**
 * Before `resume`/`abort` with `--state kafka`: makes the local state dir hold the newest copy of a
 * run. A damaged local file is never overwritten (the engine refuses it, naming the file). A run
 * whose checkpoint says it is running on another host is refused while that host's lease on the
 * topic is valid: two machines must never drive one run.
 */
export async function adoptRun(stateDir: string, runId: string, snapshot: KafkaRunSnapshot): Promise<AdoptOutcome> {
  const local = await readLocal(stateDir, runId)
  const remote = snapshot.get(runId)
  if (local.problem !== null) return {from: 'local', file: local.file, checkpoint: null}
  if (!remote) {
    if (local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
    throw new KreorgError('usage', `no run "${runId}" in ${stateDir} or in control topic ${snapshot.topic}`, {
      suggestions: ['list runs with `kreorg runs --state kafka`', 'pass --state-topic if the run mirrored its state to another topic'],
    })
  }
  if (!('checkpoint' in remote)) {
    if (local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
    throw new KreorgError('checkpoint', `run ${runId} in control topic ${snapshot.topic} is unreadable: ${remote.problem}`, {
      suggestions: ['kreorg never resumes from a damaged checkpoint; start a new run'],
    })
  }
  const newest = local.checkpoint && local.checkpoint.updatedAt >= remote.checkpoint.updatedAt ? local.checkpoint : remote.checkpoint
  const live = newest.status === 'running' || newest.status === 'aborting'
  if (live && newest.host !== hostName()) {
    const holder = snapshot.leaseHolder(newest.lockKey)
    if (holder && holder.runId === runId) {
      const until = new Date(holder.expiresAt).toISOString()
      throw new KreorgError('lease-held', `run ${runId} is live on ${holder.host} (pid ${holder.pid}): it holds the lease on ${newest.lockKey} until ${until}`, {
        suggestions: [`stop it there, or if that host is gone, wait until ${until} (the lease lapses and its producers resume by themselves), then resume`],
      })
    }
  }
  if (newest === local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
  const file = await writeCheckpoint(stateDir, remote.checkpoint)
  return {from: 'kafka', file, checkpoint: remote.checkpoint}
}

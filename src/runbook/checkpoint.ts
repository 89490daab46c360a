import {createHash, randomBytes} from 'node:crypto'
import {promises as fs} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {z} from 'zod'

import type {AnyRunbook, ErrorInfo} from './types.js'

import {describeCause, KreorgError} from '../core/errors.js'
import {redact} from '../core/redact.js'
import {atomicWriteFile, ensurePrivateDir, runsDir} from './state-dir.js'

/** Bumped whenever the checkpoint layout changes incompatibly; resume refuses versions it doesn't know. */
export const CHECKPOINT_SCHEMA_VERSION = 1

export const RUN_STATUSES = ['running', 'interrupted', 'failed', 'done', 'aborting', 'aborted'] as const
export type RunStatus = (typeof RUN_STATUSES)[number]

const errorInfoSchema = z.object({
  code: z.string(),
  exitCode: z.number().int(),
  message: z.string(),
  step: z.string().nullable(),
  cause: z.string().nullable(),
  suggestions: z.array(z.string()),
})

const stepRecordSchema = z.object({
  id: z.string().min(1),
  state: z.enum(['done', 'skipped']),
  result: z.unknown(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().nonnegative(),
})

export const checkpointSchema = z.object({
  schemaVersion: z.literal(CHECKPOINT_SCHEMA_VERSION),
  runId: z.string().min(1),
  runbook: z.object({name: z.string().min(1), version: z.number().int(), hash: z.string().regex(/^[0-9a-f]{64}$/)}),
  description: z.string(),
  lockKey: z.string().min(1),
  inputs: z.unknown(),
  /** Non-secret parts of how the run reached Kafka (brokers, client id), so `resume` works without flags. */
  environment: z.record(z.unknown()),
  status: z.enum(RUN_STATUSES),
  /** The step that was running or failed last; null between steps and when done. */
  currentStep: z.string().nullable(),
  /** Finished steps, in runbook order: always a prefix of the runbook's steps. */
  steps: z.array(stepRecordSchema),
  /** Steps whose undo ran during `abort`, in the order they were undone. */
  undone: z.array(z.object({id: z.string(), at: z.string()})),
  failure: errorInfoSchema.extend({at: z.string()}).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The process that last worked on the run, to tell a live run from a crashed one. */
  host: z.string(),
  pid: z.number().int(),
  attempts: z.number().int().positive(),
})

export type Checkpoint = z.infer<typeof checkpointSchema>
export type StepRecord = z.infer<typeof stepRecordSchema>

/** sha256 over the runbook's name, version and ordered step ids: what a checkpoint's step list depends on. */
export function runbookHash(runbook: Pick<AnyRunbook, 'name' | 'version' | 'steps'>): string {
  const canonical = JSON.stringify({name: runbook.name, version: runbook.version, steps: runbook.steps.map((s) => s.id)})
  return createHash('sha256').update(canonical).digest('hex')
}

function slug(value: string, max: number): string {
  const cleaned = value
    .toLowerCase()
    .replaceAll(/[^a-z0-9._-]+/g, '-')
    .replaceAll(/[-.]{2,}/g, '-')
    .replaceAll(/^[-.]+|[-.]+$/g, '')
  return cleaned.slice(0, max).replace(/[-.]+$/, '') || 'run'
}

/** Sortable, readable, unique enough: `20261123-174512-grow-orders-3f9a` (UTC). */
export function newRunId(runbookName: string, lockKey: string, now: Date = new Date()): string {
  const iso = now.toISOString() // 2026-11-23T17:45:12.345Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`
  return `${stamp}-${slug(runbookName, 20)}-${slug(lockKey, 40)}-${randomBytes(2).toString('hex')}`
}

const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

export function checkpointPath(stateDir: string, runId: string): string {
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new KreorgError('usage', `"${runId}" is not a run id`, {suggestions: ['list runs with `kreorg runs`']})
  }
  return path.join(runsDir(stateDir), `${runId}.json`)
}

export function errorInfoFrom(error: {
  code: string
  exitCode: number
  message: string
  step: string | undefined
  suggestions: string[]
  cause?: unknown
}): ErrorInfo {
  return {
    code: error.code,
    exitCode: error.exitCode,
    message: error.message,
    step: error.step ?? null,
    cause: error.cause === undefined ? null : describeCause(error.cause),
    suggestions: error.suggestions,
  }
}

/** Raw bytes of a checkpoint; a missing one is a usage error naming the state dir. */
export async function readCheckpointText(stateDir: string, runId: string): Promise<{file: string; text: string}> {
  const file = checkpointPath(stateDir, runId)
  try {
    return {file, text: await fs.readFile(file, 'utf8')}
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KreorgError('usage', `no run "${runId}" in ${stateDir}`, {
        suggestions: ['list runs with `kreorg runs`', 'pass --state-dir (or KREORG_STATE_DIR) if the run used another state dir'],
      })
    }
    throw new KreorgError('state-dir', `cannot read ${file}: ${describeCause(error)}`, {cause: error})
  }
}

/**
 * Parses and validates checkpoint text. Refusals are KreorgError('checkpoint') (exit 2) with the
 * file named; nothing is written.
 */
export function parseCheckpoint(text: string, file: string): Checkpoint {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new KreorgError('checkpoint', `checkpoint ${file} is not valid JSON (truncated or corrupted): ${describeCause(error)}`, {
      suggestions: ['kreorg never resumes from a damaged checkpoint; inspect the file, then start a new run'],
      cause: error,
    })
  }
  const version = (raw as {schemaVersion?: unknown} | null)?.schemaVersion
  if (version !== CHECKPOINT_SCHEMA_VERSION) {
    throw new KreorgError(
      'checkpoint',
      `checkpoint ${file} has schema version ${JSON.stringify(version ?? null)}; this kreorg understands version ${CHECKPOINT_SCHEMA_VERSION}`,
      {suggestions: ['resume it with the kreorg version that started the run']},
    )
  }
  const parsed = checkpointSchema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'
    throw new KreorgError('checkpoint', `checkpoint ${file} is malformed (${where})`, {
      suggestions: ['kreorg never resumes from a damaged checkpoint; inspect the file, then start a new run'],
    })
  }
  return parsed.data
}

export async function loadCheckpoint(stateDir: string, runId: string): Promise<{file: string; checkpoint: Checkpoint}> {
  const {file, text} = await readCheckpointText(stateDir, runId)
  return {file, checkpoint: parseCheckpoint(text, file)}
}

/**
 * Refuses a checkpoint the runbook can't continue: changed hash, or finished steps that are not
 * a prefix of the runbook's steps. Pure: never touches the file.
 */
export function validateAgainstRunbook(checkpoint: Checkpoint, runbook: AnyRunbook, file: string): void {
  const hash = runbookHash(runbook)
  const ids = runbook.steps.map((s) => s.id)
  const recorded = checkpoint.steps.map((s) => s.id)
  const isPrefix = recorded.length <= ids.length && recorded.every((id, index) => ids[index] === id)
  if (!isPrefix) {
    throw new KreorgError(
      'checkpoint',
      `checkpoint ${file} records steps [${recorded.join(', ')}] which are not the start of runbook ${runbook.name} v${runbook.version} [${ids.join(', ')}]`,
      {suggestions: ['the runbook changed since this run started: finish it with the kreorg version that started it']},
    )
  }
  if (checkpoint.runbook.hash !== hash || checkpoint.runbook.version !== runbook.version) {
    throw new KreorgError(
      'checkpoint',
      `runbook ${runbook.name} changed since run ${checkpoint.runId} started (checkpoint v${checkpoint.runbook.version} hash ${checkpoint.runbook.hash.slice(0, 12)}, now v${runbook.version} hash ${hash.slice(0, 12)})`,
      {suggestions: ['finish the run with the kreorg version that started it']},
    )
  }
}

export async function writeCheckpoint(stateDir: string, checkpoint: Checkpoint): Promise<string> {
  const dir = runsDir(stateDir)
  await ensurePrivateDir(dir)
  const file = checkpointPath(stateDir, checkpoint.runId)
  // Second net behind "inputs never hold secrets": the file (and its Kafka copy) go through redact().
  await atomicWriteFile(file, `${JSON.stringify(redact(checkpoint), null, 2)}\n`)
  return file
}

export interface RunSummary {
  runId: string
  runbook: string | null
  /** The lock key: the topic for kafka runbooks. */
  topic: string | null
  description: string | null
  /** Effective status: a `running` checkpoint whose process is gone shows as `interrupted`. */
  status: RunStatus | 'unreadable'
  recordedStatus: RunStatus | null
  currentStep: string | null
  stepsDone: number
  stepsTotal: number | null
  startedAt: string | null
  updatedAt: string | null
  problem: string | null
}

/** Whether a process on this host is alive (EPERM: alive but not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A `running` checkpoint whose process died (SIGKILL, power loss) is really interrupted. */
export function effectiveStatus(checkpoint: Checkpoint): RunStatus {
  if (
    (checkpoint.status === 'running' || checkpoint.status === 'aborting') &&
    checkpoint.host === os.hostname() &&
    !pidAlive(checkpoint.pid)
  ) {
    return 'interrupted'
  }
  return checkpoint.status
}

/** Every run in the state dir, newest first. Unreadable checkpoints are listed, not fatal. */
export async function listRuns(stateDir: string, lookupSteps: (name: string) => number | null = () => null): Promise<RunSummary[]> {
  let names: string[]
  try {
    names = await fs.readdir(runsDir(stateDir))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new KreorgError('state-dir', `cannot read ${runsDir(stateDir)}: ${describeCause(error)}`, {cause: error})
  }
  const summaries: RunSummary[] = []
  for (const name of names) {
    if (!name.endsWith('.json') || name.startsWith('.')) continue
    const runId = name.slice(0, -'.json'.length)
    try {
      const {checkpoint} = await loadCheckpoint(stateDir, runId)
      summaries.push({
        runId,
        runbook: checkpoint.runbook.name,
        topic: checkpoint.lockKey,
        description: checkpoint.description,
        status: effectiveStatus(checkpoint),
        recordedStatus: checkpoint.status,
        currentStep: checkpoint.currentStep,
        stepsDone: checkpoint.steps.length,
        stepsTotal: lookupSteps(checkpoint.runbook.name),
        startedAt: checkpoint.createdAt,
        updatedAt: checkpoint.updatedAt,
        problem: null,
      })
    } catch (error) {
      summaries.push(unreadableSummary(runId, describeCause(error)))
    }
  }
  // Run ids start with a UTC timestamp, so newest-first is a reverse sort (ties: updatedAt).
  return summaries.sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0))
}

/** The newest run in the state dir (optionally only those a predicate accepts). */
export async function latestRunId(stateDir: string, accept: (summary: RunSummary) => boolean = () => true): Promise<string> {
  const run_ = (await listRuns(stateDir)).find(accept)
  const newest = run_
  if (!newest) {
    throw new KreorgError('usage', `no matching runs in ${stateDir}`, {
      suggestions: ['list runs with `kreorg runs`', 'pass --state-dir (or KREORG_STATE_DIR) if the run used another state dir'],
    })
  }
  return newest.runId
}

export function hostName(): string {
  return os.hostname()
}

/** The `runs` row for a checkpoint that cannot be read: it is listed, never hidden, with the reason. */
export function unreadableSummary(runId: string, problem: string): RunSummary {
  return {
    runId,
    runbook: null,
    topic: null,
    description: null,
    status: 'unreadable',
    recordedStatus: null,
    currentStep: null,
    stepsDone: 0,
    stepsTotal: null,
    startedAt: null,
    updatedAt: null,
    problem,
  }
}

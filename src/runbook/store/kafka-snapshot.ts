import type {ConnectionOptions} from '../../kafka/types.js'
import type {StoredRunSummary} from './types.js'

import {decode} from '../../control/codec.js'
import {CONTROL_TOPIC_CONFIG, DEFAULT_CONTROL_TOPIC} from '../../control/schema.js'
import {ControlState} from '../../control/state.js'
import {describeCause, KreorgError} from '../../core/errors.js'
import {createKafkaClient} from '../../kafka/client.js'
import {ControlLog, type RawControlRecord} from '../../kafka/control-log.js'
import {type Checkpoint, effectiveStatus, hostName, type RunStatus, type RunSummary, unreadableSummary} from '../checkpoint.js'
import {parseRunRecord, type RemoteRun, RUN_KEY_PREFIX} from './kafka-records.js'

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
  static async read(
    connection: ConnectionOptions,
    topic: string = DEFAULT_CONTROL_TOPIC,
    options: {timeoutMs?: number} = {},
  ): Promise<KafkaRunSnapshot> {
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

  /**
   * The valid lease on a run's topic (as of the read), if any. A multi-topic grow's lock key joins its
   * topics with "+" (never part of a topic name) and holds every one's lease: the first tells.
   */
  leaseHolder(lockKey: string): {runId: string; host: string; pid: number; expiresAt: number} | undefined {
    return this.control.holderAt(lockKey.split('+')[0]!, Date.now())
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

/**
 * Local and Kafka runs in one list: deduplicated by run id (the copy updated last wins; `source`
 * says where the run was found), newest first.
 */
export function mergeRuns(
  local: RunSummary[],
  snapshot: KafkaRunSnapshot,
  lookupSteps: (name: string) => number | null,
): StoredRunSummary[] {
  const merged = new Map<string, StoredRunSummary>()
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

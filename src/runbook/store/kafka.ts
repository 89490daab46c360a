import {promises as fs} from 'node:fs'

import type {ConnectionOptions} from '../../kafka/types.js'
import type {HeldLock} from '../lock.js'
import type {RecordedEnvironment} from '../types.js'
import type {CheckoutOutcome, ConnectionFor, RunStore, StoredRun, StoredRunSummary} from './types.js'

import {describeCause, KreorgError} from '../../core/errors.js'
import {type Checkpoint, checkpointPath, hostName, loadCheckpoint, parseCheckpoint, writeCheckpoint} from '../checkpoint.js'
import {KafkaCheckpointMirror} from './kafka-mirror.js'
import {kafkaLocation} from './kafka-records.js'
import {KafkaRunSnapshot, mergeRuns} from './kafka-snapshot.js'
import {LocalRunStore} from './local.js'

/**
 * `--state kafka`: the local files stay the engine's working copy, and every write is mirrored to the
 * control topic, the copy other machines can reach. Reads fold the topic once per store (one command).
 */
export class KafkaRunStore implements RunStore {
  readonly mode = 'kafka'
  private readonly local: LocalRunStore
  private readonly mirror: KafkaCheckpointMirror
  private snapshotRead: KafkaRunSnapshot | undefined
  private mirrorFailing = false

  constructor(
    readonly stateDir: string,
    readonly topic: string,
    private readonly connectionFor: ConnectionFor,
  ) {
    this.local = new LocalRunStore(stateDir)
    this.mirror = new KafkaCheckpointMirror(topic)
  }

  get where(): string {
    return `${this.stateDir} or control topic ${this.topic}`
  }

  /**
   * How to reach the cluster that holds the shared state: the command's connection, else the brokers
   * a local copy of the run recorded.
   */
  private async stateConnection(runId: string | undefined): Promise<ConnectionOptions> {
    try {
      return this.connectionFor({})
    } catch (error) {
      const local = runId ? await loadCheckpoint(this.stateDir, runId).catch(() => {}) : undefined
      if (!local) throw error
      return this.connectionFor(local.checkpoint.environment as RecordedEnvironment)
    }
  }

  private async snapshot(runId?: string): Promise<KafkaRunSnapshot> {
    this.snapshotRead ??= await KafkaRunSnapshot.read(await this.stateConnection(runId), this.topic)
    return this.snapshotRead
  }

  async list(stepsOf: (runbook: string) => number | null = () => null): Promise<StoredRunSummary[]> {
    const local = await this.local.list(stepsOf)
    return mergeRuns(local, await this.snapshot(), stepsOf)
  }

  async latest(accept: (run: StoredRunSummary) => boolean = () => true): Promise<string> {
    const snapshot = await this.snapshot()
    const newest = mergeRuns(await this.local.list(), snapshot, () => null).find(accept)
    if (!newest) {
      throw new KreorgError('usage', `no matching runs in ${this.where}`, {suggestions: ['list runs with `kreorg runs --state kafka`']})
    }
    return newest.runId
  }

  /** The newer of the local and the Kafka copy; a damaged local file is an answer in itself. */
  async read(runId: string): Promise<StoredRun> {
    const snapshot = await this.snapshot(runId)
    const local = await loadCheckpoint(this.stateDir, runId).catch((error: unknown) => {
      // Only a missing local file falls through to Kafka.
      if (error instanceof KreorgError && error.code === 'usage') return
      throw error
    })
    const remote = snapshot.get(runId)
    const remoteCheckpoint = remote && 'checkpoint' in remote ? remote.checkpoint : undefined
    if (!local && !remoteCheckpoint) {
      throw new KreorgError('usage', remote && 'problem' in remote ? remote.problem : `no run "${runId}" in ${this.where}`, {
        suggestions: ['list runs with `kreorg runs --state kafka`'],
      })
    }
    const useRemote = remoteCheckpoint !== undefined && (!local || remoteCheckpoint.updatedAt > local.checkpoint.updatedAt)
    const checkpoint = useRemote ? remoteCheckpoint : local!.checkpoint
    return {checkpoint, location: useRemote ? kafkaLocation(this.topic, runId) : local!.file, status: snapshot.effectiveStatus(checkpoint)}
  }

  /**
   * Makes the local state dir hold the newest copy of a run. A damaged local file is never
   * overwritten (the engine refuses it, naming the file). A run whose checkpoint says it is running on
   * another host is refused while that host's lease on the topic is valid: two machines must never
   * drive one run.
   */
  async checkout(runId: string): Promise<CheckoutOutcome> {
    const snapshot = await this.snapshot(runId)
    const local = await readLocal(this.stateDir, runId)
    const remote = snapshot.get(runId)
    if (local.problem !== null) return {from: 'local', file: local.file, checkpoint: null}
    if (!remote) {
      if (local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
      throw new KreorgError('usage', `no run "${runId}" in ${this.stateDir} or in control topic ${this.topic}`, {
        suggestions: ['list runs with `kreorg runs --state kafka`', 'pass --state-topic if the run mirrored its state to another topic'],
      })
    }
    if (!('checkpoint' in remote)) {
      if (local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
      throw new KreorgError('checkpoint', `run ${runId} in control topic ${this.topic} is unreadable: ${remote.problem}`, {
        suggestions: ['kreorg never resumes from a damaged checkpoint; start a new run'],
      })
    }
    const newest = local.checkpoint && local.checkpoint.updatedAt >= remote.checkpoint.updatedAt ? local.checkpoint : remote.checkpoint
    const live = newest.status === 'running' || newest.status === 'aborting'
    if (live && newest.host !== hostName()) {
      const holder = snapshot.leaseHolder(newest.lockKey)
      if (holder && holder.runId === runId) {
        const until = new Date(holder.expiresAt).toISOString()
        throw new KreorgError(
          'lease-held',
          `run ${runId} is live on ${holder.host} (pid ${holder.pid}): it holds the lease on ${newest.lockKey} until ${until}`,
          {
            suggestions: [
              `stop it there, or if that host is gone, wait until ${until} (the lease lapses and its producers resume by themselves), then resume`,
            ],
          },
        )
      }
    }
    if (newest === local.checkpoint) return {from: 'local', file: local.file, checkpoint: local.checkpoint}
    const file = await writeCheckpoint(this.stateDir, remote.checkpoint)
    return {from: 'kafka', file, checkpoint: remote.checkpoint}
  }

  load(runId: string): Promise<{file: string; checkpoint: Checkpoint}> {
    return this.local.load(runId)
  }

  async write(checkpoint: Checkpoint, warn: (message: string) => void): Promise<string> {
    const file = await this.local.write(checkpoint)
    try {
      // The run's own connection: after setup the checkpoint records the brokers it really uses.
      await this.mirror.write(checkpoint, () => this.connectionFor(checkpoint.environment as RecordedEnvironment))
      if (this.mirrorFailing) warn(`run state is mirrored to ${this.topic} again`)
      this.mirrorFailing = false
    } catch (error) {
      // Warn once per streak: the run goes on with the local checkpoint, which `resume` on this host can use.
      if (!this.mirrorFailing) warn(`could not mirror the checkpoint to ${this.topic} (${describeCause(error)}); only ${file} is current`)
      this.mirrorFailing = true
    }
    return file
  }

  lock(key: string, runId: string, warn: (message: string) => void): Promise<HeldLock> {
    return this.local.lock(key, runId, warn)
  }

  async close(): Promise<void> {
    await this.mirror.close()
  }
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

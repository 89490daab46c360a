import type {CheckoutOutcome, RunStore, StoredRun, StoredRunSummary} from './types.js'

import {type Checkpoint, effectiveStatus, latestRunId, listRuns, loadCheckpoint, writeCheckpoint} from '../checkpoint.js'
import {acquireLock, type HeldLock} from '../lock.js'

/** Runs as files in the state dir (`runs/<run-id>.json`, `locks/<key>.lock`): `--state local`. */
export class LocalRunStore implements RunStore {
  readonly mode = 'local'

  constructor(readonly stateDir: string) {}

  get where(): string {
    return this.stateDir
  }

  list(stepsOf?: (runbook: string) => number | null): Promise<StoredRunSummary[]> {
    return listRuns(this.stateDir, stepsOf)
  }

  latest(accept?: (run: StoredRunSummary) => boolean): Promise<string> {
    return latestRunId(this.stateDir, accept)
  }

  async read(runId: string): Promise<StoredRun> {
    const {file, checkpoint} = await loadCheckpoint(this.stateDir, runId)
    return {checkpoint, location: file, status: effectiveStatus(checkpoint)}
  }

  async checkout(): Promise<CheckoutOutcome | null> {
    return null
  }

  load(runId: string): Promise<{file: string; checkpoint: Checkpoint}> {
    return loadCheckpoint(this.stateDir, runId)
  }

  write(checkpoint: Checkpoint): Promise<string> {
    return writeCheckpoint(this.stateDir, checkpoint)
  }

  lock(key: string, runId: string, warn: (message: string) => void): Promise<HeldLock> {
    return acquireLock(this.stateDir, key, runId, warn)
  }

  async close(): Promise<void> {}
}

import type {ConnectWriterFacts} from './writers.js'

/**
 * What grow records about Kafka Connect in its checkpoint (step results), so `kreorg resume` and
 * `kreorg abort` act on exactly the connectors this run paused. Worker URLs never carry userinfo.
 */

export interface ConnectorRef {
  /** The worker's URL without userinfo. */
  worker: string
  name: string
}

/** pin-producers' `connect`: the connectors paused from here until resume-producers. */
export interface ConnectPauseRecord {
  /** Connectors this run paused: resumed by resume-producers, or by the undo before add-partitions. */
  paused: Array<ConnectorRef & {tasks: number[]}>
  /** Connectors that were PAUSED before the run: left paused; their tasks are restarted at resume-producers. */
  alreadyPaused: ConnectorRef[]
  /** When every connector (and task) was confirmed PAUSED. */
  pausedAt: number
  /** From the pause request to the confirmation. */
  pauseMs: number
  /** High watermarks and producer sequences right after the confirmation: the writer inventory's evidence. */
  facts: ConnectWriterFacts
}

/** resume-producers' `connect`. */
export interface ConnectResumeRecord {
  /** Tasks restarted while PAUSED (new producers, fresh metadata) before the resume. */
  restarted: Array<ConnectorRef & {tasks: number[]}>
  /** Connectors resumed and confirmed RUNNING. */
  resumed: ConnectorRef[]
  resumedAt: number
  /** From pin-producers' pause to the resume: how long Connect did not write. */
  blackoutMs: number
}

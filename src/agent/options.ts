/** The agent's options, their defaults and the small runtime facts every part of the agent shares. */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import type {KafkaClient, ProducerConfig} from '../kafka/client.js'

export interface AgentLogger {
  warn(message: string): void
  info?(message: string): void
  debug?(message: string): void
}

export interface ProducerAgentOptions {
  /** The application's kafkajs client (`new Kafka({...})`). */
  kafka: KafkaClient
  /** kafkajs producer config. `createPartitioner` defaults to the Java-compatible murmur2 DefaultPartitioner. */
  producer?: ProducerConfig
  /** Topics this producer writes and kreorg may pause. */
  topics: string[]
  controlTopic?: string
  /** Stable id for this producer instance; default `<host>-<pid>-<random>`. */
  agentId?: string
  /** Shown by `kreorg producers`. */
  clientId?: string
  /** Shared HMAC secret (e.g. from KREORG_CONTROL_SECRET): unsigned or badly signed commands are ignored. */
  secret?: string
  heartbeatMs?: number
  /** Records held in order while paused before a warning that callers are being held back. */
  bufferLimit?: number
  /**
   * Records held at most while paused (default 100000; a send of n messages counts n). A send that
   * would exceed it rejects at once with `HeldSendsFullError` instead of growing memory without bound.
   */
  maxHeldSends?: number
  /**
   * Deadline for a send held by a pause (default: none). Past it the send rejects with
   * `SendDeadlineError` and its records are never sent; sends held after it keep their order. Once
   * handed to the producer, kafkajs's own timeouts apply. `send(record, {timeoutMs})` overrides it.
   */
  sendTimeoutMs?: number
  /** How long a refresh/resume keeps re-reading metadata until the producer sees the target partition count. */
  refreshTimeoutMs?: number
  /** Name reported for the partitioner (default: murmur2 / legacy for kafkajs's own, custom otherwise). */
  partitionerName?: string
  /** Create the control topic if missing (1 partition, compacted). Default true. The heartbeat topic is created whenever missing. */
  createControlTopic?: boolean
  logger?: AgentLogger
}

export const DEFAULT_HEARTBEAT_MS = 5000
export const DEFAULT_BUFFER_LIMIT = 10_000
export const DEFAULT_MAX_HELD_SENDS = 100_000
export const DEFAULT_REFRESH_TIMEOUT_MS = 30_000
/** How long a pause ack waits for the markers of this agent's ended transactions. */
export const TRANSACTION_MARKER_TIMEOUT_MS = 10_000

export const consoleLogger: AgentLogger = {warn: (message) => console.warn(`[kreorg-agent] ${message}`)}

/**
 * Where the agent is in its life. Shared by its parts: nothing opens before the control topic was
 * read (`ready`), and nothing acts once `close()` began draining (`closed`).
 */
export class AgentLifecycle {
  ready = false
  closed = false
}

export function packageVersion(): string {
  const here = path.dirname(fileURLToPath(import.meta.url))
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(here, candidate), 'utf8')) as {name?: string; version?: string}
      if (pkg.name === 'kreorg' && pkg.version) return pkg.version
    } catch {
      // try the next layout (src/ under ts, dist/src/ when built)
    }
  }
  return '0.0.0'
}

export function defaultAgentId(): string {
  const host = hostname()
    .replaceAll(/[^a-zA-Z0-9._-]/g, '_')
    .slice(0, 100)
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.())

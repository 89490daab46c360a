import {describeCause, isKreorgError, KreorgError} from '../core/errors.js'
import {retry} from '../core/retry.js'
import {basicAuthorization, type ConnectEndpoint} from './urls.js'

/**
 * A small client for the Kafka Connect REST API (the endpoints grow needs, nothing else), on Node's
 * global fetch. Every request has its own timeout; connection failures, timeouts, 409 (a rebalance or
 * a stale config in a distributed cluster) and 5xx are retried a few times through src/core/retry.ts.
 * Failures are KreorgErrors with the exit codes of src/core/errors.ts:
 * - cannot reach the worker, or no answer in time: `connect` (exit 2, like unreachable brokers);
 * - 401/403: `auth` (exit 2);
 * - anything else (an HTTP error after the retries, a body that is not what Connect sends): `precondition` (exit 3).
 * Messages name the URL without userinfo and never a connector's config (it may hold secrets).
 */

export type ConnectorState = 'RUNNING' | 'PAUSED' | 'STOPPED' | 'FAILED' | 'UNASSIGNED' | 'RESTARTING' | (string & {})

export interface TaskStatus {
  id: number
  state: ConnectorState
  workerId?: string
  /** First line of the task's stack trace when it FAILED. */
  trace?: string
}

export interface ConnectorStatus {
  name: string
  state: ConnectorState
  tasks: TaskStatus[]
  /** source, sink or unknown (a plugin the worker cannot load). */
  type: string
}

export interface ConnectorListing {
  name: string
  type: string
  /** The connector's config: read to match topics only, never stored or printed (it may hold secrets). */
  config: Record<string, string>
  status: ConnectorStatus
}

export interface ServerInfo {
  version: string
  commit?: string
  kafkaClusterId?: string
}

export interface RestClientOptions {
  /** Per request (default 10 s). */
  timeoutMs?: number
  /** Attempts per request, the first included (default 3). */
  attempts?: number
  retryDelayMs?: number
  signal?: AbortSignal
  /** For tests. */
  fetch?: typeof fetch
}

const DEFAULT_TIMEOUT_MS = 10_000

/** Why a request failed before any HTTP answer, worth another attempt. */
class Unreachable extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
  ) {
    super(message)
  }
}

/** An HTTP answer that is not a success. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function retriable(error: unknown): boolean {
  if (error instanceof Unreachable) return true
  return error instanceof HttpFailure && (error.status === 409 || error.status >= 500)
}

/** "connection refused", "host not found", …: the cause of undici's "fetch failed". */
function networkCause(error: unknown): string {
  const cause = (error as {cause?: {code?: string; message?: string}}).cause
  switch (cause?.code) {
    case 'ECONNREFUSED': {
      return 'connection refused'
    }
    case 'ENOTFOUND':
    case 'EAI_AGAIN': {
      return 'host not found'
    }
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET': {
      return 'connection reset'
    }
    case 'EHOSTUNREACH':
    case 'ENETUNREACH': {
      return 'host unreachable'
    }
    default: {
      return cause?.message ?? describeCause(error)
    }
  }
}

function parseStatus(name: string, raw: unknown): ConnectorStatus {
  const body = raw as {connector?: {state?: unknown}; tasks?: unknown; type?: unknown; name?: unknown}
  if (!body || typeof body !== 'object' || typeof body.connector?.state !== 'string' || !Array.isArray(body.tasks)) {
    throw new Error(`unexpected status of connector ${name}`)
  }
  const tasks = (body.tasks as Array<{id?: unknown; state?: unknown; worker_id?: unknown; trace?: unknown}>).map((t) => {
    if (typeof t.id !== 'number' || typeof t.state !== 'string') throw new Error(`unexpected task status of connector ${name}`)
    const task: TaskStatus = {id: t.id, state: t.state}
    if (typeof t.worker_id === 'string') task.workerId = t.worker_id
    if (typeof t.trace === 'string' && t.trace !== '') task.trace = t.trace.split('\n')[0]!.slice(0, 300)
    return task
  })
  return {
    name: typeof body.name === 'string' ? body.name : name,
    state: body.connector.state,
    tasks: tasks.sort((a, b) => a.id - b.id),
    type: typeof body.type === 'string' ? body.type : 'unknown',
  }
}

function stringConfig(raw: unknown): Record<string, string> {
  const config: Record<string, string> = {}
  if (raw && typeof raw === 'object') for (const [key, value] of Object.entries(raw)) if (typeof value === 'string') config[key] = value
  return config
}

export class ConnectRestClient {
  readonly url: string
  private readonly authorization: string | undefined
  private readonly timeoutMs: number
  private readonly attempts: number
  private readonly retryDelayMs: number
  private readonly fetchImpl: typeof fetch

  constructor(
    endpoint: ConnectEndpoint,
    private readonly options: RestClientOptions = {},
  ) {
    this.url = endpoint.url
    this.authorization = basicAuthorization(endpoint)
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.attempts = options.attempts ?? 3
    this.retryDelayMs = options.retryDelayMs ?? 1000
    this.fetchImpl = options.fetch ?? fetch
  }

  /** One request with its own timeout; the run's signal aborts it too. */
  private async once(method: string, path: string): Promise<{status: number; body: unknown}> {
    const controller = new AbortController()
    const outer = this.options.signal
    const onAbort = () => controller.abort(outer?.reason)
    outer?.addEventListener('abort', onAbort, {once: true})
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, this.timeoutMs)
    try {
      const headers: Record<string, string> = {accept: 'application/json'}
      if (this.authorization) headers.authorization = this.authorization
      if (method !== 'GET') headers['content-type'] = 'application/json'
      let response: Response
      try {
        response = await this.fetchImpl(`${this.url}${path}`, {method, headers, signal: controller.signal, redirect: 'error'})
      } catch (error) {
        outer?.throwIfAborted()
        if (timedOut) throw new Unreachable(`no answer within ${Math.round(this.timeoutMs / 100) / 10}s`, true)
        throw new Unreachable(networkCause(error), false)
      }
      let text: string
      try {
        text = await response.text()
      } catch (error) {
        outer?.throwIfAborted()
        if (timedOut) throw new Unreachable(`no complete answer within ${Math.round(this.timeoutMs / 100) / 10}s`, true)
        throw new Unreachable(networkCause(error), false)
      }
      let body: unknown
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text)
        } catch {
          body = text
        }
      }
      if (response.status >= 400) {
        const message = (body as {message?: unknown} | undefined)?.message
        throw new HttpFailure(
          response.status,
          `HTTP ${response.status}${typeof message === 'string' ? `: ${message.split('\n')[0]!.slice(0, 300)}` : ''}`,
        )
      }
      return {status: response.status, body}
    } finally {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onAbort)
    }
  }

  /** A request with retries; `notFound` lets a caller take 404 as an answer. */
  private async request(method: string, path: string, options: {notFound?: boolean} = {}): Promise<{status: number; body: unknown}> {
    try {
      return await retry(
        async () => {
          try {
            return await this.once(method, path)
          } catch (error) {
            if (options.notFound && error instanceof HttpFailure && error.status === 404) return {status: 404, body: undefined}
            throw error
          }
        },
        {
          attempts: this.attempts,
          delayMs: this.retryDelayMs,
          retryIf: retriable,
          ...(this.options.signal ? {signal: this.options.signal} : {}),
        },
      )
    } catch (error) {
      throw this.typed(error, method, path)
    }
  }

  private typed(error: unknown, method: string, path: string): unknown {
    if (isKreorgError(error)) return error
    if (error instanceof Unreachable) {
      return new KreorgError('connect', `cannot reach Kafka Connect at ${this.url}: ${error.message}`, {
        suggestions: ['check the Connect URL (--connect-url, KREORG_CONNECT_URLS or connectUrls in the profile) and that the worker is up'],
        cause: error,
      })
    }
    if (error instanceof HttpFailure && (error.status === 401 || error.status === 403)) {
      return new KreorgError(
        'auth',
        `Kafka Connect at ${this.url} refused ${this.authorization ? "kreorg's credentials" : 'a request without credentials'} (HTTP ${error.status})`,
        {suggestions: [`give user:password@ for ${this.url} in KREORG_CONNECT_URLS`]},
      )
    }
    if (error instanceof HttpFailure) {
      return new KreorgError('precondition', `Kafka Connect at ${this.url} answered ${method} ${path} with ${error.message}`, {
        cause: error,
      })
    }
    if (error instanceof Error && error.name === 'AbortError') return error
    return new KreorgError('precondition', `Kafka Connect at ${this.url}: ${describeCause(error)} (${method} ${path})`, {cause: error})
  }

  private path(name: string, rest = ''): string {
    return `/connectors/${encodeURIComponent(name)}${rest}`
  }

  /** `GET /`: the worker's version and the Kafka cluster it works with. */
  async serverInfo(): Promise<ServerInfo> {
    const {body} = await this.request('GET', '/')
    const info = body as {version?: unknown; commit?: unknown; kafka_cluster_id?: unknown}
    if (!info || typeof info !== 'object' || typeof info.version !== 'string') {
      throw new KreorgError('precondition', `${this.url} does not answer like a Kafka Connect worker (GET / has no version)`)
    }
    const server: ServerInfo = {version: info.version}
    if (typeof info.commit === 'string') server.commit = info.commit
    if (typeof info.kafka_cluster_id === 'string') server.kafkaClusterId = info.kafka_cluster_id
    return server
  }

  /**
   * Every connector with its type, config and status: `GET /connectors?expand=info&expand=status`
   * (Connect 2.3+), else one request per connector.
   */
  async listConnectors(): Promise<ConnectorListing[]> {
    const {body} = await this.request('GET', '/connectors?expand=info&expand=status')
    if (Array.isArray(body)) {
      // A worker without `expand` lists names only.
      const names = body.filter((n): n is string => typeof n === 'string')
      return Promise.all(
        names.map(async (name) => {
          const [info, status] = await Promise.all([this.request('GET', this.path(name)), this.status(name)])
          const described = info.body as {type?: unknown; config?: unknown}
          return {
            name,
            type: typeof described?.type === 'string' ? described.type : status.type,
            config: stringConfig(described?.config),
            status,
          }
        }),
      )
    }
    if (!body || typeof body !== 'object')
      throw new KreorgError('precondition', `Kafka Connect at ${this.url}: GET /connectors gave no connector list`)
    return Object.entries(body as Record<string, {info?: {type?: unknown; config?: unknown}; status?: unknown}>).map(([name, entry]) => {
      let status: ConnectorStatus
      try {
        status = parseStatus(name, entry.status)
      } catch (error) {
        throw new KreorgError('precondition', `Kafka Connect at ${this.url}: ${describeCause(error)}`)
      }
      const type = typeof entry.info?.type === 'string' ? entry.info.type : status.type
      return {name, type, config: stringConfig(entry.info?.config), status}
    })
  }

  /**
   * The topics a connector wrote to since its topics were last reset (KIP-558, Connect 2.5+), or
   * undefined when the worker does not track them (older worker, `topic.tracking.enable=false`).
   */
  async activeTopics(name: string): Promise<string[] | undefined> {
    let answer: {status: number; body: unknown}
    try {
      answer = await this.request('GET', this.path(name, '/topics'), {notFound: true})
    } catch (error) {
      // Topic tracking switched off answers 400/403-like errors on this endpoint only.
      if (isKreorgError(error) && error.code === 'precondition') return undefined
      throw error
    }
    if (answer.status === 404) return undefined
    const topics = (answer.body as Record<string, {topics?: unknown}> | undefined)?.[name]?.topics
    return Array.isArray(topics) ? topics.filter((t): t is string => typeof t === 'string') : undefined
  }

  async status(name: string): Promise<ConnectorStatus> {
    const status = await this.statusIfExists(name)
    if (!status) throw new KreorgError('precondition', `connector ${name} does not exist on Kafka Connect at ${this.url}`)
    return status
  }

  /** The connector's status, or undefined when it does not exist (deleted meanwhile). */
  async statusIfExists(name: string): Promise<ConnectorStatus | undefined> {
    const answer = await this.request('GET', this.path(name, '/status'), {notFound: true})
    if (answer.status === 404) return undefined
    try {
      return parseStatus(name, answer.body)
    } catch (error) {
      throw new KreorgError('precondition', `Kafka Connect at ${this.url}: ${describeCause(error)}`)
    }
  }

  /** `PUT /connectors/{name}/pause`: asynchronous; the status says when the connector and its tasks are PAUSED. */
  async pause(name: string): Promise<void> {
    await this.request('PUT', this.path(name, '/pause'))
  }

  /** `PUT /connectors/{name}/resume`: asynchronous; the status says when they are RUNNING. */
  async resume(name: string): Promise<void> {
    await this.request('PUT', this.path(name, '/resume'))
  }

  /**
   * `POST /connectors/{name}/tasks/{id}/restart`: the worker answers once the task was stopped (its
   * producer closed) and started again in the connector's target state — PAUSED stays PAUSED, with a
   * new producer that has not fetched the topic's metadata yet.
   */
  async restartTask(name: string, task: number): Promise<void> {
    await this.request('POST', this.path(name, `/tasks/${task}/restart`))
  }
}

import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'

/**
 * A tiny Kafka Connect REST API on node:http for unit tests of the client's logic (parsing, retries,
 * errors, auth) and of grow's Connect glue. The proof that kreorg works with real Connect is
 * test/integration/connect.test.ts, against Apache's worker; this fake only answers like one.
 */

export interface FakeConnector {
  name: string
  type: 'sink' | 'source' | 'unknown'
  config: Record<string, string>
  state: string
  tasks: Array<{id: number; state: string}>
  /** Active topics (KIP-558); undefined answers 404 like an old worker. */
  topics?: string[]
  /** A task stuck in poll(): the connector goes PAUSED on a pause, its tasks never do. */
  stuck?: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  authorization: string | undefined
}

export class FakeConnect {
  readonly connectors = new Map<string, FakeConnector>()
  readonly requests: RecordedRequest[] = []
  /** Answers these statuses, in order, before answering normally (e.g. [409, 409]). */
  failNext: number[] = []
  /** Never answer (the client's timeout). */
  hang = false
  /** Demand this Authorization header (401 otherwise). */
  requireAuthorization: string | undefined
  /** Old workers list names only (no `expand`). */
  noExpand = false
  private server: Server | undefined
  url = ''

  add(connector: Partial<FakeConnector> & {name: string}): FakeConnector {
    const full: FakeConnector = {type: 'source', config: {}, state: 'RUNNING', tasks: [{id: 0, state: 'RUNNING'}], ...connector}
    this.connectors.set(full.name, full)
    return full
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => this.handle(request, response))
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const {port} = this.server.address() as {port: number}
    this.url = `http://127.0.0.1:${port}`
    return this.url
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  count(method: string, path: string): number {
    return this.requests.filter((r) => r.method === method && r.path === path).length
  }

  private status(c: FakeConnector): unknown {
    return {
      name: c.name,
      connector: {state: c.state, worker_id: 'fake:8083'},
      tasks: c.tasks.map((t) => ({...t, worker_id: 'fake:8083'})),
      type: c.type,
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const path = request.url ?? '/'
    this.requests.push({method: request.method ?? 'GET', path, authorization: request.headers.authorization})
    if (this.hang) return
    const send = (status: number, body?: unknown) => {
      response.writeHead(status, {'content-type': 'application/json'})
      response.end(body === undefined ? '' : JSON.stringify(body))
    }
    const failure = this.failNext.shift()
    if (failure !== undefined) return send(failure, {error_code: failure, message: `fake failure ${failure}`})
    if (this.requireAuthorization !== undefined && request.headers.authorization !== this.requireAuthorization) {
      return send(401, {error_code: 401, message: 'User cannot access the resource.'})
    }
    if (path === '/') return send(200, {version: '4.3.1', commit: 'fake', kafka_cluster_id: 'fake-cluster'})
    if (path === '/connectors?expand=info&expand=status') {
      if (this.noExpand) return send(200, [...this.connectors.keys()])
      return send(
        200,
        Object.fromEntries(
          [...this.connectors.values()].map((c) => [
            c.name,
            {
              info: {name: c.name, config: c.config, tasks: c.tasks.map((t) => ({connector: c.name, task: t.id})), type: c.type},
              status: this.status(c),
            },
          ]),
        ),
      )
    }
    const match = /^\/connectors\/([^/?]+)(\/[^?]*)?$/.exec(path)
    const connector = match ? this.connectors.get(decodeURIComponent(match[1]!)) : undefined
    if (!match || !connector) return send(404, {error_code: 404, message: 'not found'})
    const rest = match[2] ?? ''
    const method = request.method
    if (method === 'GET' && rest === '') return send(200, {name: connector.name, config: connector.config, tasks: [], type: connector.type})
    if (method === 'GET' && rest === '/status') return send(200, this.status(connector))
    if (method === 'GET' && rest === '/topics') {
      return connector.topics
        ? send(200, {[connector.name]: {topics: connector.topics}})
        : send(404, {error_code: 404, message: 'HTTP 404 Not Found'})
    }
    if (method === 'PUT' && rest === '/pause') {
      connector.state = 'PAUSED'
      if (!connector.stuck) for (const t of connector.tasks) if (t.state !== 'FAILED') t.state = 'PAUSED'
      return send(202)
    }
    if (method === 'PUT' && rest === '/resume') {
      connector.state = 'RUNNING'
      for (const t of connector.tasks) if (t.state !== 'FAILED') t.state = 'RUNNING'
      return send(202)
    }
    const restart = /^\/tasks\/(\d+)\/restart$/.exec(rest)
    if (method === 'POST' && restart) return send(204)
    return send(405, {error_code: 405, message: 'method not allowed'})
  }
}

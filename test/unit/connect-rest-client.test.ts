import {createServer} from 'node:net'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {ConnectRestClient} from '../../src/connect/rest-client.js'
import {connectEndpoints} from '../../src/connect/urls.js'
import {KreorgError} from '../../src/core/errors.js'
import {clearRegisteredSecrets, maskSecrets} from '../../src/core/redact.js'
import {FakeConnect} from '../fakes/fake-connect.js'

/** The Kafka Connect REST client against a node:http fake: parsing, retries, typed errors, credentials. */

let connect: FakeConnect

beforeEach(async () => {
  connect = new FakeConnect()
  await connect.start()
})

afterEach(async () => {
  await connect.stop()
  clearRegisteredSecrets()
})

function client(options: ConstructorParameters<typeof ConnectRestClient>[1] = {}, url = connect.url): ConnectRestClient {
  return new ConnectRestClient({url}, {retryDelayMs: 10, ...options})
}

async function failure(promise: Promise<unknown>): Promise<KreorgError> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(KreorgError)
    return error as KreorgError
  }
  throw new Error('expected a failure')
}

describe('ConnectRestClient', () => {
  it('lists connectors with type, config and status (expand), and falls back to one request per connector', async () => {
    connect.add({
      name: 'files',
      config: {topic: 'orders'},
      tasks: [
        {id: 1, state: 'RUNNING'},
        {id: 0, state: 'FAILED'},
      ],
    })
    connect.add({name: 'sink', type: 'sink', config: {topics: 'orders'}})
    const expanded = await client().listConnectors()
    expect(expanded.find((c) => c.name === 'files')).toEqual({
      name: 'files',
      type: 'source',
      config: {topic: 'orders'},
      status: {
        name: 'files',
        state: 'RUNNING',
        type: 'source',
        tasks: [
          {id: 0, state: 'FAILED', workerId: 'fake:8083'},
          {id: 1, state: 'RUNNING', workerId: 'fake:8083'},
        ],
      },
    })
    connect.noExpand = true
    const oneByOne = await client().listConnectors()
    expect(oneByOne.map((c) => [c.name, c.type, c.status.tasks.length])).toEqual([
      ['files', 'source', 2],
      ['sink', 'sink', 1],
    ])
    expect(connect.count('GET', '/connectors/files/status')).toBe(1)
  })

  it('active topics: the list, or undefined when the worker does not track them (404)', async () => {
    connect.add({name: 'tracked', topics: ['orders']})
    connect.add({name: 'old'})
    expect(await client().activeTopics('tracked')).toEqual(['orders'])
    expect(await client().activeTopics('old')).toBeUndefined()
  })

  it('retries 409 (a rebalance) and 5xx, then answers; gives up after the attempts with the HTTP message', async () => {
    connect.add({name: 'c'})
    connect.failNext = [409, 503]
    await client().pause('c')
    expect(connect.count('PUT', '/connectors/c/pause')).toBe(3)
    connect.failNext = [500, 500, 500]
    const error = await failure(client().resume('c'))
    expect(error.code).toBe('precondition')
    expect(error.exitCode).toBe(3)
    expect(error.message).toBe(`Kafka Connect at ${connect.url} answered PUT /connectors/c/resume with HTTP 500: fake failure 500`)
  })

  it('does not retry 401: exit 2, and the credentials never show up', async () => {
    connect.add({name: 'c'})
    connect.requireAuthorization = `Basic ${Buffer.from('kreorg:right-password').toString('base64')}`
    const [endpoint] = connectEndpoints([connect.url], {
      KREORG_CONNECT_URLS: connect.url.replace('http://', 'http://kreorg:wrong-password@'),
    })
    const error = await failure(new ConnectRestClient(endpoint!, {retryDelayMs: 10}).status('c'))
    expect(error.code).toBe('auth')
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(`Kafka Connect at ${connect.url} refused kreorg's credentials (HTTP 401)`)
    expect(connect.requests).toHaveLength(1)
    expect(maskSecrets(`${error.message} ${connect.requests[0]!.authorization}`)).not.toContain('wrong-password')
    expect(maskSecrets(connect.requests[0]!.authorization!)).toBe('Basic ********')

    const [right] = connectEndpoints([connect.url], {KREORG_CONNECT_URLS: connect.url.replace('http://', 'http://kreorg:right-password@')})
    expect((await new ConnectRestClient(right!).status('c')).state).toBe('RUNNING')
  })

  it('a worker that is not there: exit 2 naming the URL and "connection refused", after the retries', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    await new Promise<void>((resolve) => server.close(() => resolve()))
    const error = await failure(client({}, `http://127.0.0.1:${port}`).serverInfo())
    expect(error.code).toBe('connect')
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(`cannot reach Kafka Connect at http://127.0.0.1:${port}: connection refused`)
  })

  it('a worker that never answers: each request times out, exit 2', async () => {
    connect.hang = true
    const started = Date.now()
    const error = await failure(client({timeoutMs: 200, attempts: 2}).serverInfo())
    expect(error.code).toBe('connect')
    expect(error.message).toBe(`cannot reach Kafka Connect at ${connect.url}: no answer within 0.2s`)
    expect(connect.count('GET', '/')).toBe(2)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('an aborted run stops a request at once', async () => {
    connect.hang = true
    const controller = new AbortController()
    const pending = client({signal: controller.signal, timeoutMs: 60_000}).serverInfo()
    setTimeout(() => controller.abort(new Error('interrupted')), 50)
    await expect(pending).rejects.toThrow('interrupted')
  })

  it('encodes connector names in paths; restarts a task by id; a deleted connector has no status', async () => {
    connect.add({name: 'db/orders source'})
    await client().restartTask('db/orders source', 3)
    expect(connect.requests.at(-1)).toMatchObject({method: 'POST', path: '/connectors/db%2Forders%20source/tasks/3/restart'})
    expect(await client().statusIfExists('gone')).toBeUndefined()
    const error = await failure(client().status('gone'))
    expect(error.message).toBe(`connector gone does not exist on Kafka Connect at ${connect.url}`)
  })

  it('GET / must look like Connect', async () => {
    const error = await failure(client({}, `${connect.url}/connectors/x`).serverInfo())
    expect(error.code).toBe('precondition')
  })
})

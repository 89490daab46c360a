import {type ChildProcessWithoutNullStreams, spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, promises as fs, readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {cachedKafkaJars, detectJava, javaCommand, KAFKA_VERSION} from '../../src/local-kafka/index.js'
import {REPO_ROOT} from './cli.js'
import {randomName} from './kafka.js'

/**
 * A real Apache Kafka Connect worker (ConnectDistributed from the 4.3.1 jars test/global-setup.ts
 * cached, connect-file included) against the test broker, with its REST API on an ephemeral port of
 * 127.0.0.1. test/fixtures/ConnectFixtures.java (an SMT that keys lines, a connector that never
 * pauses) is compiled with javac once per source version and put on the worker's classpath.
 */

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/ConnectFixtures.java')
// Small heap and C1 only: JVM start-up dominates on a busy 2-core machine.
const JVM_OPTIONS = ['-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']

export const FILE_STREAM_SOURCE = 'org.apache.kafka.connect.file.FileStreamSourceConnector'
export const KEY_FROM_VALUE = 'ConnectFixtures$KeyFromValue'
export const STUCK_SOURCE = 'ConnectFixtures$StuckSource'

/** The jars' lib dir (with connect-file), or why a Connect worker cannot run here (the caller skips and says so). */
export async function connectWorkerSupport(): Promise<{libDir: string} | {skip: string}> {
  if (!detectJava().ok) return {skip: 'no Java 17+ on this machine'}
  const jars = await cachedKafkaJars()
  if (!jars) return {skip: 'no Kafka jars cached: run the suite once without KAFKA_BROKERS (needs Java 17+ and Maven)'}
  if (!existsSync(path.join(jars.libDir, `connect-file-${KAFKA_VERSION}.jar`)))
    return {skip: `connect-file-${KAFKA_VERSION}.jar is not in ${jars.libDir}`}
  const javac = spawnSync(javaCommand().replace(/java$/, 'javac'), ['-version'], {encoding: 'utf8'})
  if (javac.error || javac.status !== 0) return {skip: 'no javac (a JDK, not only a JRE, is needed to compile the Connect test plugins)'}
  return {libDir: jars.libDir}
}

/** Compiles the fixtures into a cache dir keyed by their source (reused across runs). */
async function compiledFixtures(libDir: string): Promise<string> {
  const source = readFileSync(FIXTURES)
  const hash = createHash('sha256').update(source).update(KAFKA_VERSION).digest('hex').slice(0, 16)
  const dir = path.join(os.tmpdir(), `kreorg-connect-fixtures-${hash}`)
  if (existsSync(path.join(dir, '.complete'))) return dir
  const staging = `${dir}.partial-${process.pid}`
  await fs.rm(staging, {recursive: true, force: true})
  await fs.mkdir(path.join(staging, 'META-INF', 'services'), {recursive: true})
  const javac = spawnSync(javaCommand().replace(/java$/, 'javac'), ['-cp', path.join(libDir, '*'), '-d', staging, FIXTURES], {
    encoding: 'utf8',
  })
  if (javac.status !== 0) throw new Error(`javac ConnectFixtures.java failed: ${javac.stderr || javac.error?.message}`)
  await fs.writeFile(path.join(staging, 'META-INF/services/org.apache.kafka.connect.transforms.Transformation'), `${KEY_FROM_VALUE}\n`)
  await fs.writeFile(path.join(staging, 'META-INF/services/org.apache.kafka.connect.source.SourceConnector'), `${STUCK_SOURCE}\n`)
  await fs.writeFile(path.join(staging, '.complete'), '')
  await fs.rename(staging, dir).catch(async (error: unknown) => {
    // Another process finished first: its classes are as good as ours.
    await fs.rm(staging, {recursive: true, force: true})
    if (!existsSync(path.join(dir, '.complete'))) throw error
  })
  return dir
}

export interface ConnectorStatusView {
  name: string
  connector: {state: string}
  tasks: Array<{id: number; state: string}>
}

export interface ConnectWorker {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** The worker's log (stderr), tail. */
  log(): string
  /** `PUT /connectors/{name}/config`, then waits until the connector and its tasks are RUNNING. */
  createConnector(name: string, config: Record<string, string>): Promise<void>
  status(name: string): Promise<ConnectorStatusView>
  deleteConnector(name: string): Promise<void>
  stop(): Promise<void>
}

async function rest(url: string, method: string, body?: unknown): Promise<{status: number; json: unknown}> {
  const response = await fetch(url, {
    method,
    headers: {'content-type': 'application/json', accept: 'application/json'},
    ...(body === undefined ? {} : {body: JSON.stringify(body)}),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await response.text()
  return {status: response.status, json: text ? (JSON.parse(text) as unknown) : undefined}
}

/** Starts a distributed worker (its own group and internal topics) and waits until its herder has joined. */
export async function startConnectWorker(options: {
  brokers: string
  libDir: string
  startTimeoutMs?: number
  /** More worker properties, e.g. `exactly.once.source.support: enabled`. */
  properties?: Record<string, string>
}): Promise<ConnectWorker> {
  const fixtures = await compiledFixtures(options.libDir)
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kreorg-connect-worker-'))
  const group = randomName('kreorg-test-connect')
  const properties = [
    `bootstrap.servers=${options.brokers}`,
    `group.id=${group}`,
    'key.converter=org.apache.kafka.connect.storage.StringConverter',
    'value.converter=org.apache.kafka.connect.storage.StringConverter',
    `config.storage.topic=${group}-configs`,
    `offset.storage.topic=${group}-offsets`,
    `status.storage.topic=${group}-status`,
    'config.storage.replication.factor=1',
    'offset.storage.replication.factor=1',
    'status.storage.replication.factor=1',
    'offset.flush.interval.ms=1000',
    // Port 0: the REST server binds an ephemeral port and logs (and advertises) it.
    'listeners=http://127.0.0.1:0',
    'plugin.discovery=service_load',
    ...Object.entries(options.properties ?? {}).map(([name, value]) => `${name}=${value}`),
  ]
  const file = path.join(dir, 'worker.properties')
  await fs.writeFile(file, `${properties.join('\n')}\n`)
  const classpath = `${fixtures}${path.delimiter}${path.join(options.libDir, '*')}`
  const child: ChildProcessWithoutNullStreams = spawn(
    javaCommand(),
    [...JVM_OPTIONS, '-cp', classpath, 'org.apache.kafka.connect.cli.ConnectDistributed', file],
    {stdio: ['pipe', 'pipe', 'pipe']},
  )
  // A test worker torn down mid-run must not leave a JVM behind.
  const orphanGuard = () => child.kill('SIGKILL')
  process.once('exit', orphanGuard)
  let log = ''
  let exitCode: number | null | undefined
  const collect = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-400_000)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code) => {
      exitCode = code
      process.off('exit', orphanGuard)
      resolve()
    })
  })
  const stop = async () => {
    if (exitCode === undefined) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
    await fs.rm(dir, {recursive: true, force: true})
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000)
  let url: string | undefined
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`the Connect worker exited (${exitCode}) while starting:\n${log.slice(-3000)}`)
      if (Date.now() > deadline) throw new Error(`the Connect worker did not start in time:\n${log.slice(-3000)}`)
      url ??= /REST server listening at (http:\/\/127\.0\.0\.1:\d+)\//.exec(log)?.[1]
      if (url && log.includes('Herder started')) {
        const answer = await rest(`${url}/connectors`, 'GET').catch(() => undefined)
        if (answer?.status === 200) break
      }
      await sleep(250)
    }
  } catch (error) {
    await stop()
    throw error
  }
  const base = url
  const status = async (name: string): Promise<ConnectorStatusView> => {
    const answer = await rest(`${base}/connectors/${encodeURIComponent(name)}/status`, 'GET')
    if (answer.status !== 200) throw new Error(`status of ${name}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`)
    return answer.json as ConnectorStatusView
  }
  return {
    url: base,
    log: () => log,
    status,
    async createConnector(name, config) {
      // A distributed worker may answer 409 while its group rebalances: try again.
      for (let attempt = 1; ; attempt++) {
        const answer = await rest(`${base}/connectors/${encodeURIComponent(name)}/config`, 'PUT', config)
        if (answer.status === 200 || answer.status === 201) break
        if (attempt >= 20) throw new Error(`creating connector ${name}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`)
        await sleep(500)
      }
      for (const deadline = Date.now() + 60_000; ;) {
        const current = await status(name).catch(() => undefined)
        if (current?.connector.state === 'RUNNING' && current.tasks.length > 0 && current.tasks.every((t) => t.state === 'RUNNING')) return
        if (Date.now() > deadline) throw new Error(`connector ${name} did not start: ${JSON.stringify(current)}`)
        await sleep(250)
      }
    },
    async deleteConnector(name) {
      await rest(`${base}/connectors/${encodeURIComponent(name)}`, 'DELETE').catch(() => undefined)
    },
    stop,
  }
}

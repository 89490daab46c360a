/**
 * The demo's producers in other languages: the Java agent (agents/java, kafka-clients) and the Python
 * agent (agents/python, confluent-kafka), each driven through its conformance driver — a small program
 * that wraps a real producer with the agent and takes one `send` request per record on stdin
 * (test/conformance/README.md). Only in a checkout of the repository (the agents' sources are not in
 * the npm package); a missing toolchain means the demo runs a kafkajs agent in its place.
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import path from 'node:path'
import {createInterface} from 'node:readline'

import type {Message} from '../kafka/client.js'

import {KreorgError} from '../core/errors.js'
import {PACKAGE_ROOT} from '../process/run-cli.js'

export type DriverKind = 'java' | 'python'

const REPO = PACKAGE_ROOT
const JAVA_DIR = path.join(REPO, 'agents', 'java')
const JAVA_JAR = path.join(JAVA_DIR, 'target', 'kreorg-agent-driver.jar')
const PYTHON_DIR = path.join(REPO, 'agents', 'python')
const PYTHON = path.join(PYTHON_DIR, '.venv', 'bin', 'python')

/** Builds what the driver needs once (the jar with Maven, the venv with pip); the reason when it cannot. */
function prepare(kind: DriverKind, log: (line: string) => void): string | undefined {
  const dir = kind === 'java' ? JAVA_DIR : PYTHON_DIR
  if (!existsSync(dir)) return `no ${path.relative(REPO, dir)} here (the demo runs from a checkout of the repository)`
  if (kind === 'java') {
    if (existsSync(JAVA_JAR)) return undefined
    log('building the Java agent (mvn package, once)…')
    const built = spawnSync('mvn', ['-q', '-B', '-DskipTests', 'package'], {cwd: JAVA_DIR, encoding: 'utf8', timeout: 10 * 60_000})
    if (built.error || built.status !== 0 || !existsSync(JAVA_JAR))
      return `mvn package of agents/java failed (${built.error?.message ?? built.stderr.slice(-300)})`
    return undefined
  }
  log('preparing the Python agent (a virtual environment, once)…')
  const venv = spawnSync('bash', [path.join(PYTHON_DIR, 'setup-venv.sh')], {encoding: 'utf8', timeout: 10 * 60_000})
  if (venv.error || venv.status !== 0 || !existsSync(PYTHON))
    return `agents/python/setup-venv.sh failed (${venv.error?.message ?? venv.stderr.slice(-300)})`
  return undefined
}

function command(kind: DriverKind): string[] {
  return kind === 'java'
    ? ['java', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xlog:disable', '-cp', JAVA_JAR, 'dev.kreorg.agent.ConformanceDriver']
    : [PYTHON, '-m', 'kreorg_agent.conformance_driver']
}

interface Reply {
  op: string
  id?: number
  message?: string
}

/** A producer agent in another process: `send` resolves once the driver acknowledged every record. */
export class DriverProducer {
  private nextId = 1
  private readonly pending = new Map<number, {resolve: () => void; reject: (error: Error) => void}>()
  private readonly ready: Promise<void>
  private exited = false

  private constructor(
    readonly kind: DriverKind,
    private readonly child: ChildProcess,
  ) {
    let markReady: () => void = () => {}
    let fail: (error: Error) => void = () => {}
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve
      fail = reject
    })
    createInterface({input: child.stdout!}).on('line', (raw) => {
      let line: Reply
      try {
        line = JSON.parse(raw) as Reply
      } catch {
        return
      }
      if (line.op === 'ready') markReady()
      const waiter = line.id === undefined ? undefined : this.pending.get(line.id)
      if (!waiter) return
      this.pending.delete(line.id!)
      if (line.op === 'error') waiter.reject(new Error(`${kind} agent: ${line.message ?? 'send failed'}`))
      else waiter.resolve()
    })
    child.stderr?.resume()
    child.on('exit', (code) => {
      this.exited = true
      const error = new Error(`the ${kind} agent's driver exited (${code})`)
      fail(error)
      for (const waiter of this.pending.values()) waiter.reject(error)
      this.pending.clear()
    })
  }

  /** Starts the agent for `topic`, or returns why it cannot run here. */
  static async start(
    kind: DriverKind,
    options: {brokers: string; topic: string; controlTopic: string; agentId: string; log: (line: string) => void},
  ): Promise<DriverProducer | string> {
    const reason = prepare(kind, options.log)
    if (reason) return reason
    const [program, ...args] = command(kind)
    const child = spawn(program!, args, {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONUNBUFFERED: '1',
        KREORG_BROKERS: options.brokers,
        KREORG_TOPIC: options.topic,
        KREORG_CONTROL_TOPIC: options.controlTopic,
        KREORG_AGENT_ID: options.agentId,
        KREORG_HEARTBEAT_MS: '1000',
      },
    })
    const driver = new DriverProducer(kind, child)
    const timeout = setTimeout(() => child.kill('SIGKILL'), 180_000)
    try {
      await driver.ready
      return driver
    } catch (error) {
      return `the ${kind} agent did not start: ${error instanceof Error ? error.message : String(error)}`
    } finally {
      clearTimeout(timeout)
    }
  }

  /** One `send` request per record, in order; resolves when every one is acknowledged. */
  send(messages: readonly Message[]): Promise<void> {
    if (this.exited) return Promise.reject(new KreorgError('unexpected', `the ${this.kind} agent's driver is not running`))
    return Promise.all(
      messages.map(
        (message) =>
          new Promise<void>((resolve, reject) => {
            const id = this.nextId++
            this.pending.set(id, {resolve, reject})
            const key = message.key === null || message.key === undefined ? null : String(message.key)
            this.child.stdin!.write(`${JSON.stringify({op: 'send', id, key, value: String(message.value)})}\n`)
          }),
      ),
    ).then(() => undefined)
  }

  async close(): Promise<void> {
    if (this.exited) return
    const exit = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.stdin!.write(`${JSON.stringify({op: 'close', id: this.nextId++})}\n`)
    this.child.stdin!.end()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000)
    await exit
    clearTimeout(timer)
  }
}

import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {closeSync, openSync} from 'node:fs'
import {mkdir, mkdtemp, open, rm, stat, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import type {LocalKafka, LocalKafkaNode} from './types.js'

import {javaCommand, KAFKA_VERSION, type KafkaJars} from './jars.js'
import {freePorts} from './ports.js'
import {killGroupSync, spawnWatchdog, trackProcessGroup, untrackProcessGroup, writePidsFile} from './watchdog.js'

const READY_LINE = 'Kafka Server started'

interface NodeState {
  id: number
  port: number
  controllerPort: number
  dir: string
  propertiesFile: string
  logFile: string
  process?: ChildProcess
  exited?: Promise<void>
}

function serverProperties(node: NodeState, all: NodeState[]): string {
  const n = all.length
  const minIsr = n >= 3 ? 2 : 1
  return [
    '# Written by kreorg (src/local-kafka): a throwaway KRaft node for tests and the demo.',
    'process.roles=broker,controller',
    `node.id=${node.id}`,
    `controller.quorum.voters=${all.map((o) => `${o.id}@127.0.0.1:${o.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${path.join(node.dir, 'data')}`,
    'num.partitions=1',
    // Three nodes exist for fault tests: topics default to RF=3 with min.insync=2, so one node can die.
    `default.replication.factor=${n}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${n}`,
    // Fewer internal partitions than the default 50: the first group join is faster on a small machine.
    'offsets.topic.num.partitions=10',
    `transaction.state.log.replication.factor=${n}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${n}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    'group.initial.rebalance.delay.ms=0',
    // Tests must create their topics explicitly: a typo must not silently create one.
    'auto.create.topics.enable=false',
    '',
  ].join('\n')
}

async function logTail(file: string, lines = 25): Promise<string> {
  try {
    const handle = await open(file, 'r')
    try {
      const {size} = await handle.stat()
      const length = Math.min(size, 64 * 1024)
      const buffer = Buffer.alloc(length)
      await handle.read(buffer, 0, length, size - length)
      return buffer.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } finally {
      await handle.close()
    }
  } catch {
    return '(no log)'
  }
}

/** Whether `text` appears in `file` after byte `from` (restarts append to the same log). */
async function logContains(file: string, from: number, text: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r')
    try {
      const {size} = await handle.stat()
      if (size <= from) return false
      const buffer = Buffer.alloc(size - from)
      await handle.read(buffer, 0, buffer.length, from)
      return buffer.includes(text)
    } finally {
      await handle.close()
    }
  } catch {
    return false
  }
}

async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  )
}

/**
 * Apache Kafka from the cached jars, in combined KRaft mode (broker+controller per process), on
 * 127.0.0.1 with free ports and fresh data dirs in a temp dir that stop() removes.
 */
export async function startJarCluster(options: {
  jars: KafkaJars
  nodes: 1 | 3
  log: (line: string) => void
  signal?: AbortSignal
  startTimeoutMs: number
  env: NodeJS.ProcessEnv
}): Promise<LocalKafka> {
  const {jars, log, signal, startTimeoutMs} = options
  const java = javaCommand(options.env)
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'kreorg-kafka-'))
  spawnWatchdog(stateDir)
  const ports = await freePorts(options.nodes * 2)
  const nodes: NodeState[] = Array.from({length: options.nodes}, (_, index) => {
    const dir = path.join(stateDir, `node-${index + 1}`)
    return {
      id: index + 1,
      port: ports[index * 2]!,
      controllerPort: ports[index * 2 + 1]!,
      dir,
      propertiesFile: path.join(dir, 'server.properties'),
      logFile: path.join(dir, 'kafka.log'),
    }
  })
  const clusterId = randomKafkaUuid()
  const publicNodes: LocalKafkaNode[] = nodes.map((n) => ({id: n.id, address: `127.0.0.1:${n.port}`}))
  let stopped = false

  const recordPids = () => {
    if (stopped) return
    writePidsFile(
      stateDir,
      nodes.flatMap((n) =>
        n.process?.pid !== undefined && n.process.exitCode === null && n.process.signalCode === null ? [n.process.pid] : [],
      ),
    )
  }

  const launch = async (node: NodeState): Promise<void> => {
    if (stopped) throw new Error('local Kafka was stopped')
    const from = await fileSize(node.logFile)
    // The broker writes to a file, not a pipe to us: it must not block or die on a full or broken pipe.
    const out = openSync(node.logFile, 'a')
    let child: ChildProcess
    try {
      child = spawn(java, ['-Xmx512m', '-Djava.awt.headless=true', '-cp', jars.classpath, 'kafka.Kafka', node.propertiesFile], {
        cwd: node.dir,
        env: options.env,
        // Own process group: stop/kill reach the JVM and anything it forks, and the watchdog can kill the group.
        detached: true,
        stdio: ['ignore', out, out],
      })
    } finally {
      closeSync(out)
    }
    const pid = child.pid
    if (pid === undefined) throw new Error(`could not start java for Kafka node ${node.id}`)
    trackProcessGroup(pid)
    publicNodes[node.id - 1]!.pid = pid
    child.unref()
    node.process = child
    node.exited = new Promise((resolve) => {
      child.once('exit', () => {
        untrackProcessGroup(pid)
        recordPids()
        resolve()
      })
    })
    recordPids()
    const deadline = Date.now() + startTimeoutMs
    while (!(await logContains(node.logFile, from, READY_LINE))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `Kafka node ${node.id} exited during start-up (${child.exitCode ?? child.signalCode}); log ${node.logFile}:\n${await logTail(node.logFile)}`,
        )
      }
      if (signal?.aborted) throw new Error('local Kafka start-up aborted')
      if (Date.now() > deadline) {
        throw new Error(
          `Kafka node ${node.id} did not log "${READY_LINE}" within ${Math.round(startTimeoutMs / 1000)}s; log ${node.logFile}:\n${await logTail(node.logFile)}`,
        )
      }
      await sleep(100)
    }
  }

  const terminate = async (node: NodeState, hard: boolean): Promise<void> => {
    const child = node.process
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return
    killGroupSync(child.pid, hard ? 'SIGKILL' : 'SIGTERM')
    // A referenced timer keeps this process alive until the broker is gone (the child itself is unref'd);
    // it is cancelled as soon as the broker exits so it never delays the parent's exit.
    const timer = new AbortController()
    const graceful = await Promise.race([
      node.exited!.then(() => true),
      sleep(hard ? 10_000 : 30_000, false, {signal: timer.signal}).catch(() => false),
    ])
    timer.abort()
    if (!graceful) {
      killGroupSync(child.pid, 'SIGKILL')
      await node.exited
    }
  }

  const stopAll = async (): Promise<void> => {
    if (stopped) return
    await Promise.all(nodes.map((node) => terminate(node, false)))
    stopped = true
    // Removing the state dir also tells the watchdog to exit.
    await rm(stateDir, {recursive: true, force: true})
  }

  const nodeById = (id: number): NodeState => {
    const node = nodes.find((n) => n.id === id)
    if (!node) throw new Error(`no Kafka node ${id} (nodes: ${nodes.map((n) => n.id).join(', ')})`)
    return node
  }

  const onAbort = () => void stopAll().catch(() => {})
  signal?.addEventListener('abort', onAbort, {once: true})
  try {
    for (const node of nodes) {
      await mkdir(node.dir, {recursive: true})
      await writeFile(node.propertiesFile, serverProperties(node, nodes))
      const format = spawnSync(
        java,
        ['-cp', jars.classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', node.propertiesFile],
        {
          cwd: node.dir,
          env: options.env,
          encoding: 'utf8',
          timeout: 120_000,
        },
      )
      if (format.status !== 0) {
        throw new Error(
          `formatting Kafka node ${node.id}'s storage failed (exit ${format.status}):\n${`${format.stdout}${format.stderr}`.trim().split('\n').slice(-20).join('\n')}`,
        )
      }
    }
    log(`starting Apache Kafka ${KAFKA_VERSION} from jars: ${nodes.length} node(s) in KRaft mode, data in ${stateDir}`)
    const started = Date.now()
    // All at once: with three voters none is ready before a quorum exists.
    await Promise.all(nodes.map((node) => launch(node)))
    log(
      `Apache Kafka ${KAFKA_VERSION} ready at ${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')} in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    )
  } catch (error) {
    await stopAll().catch(() => {})
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }

  return {
    brokers: publicNodes.map((n) => n.address).join(','),
    version: KAFKA_VERSION,
    mode: 'jars',
    nodes: publicNodes,
    toolsClasspath: jars.classpath,
    dataDir: stateDir,
    stop: stopAll,
    stopNode: (id) => terminate(nodeById(id), false),
    killNode: (id) => terminate(nodeById(id), true),
    async restartNode(id) {
      const node = nodeById(id)
      await terminate(node, false)
      await launch(node)
    },
  }
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what `kafka-storage random-uuid` prints). */
function randomKafkaUuid(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url')
    // Kafka avoids ids starting with "-" too: the storage tool would read one as an option.
    if (!id.startsWith('-')) return id
  }
}

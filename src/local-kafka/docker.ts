import {setTimeout as sleep} from 'node:timers/promises'

import type {LocalKafka, LocalKafkaNode} from './types.js'

import {KreorgError} from '../core/errors.js'
import {KAFKA_VERSION} from './jars.js'
import {freePorts} from './ports.js'

export const KAFKA_IMAGE = `apache/kafka:${KAFKA_VERSION}`
const READY_LINE = 'Kafka Server started'

/**
 * testcontainers is an optional peer dependency: a checkout has it (devDependencies), an installed
 * kreorg has it only if the user added it, so users of `kreorg/agent` never download it. Loaded
 * only here, on the Docker path of the demo, tests and benchmarks.
 */
type Testcontainers = typeof import('testcontainers')

let testcontainers: Promise<Testcontainers | undefined> | undefined

function loadTestcontainers(): Promise<Testcontainers | undefined> {
  testcontainers ??= import('testcontainers').catch(() => undefined)
  return testcontainers
}

export async function testcontainersInstalled(): Promise<boolean> {
  return (await loadTestcontainers()) !== undefined
}

/** Whether testcontainers is installed and finds a working container runtime (Docker, Podman, ...). Fast when there is none. */
export async function dockerAvailable(): Promise<boolean> {
  const loaded = await loadTestcontainers()
  if (!loaded) return false
  try {
    await loaded.getContainerRuntimeClient()
    return true
  } catch {
    return false
  }
}

/**
 * The `apache/kafka` image in combined KRaft mode. Each node's client listener uses the same port
 * inside the container and on the host, so the advertised address 127.0.0.1:<port> is right on
 * both sides without a start-up script. Nodes talk to each other over a container network
 * (INTERNAL listener, network aliases). Testcontainers' reaper removes the containers if this
 * process dies.
 */
export async function startDockerCluster(options: {
  nodes: 1 | 3
  log: (line: string) => void
  startTimeoutMs: number
}): Promise<LocalKafka> {
  const loaded = await loadTestcontainers()
  if (!loaded) {
    throw new KreorgError('precondition', 'the Docker path needs the optional testcontainers package, which is not installed', {
      suggestions: ['npm install testcontainers', 'or leave the mode on auto: the Kafka jars are used without Docker'],
    })
  }
  const {GenericContainer, Network, Wait, getContainerRuntimeClient} = loaded
  const n = options.nodes
  const minIsr = n >= 3 ? 2 : 1
  const network = await new Network().start()
  const ids = Array.from({length: n}, (_, i) => i + 1)
  const ports = new Map<number, number>()
  const free = await freePorts(ids.length)
  for (const [index, id] of ids.entries()) ports.set(id, free[index]!)
  const alias = (id: number) => `kafka-${id}`
  const clusterId = 'a3JlbzNjbHVzdGVyMDAwMQ' // any 22-char base64 id; the containers are throwaway
  options.log(`starting ${KAFKA_IMAGE} with Docker: ${n} node(s) in KRaft mode`)
  const started = Date.now()
  const containers = await Promise.all(
    ids.map((id) =>
      new GenericContainer(KAFKA_IMAGE)
        .withNetwork(network)
        .withNetworkAliases(alias(id))
        .withExposedPorts({container: ports.get(id)!, host: ports.get(id)!})
        .withEnvironment({
          CLUSTER_ID: clusterId,
          KAFKA_NODE_ID: String(id),
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: ids.map((v) => `${v}@${alias(v)}:9093`).join(','),
          KAFKA_LISTENERS: `EXTERNAL://0.0.0.0:${ports.get(id)},INTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:9093`,
          KAFKA_ADVERTISED_LISTENERS: `EXTERNAL://127.0.0.1:${ports.get(id)},INTERNAL://${alias(id)}:19092`,
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_NUM_PARTITIONS: '1',
          KAFKA_DEFAULT_REPLICATION_FACTOR: String(n),
          KAFKA_MIN_INSYNC_REPLICAS: String(minIsr),
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: String(n),
          KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '10',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: String(n),
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: String(minIsr),
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: String(n),
          KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: String(minIsr),
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_HEAP_OPTS: '-Xmx512m',
        })
        .withWaitStrategy(Wait.forLogMessage(READY_LINE))
        .withStartupTimeout(options.startTimeoutMs)
        .start(),
    ),
  )
  options.log(`${KAFKA_IMAGE} ready in ${((Date.now() - started) / 1000).toFixed(1)}s`)
  const runtime = await getContainerRuntimeClient()
  const dockerContainer = (id: number) => runtime.container.getById(containers[id - 1]!.getId())
  const nodes: LocalKafkaNode[] = ids.map((id) => ({id, address: `127.0.0.1:${ports.get(id)}`}))
  const check = (id: number) => {
    if (!ids.includes(id)) throw new Error(`no Kafka node ${id} (nodes: ${ids.join(', ')})`)
  }
  const waitReady = async (id: number, sinceSeconds: number) => {
    const deadline = Date.now() + options.startTimeoutMs
    for (;;) {
      const logs = (await dockerContainer(id).logs({stdout: true, stderr: true, since: sinceSeconds})) as unknown as Buffer
      if (logs.includes(READY_LINE)) return
      if (Date.now() > deadline) throw new Error(`Kafka node ${id} did not restart within ${options.startTimeoutMs / 1000}s`)
      await sleep(250)
    }
  }
  let stopped = false
  return {
    brokers: nodes.map((node) => node.address).join(','),
    version: KAFKA_VERSION,
    mode: 'docker',
    nodes,
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.all(containers.map((c) => c.stop().catch(() => {})))
      await network.stop().catch(() => {})
    },
    async stopNode(id) {
      check(id)
      await dockerContainer(id)
        .stop({t: 30})
        .catch(() => {})
    },
    async killNode(id) {
      check(id)
      await dockerContainer(id)
        .kill({signal: 'SIGKILL'})
        .catch(() => {})
    },
    async restartNode(id) {
      check(id)
      await dockerContainer(id)
        .stop({t: 30})
        .catch(() => {})
      const since = Math.floor(Date.now() / 1000)
      await dockerContainer(id).start()
      await waitReady(id, since)
    },
  }
}

import type {LocalKafka, StartLocalKafkaOptions} from './types.js'

import {KreorgError} from '../core/errors.js'
import {dockerAvailable, startDockerCluster, testcontainersInstalled} from './docker.js'
import {startJarCluster} from './jar-cluster.js'
import {cachedKafkaJars, detectJava, detectMaven, ensureKafkaJars, KAFKA_VERSION} from './jars.js'

export {dockerAvailable, KAFKA_IMAGE} from './docker.js'
export {
  cachedKafkaJars,
  detectJava,
  detectMaven,
  ensureKafkaJars,
  javaCommand,
  KAFKA_ARTIFACTS,
  KAFKA_VERSION,
  kafkaCacheDir,
} from './jars.js'
export type {KafkaJars} from './jars.js'
export type {LocalKafka, LocalKafkaMode, LocalKafkaNode, StartLocalKafkaOptions} from './types.js'

/**
 * A real Apache Kafka for tests, the demo and benchmarks. In order:
 * 1. KAFKA_BROKERS set: that cluster (mode 'external'; stop() leaves it alone).
 * 2. A container runtime reachable: the apache/kafka image through testcontainers (an optional peer dependency).
 * 3. Java 17+ and Maven: Kafka's jars, downloaded once into the cache dir, run in KRaft mode.
 * Otherwise a KreorgError that says what to install.
 */
export async function startLocalKafka(options: StartLocalKafkaOptions = {}): Promise<LocalKafka> {
  const env = options.env ?? process.env
  const nodes = options.nodes ?? 1
  const log = options.log ?? (() => {})
  const mode = options.mode ?? 'auto'
  const startTimeoutMs = options.startTimeoutMs ?? 90_000
  options.signal?.throwIfAborted()

  const external = env.KAFKA_BROKERS?.trim()
  if (mode === 'auto' && external) {
    log(`using the Kafka cluster at ${external} (KAFKA_BROKERS)`)
    const jars = await cachedKafkaJars(env)
    const addresses = external
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '')
    return {
      brokers: addresses.join(','),
      version: 'unknown',
      mode: 'external',
      nodes: addresses.map((address, index) => ({id: index + 1, address})),
      ...(jars ? {toolsClasspath: jars.classpath} : {}),
      async stop() {},
      stopNode: async () => notOurs('stop'),
      killNode: async () => notOurs('kill'),
      restartNode: async () => notOurs('restart'),
    }
  }

  if (mode === 'docker' || (mode === 'auto' && (await dockerAvailable()))) {
    const cluster = await startDockerCluster({nodes, log, startTimeoutMs})
    const jars = await cachedKafkaJars(env)
    return jars ? {...cluster, toolsClasspath: jars.classpath} : cluster
  }

  const java = detectJava(env)
  const maven = java.ok ? detectMaven(env) : undefined
  if (!java.ok || !maven?.ok) {
    const found = [java.detail, maven?.detail].filter(Boolean).join(', ')
    const noDocker = mode === 'auto' ? 'no container runtime reachable and ' : ''
    const startDocker = (await testcontainersInstalled())
      ? 'or start Docker'
      : 'or start Docker and install the optional testcontainers package (`npm install testcontainers`)'
    throw new KreorgError('precondition', `cannot start a local Apache Kafka ${KAFKA_VERSION}: ${noDocker}${found}`, {
      suggestions: [
        'install Java 17+ and Maven (e.g. `apt-get install openjdk-17-jdk-headless maven` or `brew install openjdk@17 maven`): the Kafka jars are then downloaded once',
        startDocker,
        'or set KAFKA_BROKERS=host:9092 to use an existing cluster',
      ],
    })
  }
  const jars = await ensureKafkaJars({env, log, signal: options.signal})
  return startJarCluster({jars, nodes, log, signal: options.signal, startTimeoutMs, env})
}

function notOurs(action: string): never {
  throw new Error(`cannot ${action} a node of an external cluster (KAFKA_BROKERS): start one with mode 'jars' or 'docker'`)
}

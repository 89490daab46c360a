import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import {detectJava, detectMaven, ensureKafkaJars, type LocalKafka, startLocalKafka} from '../../src/local-kafka/index.js'
import {REPO_ROOT} from '../helpers/cli.js'
import {randomName} from '../helpers/kafka.js'

/** These tests start (and kill) their own brokers from the jars, whatever broker the run uses. */
const java = detectJava()
const maven = detectMaven()
const skipReason = java.ok && maven.ok ? undefined : `needs Java 17+ and Maven (${java.detail}, ${maven.detail})`
if (skipReason) process.stdout.write(`[local-kafka test] skipped: ${skipReason}\n`)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now()
  // A probe that throws (e.g. a client that asked the dead broker first) just means "not yet".
  while (
    !(await Promise.resolve()
      .then(condition)
      .catch(() => false))
  ) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
  return Date.now() - started
}

function accepts(address: string): Promise<boolean> {
  const [host, port] = address.split(':')
  return new Promise((resolve) => {
    const socket = net.connect({host, port: Number(port)})
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function connect(brokers: string): Promise<KafkajsCluster> {
  const cluster = new KafkajsCluster({brokers: brokers.split(','), clientId: 'kreorg-test', connectTimeoutMs: 10_000})
  await cluster.connect()
  return cluster
}

async function produce(cluster: KafkajsCluster, topic: string, count: number): Promise<void> {
  const producer = cluster.kafkaClient.producer()
  await producer.connect()
  try {
    await producer.send({topic, acks: -1, messages: Array.from({length: count}, (_, i) => ({key: `k${i}`, value: `v${i}`}))})
  } finally {
    await producer.disconnect()
  }
}

describe.skipIf(skipReason !== undefined)('src/local-kafka from the jars', () => {
  beforeAll(async () => {
    // Normally cached already by the global setup; downloads once otherwise.
    await ensureKafkaJars()
  }, 600_000)

  test('a broker never outlives its parent: SIGKILL the parent, the JVM and its data are gone within seconds', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'test/fixtures/hold-local-kafka.mjs')], {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    try {
      await waitFor('the script to report its broker', () => stdout.includes('\n') || child.exitCode !== null, 120_000)
      expect(child.exitCode, stderr).toBeNull()
      const started = JSON.parse(stdout.split('\n')[0]!) as {brokers: string; pid: number; dataDir: string}
      expect(alive(started.pid)).toBe(true)
      expect(await accepts(started.brokers)).toBe(true)
      expect(existsSync(started.dataDir)).toBe(true)

      child.kill('SIGKILL')
      const gone = await waitFor('the broker JVM to die', () => !alive(started.pid), 5000)
      process.stdout.write(`[local-kafka test] broker pid ${started.pid} gone ${gone} ms after its parent was SIGKILLed\n`)
      expect(await accepts(started.brokers)).toBe(false)
      await waitFor('the data dir to be removed', () => !existsSync(started.dataDir), 5000)
    } finally {
      child.kill('SIGKILL')
    }
  })

  describe('three nodes', () => {
    let kafka: LocalKafka
    let cluster: KafkajsCluster

    beforeAll(async () => {
      kafka = await startLocalKafka({mode: 'jars', nodes: 3})
      cluster = await connect(kafka.brokers)
    }, 180_000)

    afterAll(async () => {
      await cluster?.close()
      await kafka?.stop()
    })

    test('topics default to RF=3; losing one node keeps acks=all writes working; it rejoins the ISR after restart', async () => {
      expect(kafka).toMatchObject({mode: 'jars', version: '4.3.1'})
      expect(kafka.toolsClasspath).toMatch(/kafka-4\.3\.1[/\\]lib[/\\]\*$/)
      expect(kafka.nodes.map((n) => n.id)).toEqual([1, 2, 3])
      expect((await cluster.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
      const topic = randomName('local-kafka-3')
      await cluster.createTopic({topic, partitions: 3})
      const described = await cluster.describeTopic(topic)
      expect(described.partitions.map((p) => p.replicas.length)).toEqual([3, 3, 3])

      const killedPid = kafka.nodes[2]!.pid!
      await kafka.killNode(3)
      expect(alive(killedPid)).toBe(false)
      expect(await accepts(kafka.nodes[2]!.address)).toBe(false)
      // The controller fences the dead broker and shrinks the ISRs; min.insync.replicas=2 still allows writes.
      await waitFor(
        'node 3 to leave every ISR',
        async () => (await cluster.describeTopic(topic)).partitions.every((p) => !p.isr.includes(3)),
        60_000,
      )
      await produce(cluster, topic, 20)

      await kafka.restartNode(3)
      expect(kafka.nodes[2]!.pid).not.toBe(killedPid)
      await waitFor(
        'node 3 to rejoin every ISR',
        async () => (await cluster.describeTopic(topic)).partitions.every((p) => p.isr.length === 3),
        90_000,
      )
      const ends = await cluster.endOffsets(topic)
      expect(ends.reduce((sum, p) => sum + p.high, 0)).toBe(20)
    }, 300_000)

    test('stopNode shuts one node down gracefully; stop() ends every process and removes the data', async () => {
      const pids = kafka.nodes.map((n) => n.pid!)
      await kafka.stopNode(2)
      expect(alive(pids[1]!)).toBe(false)
      expect(await accepts(kafka.nodes[1]!.address)).toBe(false)
      expect(await accepts(kafka.nodes[0]!.address)).toBe(true)

      await cluster.close()
      await kafka.stop()
      expect(pids.filter(alive)).toEqual([])
      expect(existsSync(kafka.dataDir!)).toBe(false)
      // Idempotent: afterAll calls it again.
      await kafka.stop()
    })
  })
})

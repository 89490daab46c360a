import {afterAll, beforeAll, describe, expect, test} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'

/** No "    at foo (file.js:1:2)" frames: errors are one line unless DEBUG is set. */
function assertNoStack(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m)
}

describe('kreorg CLI (spawned bin/run.js)', () => {
  test('--help lists the commands', async () => {
    const result = await runCli(['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('COMMANDS')
    expect(result.stdout).toMatch(/^\s+lag\s+Show every consumer group's lag/m)
  })

  test('unreachable brokers: exit 2, one line naming the brokers and how to fix them, within the connect timeout', async () => {
    const started = Date.now()
    const result = await runCli(['lag', 'x', '--brokers', '127.0.0.1:1'], {env: {KAFKA_BROKERS: undefined, DEBUG: undefined}})
    const elapsed = Date.now() - started
    expect(result.code).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('127.0.0.1:1')
    expect(lines[0]).toContain('--brokers')
    expect(lines[0]).toContain('KAFKA_BROKERS')
    assertNoStack(result.stderr)
    expect(result.stdout).toBe('')
    // Default connect timeout is 10 s; allow for Node start-up on a slow machine.
    expect(elapsed).toBeLessThan(15_000)
  })

  test('a cluster that never answers: gives up after --connect-timeout', async () => {
    const started = Date.now()
    // 10.255.255.1 is unroutable here: SYNs go unanswered, so only the timeout ends the attempt.
    const result = await runCli(['lag', 'x', '--brokers', '10.255.255.1:9092', '--connect-timeout', '3s'], {
      env: {KAFKA_BROKERS: undefined},
    })
    const elapsed = Date.now() - started
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('10.255.255.1:9092')
    expect(elapsed).toBeLessThan(9000)
  })

  test('malformed --brokers exits 2 before connecting', async () => {
    const started = Date.now()
    // The first entry is unroutable: trying it would take the full 30 s connect timeout.
    const result = await runCli(['lag', 'x', '--brokers', '10.255.255.1:9092,kafka-2', '--connect-timeout', '30s'], {
      env: {KAFKA_BROKERS: undefined},
    })
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('malformed broker address "kafka-2"')
    assertNoStack(result.stderr)
    expect(Date.now() - started).toBeLessThan(8000)
  })

  test('malformed KAFKA_BROKERS is reported the same way', async () => {
    const result = await runCli(['lag', 'x'], {env: {KAFKA_BROKERS: 'localhost:99999'}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('"localhost:99999"')
  })

  test('no brokers at all: exit 2 naming --brokers and KAFKA_BROKERS', async () => {
    const result = await runCli(['lag', 'x'], {env: {KAFKA_BROKERS: undefined}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--brokers')
    expect(result.stderr).toContain('KAFKA_BROKERS')
  })

  test('a bad flag value is a usage error (exit 2)', async () => {
    const result = await runCli(['lag', 'x', '--interval', 'soon'], {env: {KAFKA_BROKERS: '127.0.0.1:1'}})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('soon')
  })
})

describe('kreorg lag against the test broker', () => {
  const topic = randomName('cli-lag')
  let cluster: Awaited<ReturnType<typeof connectTestCluster>>

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 2, replicationFactor: 1})
    await cluster.commitOffsets(randomName('cli-group'), topic, [{partition: 0, offset: 0}])
  })

  afterAll(async () => {
    await cluster?.deleteTopics([topic]).catch(() => {})
    await cluster?.close()
  })

  test('unknown topic exits 3 naming the topic', async () => {
    const missing = randomName('no-such-topic')
    const result = await runCli(['lag', missing], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.code).toBe(3)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain(`"${missing}"`)
    assertNoStack(result.stderr)
  })

  test('unknown topic with --json: an error event on stdout, exit 3', async () => {
    const missing = randomName('no-such-topic')
    const result = await runCli(['lag', missing, '--json'], {env: {KAFKA_BROKERS: testBrokers()}})
    expect(result.code).toBe(3)
    const event = JSON.parse(result.stdout.trim()) as {event: string; exitCode: number; message: string}
    expect(event).toMatchObject({event: 'error', exitCode: 3})
    expect(event.message).toContain(missing)
  })

  test('--watch off a terminal appends snapshots until stopped', async () => {
    const result = await runCli(['lag', topic, '--watch', '--interval', '500ms'], {env: {KAFKA_BROKERS: testBrokers()}, timeoutMs: 10_000})
    const snapshots = result.stdout.split('\n').filter((line) => line.startsWith(`topic ${topic}:`))
    expect(snapshots.length).toBeGreaterThan(1)
    // Appended, not redrawn: no clear-screen escape off a TTY.
    expect(result.stdout).not.toContain('\x1b[2J')
  })
})

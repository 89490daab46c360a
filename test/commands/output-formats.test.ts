import {promises as fs} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments, parse as parseYaml} from 'yaml'

import type {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import type {KafkaCluster} from '../../src/kafka/types.js'

import {parseNdjson, runCli} from '../helpers/cli.js'
import {connectTestCluster, randomName, testBrokers} from '../helpers/kafka.js'
import {engineEnv, tempStateDir} from '../helpers/test-runbook.js'

/** `readAt` is when each invocation read the offsets: the one field two reads may not share. */
function withoutReadAt(lag: unknown): unknown {
  const {readAt, ...rest} = lag as {readAt: string}
  expect(typeof readAt).toBe('string')
  return rest
}

describe('-o table|json|yaml on the read commands', () => {
  let cluster: KafkaCluster & KafkajsCluster
  const topic = randomName('output')
  const group = randomName('output-g')
  const dirs: string[] = []
  const brokers = () => ['--brokers', testBrokers()]

  beforeAll(async () => {
    cluster = await connectTestCluster()
    await cluster.createTopic({topic, partitions: 3, replicationFactor: 1})
    const producer = cluster.kafkaClient.producer()
    await producer.connect()
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({length: 30}, (_, i) => ({partition: i % 3, key: `k${i}`, value: `v${i}`})),
      })
    } finally {
      await producer.disconnect()
    }
    await cluster.commitOffsets(group, topic, [
      {partition: 0, offset: 4},
      {partition: 1, offset: 10},
    ])
  })

  afterAll(async () => {
    await cluster?.deleteTopics([topic]).catch(() => {})
    await cluster?.close()
    await Promise.all(dirs.map((dir) => fs.rm(dir, {recursive: true, force: true})))
  })

  it('lag: -o yaml parses back to the same data as --json and -o json; -o table is the default text', async () => {
    const [json, oJson, yaml, table, plain] = await Promise.all([
      runCli(['lag', topic, '--json', ...brokers()]),
      runCli(['lag', topic, '-o', 'json', ...brokers()]),
      runCli(['lag', topic, '-o', 'yaml', ...brokers()]),
      runCli(['lag', topic, '--output', 'table', ...brokers()]),
      runCli(['lag', topic, ...brokers()]),
    ])
    for (const r of [json, oJson, yaml, table, plain]) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
    }
    const fromJson = JSON.parse(json.stdout) as {groups: Array<{groupId: string; total: number}>}
    expect(fromJson.groups.find((g) => g.groupId === group)?.total).toBe(16)
    expect(withoutReadAt(parseYaml(yaml.stdout))).toEqual(withoutReadAt(fromJson))
    expect(withoutReadAt(JSON.parse(oJson.stdout))).toEqual(withoutReadAt(fromJson))
    expect(yaml.stdout).not.toMatch(/^\s*[{[]/)
    const stripReadAt = (text: string) => text.replace(/\(read [^)]+\)/, '')
    expect(stripReadAt(table.stdout)).toBe(stripReadAt(plain.stdout))
    expect(table.stdout).toContain('TOTAL LAG')
  })

  it('lag --watch -o yaml streams `---`-separated documents', async () => {
    const result = await runCli(['lag', topic, '--watch', '--interval', '300ms', '-o', 'yaml', ...brokers()], {timeoutMs: 30_000})
    const parsed = parseAllDocuments(result.stdout).map((d) => d.toJS() as {topic: string})
    expect(result.stdout.startsWith('---\n')).toBe(true)
    expect(parsed.length).toBeGreaterThan(1)
    for (const doc of parsed) expect(doc.topic).toBe(topic)
  })

  it('runs and status: -o yaml parses back to the same data as --json', async () => {
    const stateDir = await tempStateDir()
    dirs.push(stateDir)
    const run = await runCli(['test-runbook', '--topic', randomName('output-run'), '--group', randomName('output-run-g'), '--json'], {
      env: engineEnv(stateDir, {KREORG_TEST_FAIL_STEP: 'write-marker-b'}),
    })
    expect(run.code, run.stderr).toBe(3)
    const runId = String(parseNdjson(run.stdout)[0]?.runId)
    const env = engineEnv(stateDir)
    const [runsJson, runsYaml, statusJson, statusYaml] = await Promise.all([
      runCli(['runs', '--json'], {env}),
      runCli(['runs', '-o', 'yaml'], {env}),
      runCli(['status', runId, '--json'], {env}),
      runCli(['status', runId, '-o', 'yaml'], {env}),
    ])
    for (const r of [runsJson, runsYaml, statusJson, statusYaml]) expect(r.code, r.stderr).toBe(0)
    const runs = JSON.parse(runsJson.stdout) as Array<{runId: string; status: string}>
    expect(runs).toHaveLength(1)
    expect(runs[0]).toMatchObject({runId, status: 'failed'})
    expect(parseYaml(runsYaml.stdout)).toEqual(runs)
    const status = JSON.parse(statusJson.stdout) as {steps: unknown[]}
    expect(status.steps).toHaveLength(4)
    expect(parseYaml(statusYaml.stdout)).toEqual(status)
  })

  it('producers, audit and config show take -o yaml too', async () => {
    const [producersJson, producersYaml, auditJson, auditYaml, configJson, configYaml] = await Promise.all([
      runCli(['producers', topic, '--json', ...brokers()]),
      runCli(['producers', topic, '-o', 'yaml', ...brokers()]),
      runCli(['audit', topic, '--sample', 'all', '--json', ...brokers()]),
      runCli(['audit', topic, '--sample', '5', '-o', 'yaml', ...brokers()]),
      runCli(['config', 'show', '--json', ...brokers()]),
      runCli(['config', 'show', '-o', 'yaml', ...brokers()]),
    ])
    for (const r of [producersJson, producersYaml, auditJson, auditYaml, configJson, configYaml]) expect(r.code, r.stderr).toBe(0)
    expect(parseYaml(producersYaml.stdout)).toEqual(JSON.parse(producersJson.stdout))
    expect(parseYaml(configYaml.stdout)).toEqual(JSON.parse(configJson.stdout))
    // --sample all reads every record: 10 per partition.
    const audit = JSON.parse(auditJson.stdout) as {sample: {records: number; perPartition: number; complete: boolean}}
    expect(audit.sample).toMatchObject({records: 30, perPartition: 10, complete: true})
    const auditFromYaml = parseYaml(auditYaml.stdout) as {topic: string; sample: {records: number}; checks: unknown[]}
    expect(auditFromYaml.topic).toBe(topic)
    expect(auditFromYaml.sample.records).toBe(15)
    expect(auditFromYaml.checks.length).toBeGreaterThan(0)
  })

  it('--json with a different -o is a usage error (exit 2) before connecting; a bad -o value too', async () => {
    const both = await runCli(['lag', topic, '--json', '-o', 'yaml', '--brokers', '10.255.255.1:9092'])
    expect(both.code).toBe(2)
    expect(both.stderr).toContain('--json and -o yaml')
    const bad = await runCli(['runs', '-o', 'xml'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/xml/)
    const sample = await runCli(['audit', topic, '--sample', 'some', ...brokers()])
    expect(sample.code).toBe(2)
    expect(sample.stderr).toContain('--sample expected a positive whole number')
  })
})

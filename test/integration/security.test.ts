import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {checkPermissions} from '../../src/kafka/acl.js'
import {type Admin, createKafkaClient} from '../../src/kafka/client.js'
import {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import {type CliResult, parseNdjson, runCli} from '../helpers/cli.js'
import {randomName} from '../helpers/kafka.js'
import {type SecureKafka, startSecureKafka} from '../helpers/secure-kafka.js'

/**
 * Acceptance for issue 9 (security), against a real broker with SCRAM-SHA-512 over TLS (certificates
 * generated for this run) and the StandardAuthorizer. Everything user-facing goes through the real
 * CLI; the least-privilege check runs against real ACLs.
 */

// Kafka ACL wire codes (kafkajs AclResourceTypes / AclOperationTypes / AclPermissionTypes / ResourcePatternTypes).
const RESOURCE = {topic: 2, group: 3, cluster: 4} as const
const OP = {read: 3, write: 4, create: 5, alter: 7, describe: 8, describe_configs: 10} as const
const PATTERN = {literal: 3, prefixed: 4} as const
const ALLOW = 3

let kafka: SecureKafka
let setup: Admin
const topic = randomName('sec-orders')
const controlTopic = randomName('sec-control')
const group = randomName('sec-billing')

async function allow(
  user: string,
  resourceType: number,
  resourceName: string,
  operations: number[],
  pattern: number = PATTERN.literal,
): Promise<void> {
  await setup.createAcls({
    acl: operations.map((operation) => ({
      resourceType,
      resourceName,
      resourcePatternType: pattern,
      principal: `User:${user}`,
      host: '*',
      operation,
      permissionType: ALLOW,
    })),
  })
}

/** The CLI with a clean config home, so no profile of the machine running the tests leaks in. */
function kreorg(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, {
    env: {
      XDG_CONFIG_HOME: path.join(kafka.dir, 'xdg-empty'),
      KAFKA_BROKERS: undefined,
      KAFKA_SASL_MECHANISM: undefined,
      KAFKA_SASL_USERNAME: undefined,
      KAFKA_SASL_PASSWORD: undefined,
      KREORG_PROFILE: undefined,
      ...env,
    },
    timeoutMs: 60_000,
  })
}

function saslFlags(user: string): string[] {
  return ['--brokers', kafka.brokers, '--tls-ca', kafka.caFile, '--sasl-mechanism', 'scram-sha-512', '--sasl-username', user]
}

function expectNoSecrets(result: CliResult): void {
  const output = `${result.stdout}\n${result.stderr}`
  for (const password of Object.values(kafka.passwords)) expect(output).not.toContain(password)
  expect(output).not.toContain('PRIVATE KEY')
}

async function connectAs(user: string, password: string): Promise<KafkajsCluster> {
  const cluster = new KafkajsCluster({
    brokers: [kafka.brokers],
    clientId: 'kreorg-security-test',
    connectTimeoutMs: 15_000,
    tls: {ca: readFileSync(kafka.caFile, 'utf8')},
    sasl: {mechanism: 'scram-sha-512', username: user, password},
  })
  await cluster.connect()
  return cluster
}

/** kafkajs's own wait only retries LEADER_NOT_AVAILABLE; a just-created topic can briefly be unknown too. */
async function waitForLeaders(topics: string[]): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      const {topics: described} = await setup.fetchTopicMetadata({topics})
      if (described.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

beforeAll(async () => {
  kafka = await startSecureKafka({users: ['admin', 'alice', 'bob', 'carol']})
  setup = createKafkaClient({brokers: [kafka.setupBrokers], clientId: 'kreorg-security-setup', connectTimeoutMs: 15_000}).admin()
  await setup.connect()
  await setup.createTopics({waitForLeaders: false, topics: [{topic, numPartitions: 3, replicationFactor: 1}]})
  await setup.createTopics({
    waitForLeaders: false,
    topics: [{topic: controlTopic, numPartitions: 1, replicationFactor: 1, configEntries: [{name: 'cleanup.policy', value: 'compact'}]}],
  })
  await waitForLeaders([topic, controlTopic])
  // A group with committed offsets (and no members), so `lag` has something to show.
  await setup.setOffsets({groupId: group, topic, partitions: [0, 1, 2].map((partition) => ({partition, offset: '0'}))})

  // alice: exactly what a run needs, plus DESCRIBE on the cluster so kreorg can read her ACLs.
  await allow('alice', RESOURCE.topic, topic, [OP.describe, OP.describe_configs, OP.alter, OP.read])
  await allow('alice', RESOURCE.group, 'sec-', [OP.describe, OP.read], PATTERN.prefixed)
  await allow('alice', RESOURCE.topic, controlTopic, [OP.describe, OP.read, OP.write])
  await allow('alice', RESOURCE.cluster, 'kafka-cluster', [OP.describe])
  // bob: can look but not alter the topic, cannot commit for the group, cannot write commands.
  await allow('bob', RESOURCE.topic, topic, [OP.describe, OP.describe_configs, OP.read])
  await allow('bob', RESOURCE.group, group, [OP.describe])
  await allow('bob', RESOURCE.topic, controlTopic, [OP.read])
  await allow('bob', RESOURCE.cluster, 'kafka-cluster', [OP.describe])
  // carol: alice's rights on the topic and group, but she cannot read ACLs.
  await allow('carol', RESOURCE.topic, topic, [OP.describe, OP.describe_configs, OP.alter, OP.read])
  await allow('carol', RESOURCE.group, group, [OP.describe, OP.read])
  await allow('carol', RESOURCE.topic, controlTopic, [OP.describe, OP.read, OP.write])
}, 180_000)

afterAll(async () => {
  await setup?.disconnect().catch(() => {})
  await kafka?.stop()
})

describe('SASL_SSL with SCRAM-SHA-512 through the CLI', () => {
  it('right credentials from flags + KAFKA_SASL_PASSWORD work', async () => {
    const result = await kreorg(['lag', topic, ...saslFlags('alice'), '--json'], {KAFKA_SASL_PASSWORD: kafka.passwords.alice})
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const lag = JSON.parse(result.stdout) as {groups: Array<{groupId: string}>}
    expect(lag.groups.map((g) => g.groupId)).toContain(group)
    expectNoSecrets(result)
  })

  it('right credentials from env vars only work', async () => {
    const result = await kreorg(['lag', topic], {
      KAFKA_BROKERS: kafka.brokers,
      KAFKA_TLS_CA_FILE: kafka.caFile,
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: kafka.passwords.alice,
    })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(group)
    expectNoSecrets(result)
  })

  it('a profile with a password file works, and config show masks the secret and names each source', async () => {
    const xdg = path.join(kafka.dir, 'xdg-profile')
    mkdirSync(path.join(xdg, 'kreorg'), {recursive: true})
    const passwordFile = path.join(kafka.dir, 'alice.password')
    writeFileSync(passwordFile, `${kafka.passwords.alice}\n`, {mode: 0o600})
    writeFileSync(
      path.join(xdg, 'kreorg', 'config.yaml'),
      [
        'profiles:',
        '  secure:',
        `    brokers: [${kafka.brokers}]`,
        `    tls: {caFile: ${kafka.caFile}}`,
        `    sasl: {mechanism: scram-sha-512, username: alice, passwordFile: ${passwordFile}}`,
        '',
      ].join('\n'),
    )
    const lag = await kreorg(['lag', topic, '--profile', 'secure'], {XDG_CONFIG_HOME: xdg})
    expect(lag.code).toBe(0)
    expect(lag.stdout).toContain(group)
    expectNoSecrets(lag)

    // The env var wins over the profile's username: bob has no rights on the group, but can see the topic.
    const show = await kreorg(['config', 'show', '--profile', 'secure', '--json'], {XDG_CONFIG_HOME: xdg, KAFKA_SASL_USERNAME: 'bob'})
    expect(show.code).toBe(0)
    expectNoSecrets(show)
    const view = JSON.parse(show.stdout) as {settings: Array<{key: string; value: unknown; source: string | null}>}
    const setting = (key: string) => view.settings.find((s) => s.key === key)
    expect(setting('sasl.username')).toEqual({key: 'sasl.username', value: 'bob', source: 'env KAFKA_SASL_USERNAME'})
    expect(setting('sasl.password')).toEqual({
      key: 'sasl.password',
      value: `******** (file ${passwordFile})`,
      source: 'profile secure (sasl.passwordFile)',
    })
    expect(setting('brokers')?.source).toBe('profile secure (brokers)')
    const text = await kreorg(['config', 'show', '--profile', 'secure'], {XDG_CONFIG_HOME: xdg})
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/sasl\.password\s+\*{8} \(file /)
    expectNoSecrets(text)
  })

  it('a wrong password exits 2 with one line naming SCRAM-SHA-512 and no secret', async () => {
    const wrong = `${kafka.passwords.alice}-wrong`
    const result = await kreorg(['lag', topic, ...saslFlags('alice')], {KAFKA_SASL_PASSWORD: wrong})
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('SCRAM-SHA-512')
    expect(lines[0]).toMatch(/authentication/i)
    expect(result.stderr).not.toContain(wrong)
    expectNoSecrets(result)

    const json = await kreorg(['lag', topic, ...saslFlags('alice'), '--json'], {KAFKA_SASL_PASSWORD: wrong})
    expect(json.code).toBe(2)
    const [event] = parseNdjson(json.stdout)
    expect(event).toMatchObject({event: 'error', code: 'auth', exitCode: 2})
    expect(JSON.stringify(event)).toContain('SCRAM-SHA-512')
    expect(`${json.stdout}${json.stderr}`).not.toContain(wrong)
  })

  it('an unknown user fails the same way (no hint whether the user exists)', async () => {
    const result = await kreorg(['lag', topic, ...saslFlags('mallory')], {KAFKA_SASL_PASSWORD: 'whatever-password'})
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('SCRAM-SHA-512')
    expect(result.stderr).not.toContain('whatever-password')
  })

  it('TLS without the CA is refused (the broker certificate is not trusted by default)', async () => {
    const result = await kreorg(
      [
        'lag',
        topic,
        '--brokers',
        kafka.brokers,
        '--tls',
        '--sasl-mechanism',
        'scram-sha-512',
        '--sasl-username',
        'alice',
        '--connect-timeout',
        '8s',
      ],
      {
        KAFKA_SASL_PASSWORD: kafka.passwords.alice,
      },
    )
    expect(result.code).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expectNoSecrets(result)
  })

  it('a missing password is a usage error before connecting', async () => {
    const result = await kreorg(['lag', topic, ...saslFlags('alice')])
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toMatch(/^Error: no password for SASL user "alice" \(SCRAM-SHA-512\)/)
  })
})

describe('least privilege: checkPermissions against the StandardAuthorizer', () => {
  it('finds nothing missing for a principal with exactly the needed ACLs', async () => {
    const cluster = await connectAs('alice', kafka.passwords.alice!)
    try {
      const report = await checkPermissions(cluster, {topic, groups: [group], controlTopic, targetPartitions: 6})
      expect(report.missing).toEqual([])
      expect(report.unverified).toEqual([])
      expect(report.granted.map((g) => `${g.operation} ${g.resource} ${g.how}`)).toEqual(
        expect.arrayContaining([`ALTER topic ${topic} probe`, `READ group ${group} acl`, `WRITE topic ${controlTopic} acl`]),
      )
    } finally {
      await cluster.close()
    }
  })

  it('reports a user without ALTER on the topic, and the topic is left unchanged', async () => {
    const cluster = await connectAs('bob', kafka.passwords.bob!)
    try {
      const report = await checkPermissions(cluster, {topic, groups: [group], controlTopic, targetPartitions: 6})
      const missing = report.missing.map((m) => `${m.operation} ${m.resource}`)
      expect(missing).toContain(`ALTER topic ${topic}`)
      expect(missing).toContain(`READ group ${group}`)
      expect(missing).toContain(`WRITE topic ${controlTopic}`)
      expect(missing).toHaveLength(3)
      expect(report.missing.find((m) => m.operation === 'ALTER')?.reason).toContain('add partitions')
    } finally {
      await cluster.close()
    }
    // The ALTER probe was validate-only: still 3 partitions.
    const {topics} = await setup.fetchTopicMetadata({topics: [topic]})
    expect(topics[0]?.partitions).toHaveLength(3)
  })

  it('marks what it cannot probe as unverified when ACLs are unreadable, and still proves ALTER', async () => {
    const cluster = await connectAs('carol', kafka.passwords.carol!)
    try {
      const report = await checkPermissions(cluster, {topic, groups: [group], controlTopic})
      expect(report.missing).toEqual([])
      expect(report.granted.map((g) => `${g.operation} ${g.resource}`)).toContain(`ALTER topic ${topic}`)
      expect(report.unverified.map((u) => `${u.operation} ${u.resource}`).sort()).toEqual(
        [`READ group ${group}`, `READ topic ${controlTopic}`, `WRITE topic ${controlTopic}`].sort(),
      )
      expect(report.unverified[0]?.reason).toContain('DESCRIBE on the cluster')
    } finally {
      await cluster.close()
    }
  })

  it('tells a missing topic (for someone allowed to know) from an invisible one, and names CREATE for a missing control topic', async () => {
    const absent = randomName('sec-absent')
    const admin = await connectAs('admin', kafka.passwords.admin!)
    const bob = await connectAs('bob', kafka.passwords.bob!)
    try {
      // The super user may know the topic does not exist: that is preflight's "topic missing", not a permission.
      expect(await checkPermissions(admin, {topic: absent, groups: [], controlTopic})).toMatchObject({topicMissing: true, missing: []})
      // Kafka hides existence from bob, so for him the same topic is a missing DESCRIBE (and ALTER).
      const hidden = await checkPermissions(bob, {topic: absent, groups: [], controlTopic})
      expect(hidden.topicMissing).toBe(false)
      expect(hidden.missing.map((m) => `${m.operation} ${m.resource}`)).toEqual([`DESCRIBE topic ${absent}`, `ALTER topic ${absent}`])
      const noControl = await checkPermissions(bob, {topic, groups: [], controlTopic: `${absent}-control`})
      expect(noControl.missing.map((m) => `${m.operation} ${m.resource}`)).toContain(`CREATE topic ${absent}-control`)
    } finally {
      await admin.close()
      await bob.close()
    }
    // Validate-only: the control topic the admin could have created was not.
    expect(await setup.listTopics()).not.toContain(`${absent}-control`)
  })

  it('a super user passes every probe', async () => {
    const cluster = await connectAs('admin', kafka.passwords.admin!)
    try {
      const report = await checkPermissions(cluster, {topic, groups: [group], controlTopic})
      expect(report.missing).toEqual([])
    } finally {
      await cluster.close()
    }
  })
})

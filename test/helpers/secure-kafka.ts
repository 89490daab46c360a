import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {randomBytes, randomUUID} from 'node:crypto'
import {closeSync, existsSync, openSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {cachedKafkaJars, ensureKafkaJars, javaCommand, type KafkaJars} from '../../src/local-kafka/index.js'
import {freePorts} from '../../src/local-kafka/ports.js'
import {killGroupSync, spawnWatchdog, trackProcessGroup, untrackProcessGroup, writePidsFile} from '../../src/local-kafka/watchdog.js'

/**
 * A single-node Kafka secured the way production clusters are: SASL_SSL with SCRAM-SHA-512 on the
 * client listener, certificates generated now with openssl (a throwaway CA, a broker certificate for
 * 127.0.0.1), and the KRaft StandardAuthorizer with no "allow everyone" fallback. SCRAM users are
 * created when the storage is formatted (`--add-scram`), so they exist before the broker serves.
 *
 * The broker also has a PLAINTEXT listener for setup only (creating topics and ACLs as a super user),
 * on loopback, so tests never need the admin's password and the secured listener sees only the users
 * under test. This is the security tests' own broker: the shared dev broker stays untouched.
 */

export interface SecureKafka {
  /** The SASL_SSL listener, "127.0.0.1:port". */
  brokers: string
  /**
   * With `oauthbearer`: a second SASL_SSL listener that accepts only OAUTHBEARER, validated by Kafka's
   * unsecured JWT validator (tokens are JWTs with alg "none"; `sub` is the principal, `exp` required).
   */
  oauthBrokers?: string
  /** PLAINTEXT listener whose (anonymous) principal is a super user: setup only. */
  setupBrokers: string
  /** PEM of the CA that signed the broker certificate. */
  caFile: string
  /** Where the test can write its own files (profiles, password files); removed by stop(). */
  dir: string
  /** SCRAM-SHA-512 users and their random passwords. */
  passwords: Record<string, string>
  logFile: string
  stop(): Promise<void>
}

const READY_LINE = 'Kafka Server started'

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, {cwd, encoding: 'utf8', timeout: 120_000})
  if (result.status !== 0) {
    throw new Error(
      `${path.basename(command)} ${args.slice(0, 3).join(' ')}… failed (exit ${result.status}): ${`${result.stdout}${result.stderr}`.trim().slice(-2000)}`,
    )
  }
}

/** A CA and a broker certificate for 127.0.0.1/localhost, PEM, PKCS#8 key (what Kafka's PEM keystore reads). */
function generateCertificates(dir: string): {caFile: string; brokerPem: string} {
  const ssl = 'openssl'
  run(
    ssl,
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kreorg-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem'],
    dir,
  )
  run(ssl, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'broker.key', '-out', 'broker.csr'], dir)
  const ext = path.join(dir, 'broker.ext')
  spawnSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ${JSON.stringify(ext)}`])
  run(
    ssl,
    [
      'x509',
      '-req',
      '-in',
      'broker.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'broker.ext',
      '-out',
      'broker.crt',
    ],
    dir,
  )
  run(ssl, ['pkcs8', '-topk8', '-nocrypt', '-in', 'broker.key', '-out', 'broker.pk8'], dir)
  const brokerPem = path.join(dir, 'broker-keystore.pem')
  spawnSync('sh', ['-c', `cat broker.pk8 broker.crt ca.pem > ${JSON.stringify(brokerPem)}`], {cwd: dir})
  return {caFile: path.join(dir, 'ca.pem'), brokerPem}
}

async function kafkaJars(): Promise<KafkaJars> {
  const cached = await cachedKafkaJars()
  if (cached) return cached
  // This machine's pre-downloaded jars (see the preamble); CI downloads into the cache dir instead.
  const probe = '/tmp/kprobe/lib'
  if (existsSync(path.join(probe, 'kafka_2.13-4.3.1.jar'))) return {libDir: probe, classpath: `${probe}${path.sep}*`}
  return ensureKafkaJars({log: (line) => process.stdout.write(`[secure-kafka] ${line}\n`)})
}

function randomClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

export interface SecureKafkaOptions {
  users: string[]
  startTimeoutMs?: number
  /** Add the OAUTHBEARER listener; `reauthMs` sets its connections.max.reauth.ms so clients must re-authenticate. */
  oauthbearer?: {reauthMs?: number}
}

/** Kafka's server settings for an OAUTHBEARER listener with the unsecured JWT validator (Kafka 4.3.1). */
function oauthbearerListener(name: string, reauthMs: number | undefined): string[] {
  const prefix = `listener.name.${name.toLowerCase()}`
  return [
    `${prefix}.sasl.enabled.mechanisms=OAUTHBEARER`,
    // With no sasl.server.callback.handler.class, the broker validates with OAuthBearerUnsecuredValidatorCallbackHandler.
    // The login module is still required for the listener; its token is the broker's own (unused here: inter-broker is SETUP).
    `${prefix}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";`,
    ...(reauthMs === undefined ? [] : [`${prefix}.oauthbearer.connections.max.reauth.ms=${reauthMs}`]),
  ]
}

export async function startSecureKafka(options: SecureKafkaOptions): Promise<SecureKafka> {
  const jars = await kafkaJars()
  const java = javaCommand()
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kreorg-secure-kafka-'))
  spawnWatchdog(dir)
  const [saslPort, setupPort, controllerPort, oauthPort] = (await freePorts(4)) as [number, number, number, number]
  const oauth = options.oauthbearer
  const {caFile, brokerPem} = generateCertificates(dir)
  const passwords = Object.fromEntries(options.users.map((user) => [user, `pw-${randomBytes(9).toString('base64url')}`]))

  const properties = path.join(dir, 'server.properties')
  await mkdir(path.join(dir, 'data'))
  await writeFile(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=SASL_SSL://127.0.0.1:${saslPort},SETUP://127.0.0.1:${setupPort},CONTROLLER://127.0.0.1:${controllerPort}${oauth ? `,OAUTH://127.0.0.1:${oauthPort}` : ''}`,
      `advertised.listeners=SASL_SSL://127.0.0.1:${saslPort},SETUP://127.0.0.1:${setupPort}${oauth ? `,OAUTH://127.0.0.1:${oauthPort}` : ''}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=SETUP',
      `listener.security.protocol.map=SASL_SSL:SASL_SSL,SETUP:PLAINTEXT,CONTROLLER:PLAINTEXT${oauth ? ',OAUTH:SASL_SSL' : ''}`,
      ...(oauth ? oauthbearerListener('OAUTH', oauth.reauthMs) : []),
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
      // The broker only verifies SCRAM here (it never logs in itself over SASL): an empty login module suffices.
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${brokerPem}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${caFile}`,
      'ssl.client.auth=none',
      'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // Plaintext setup/controller/inter-broker traffic is ANONYMOUS on loopback; "admin" is the SCRAM super user.
      'super.users=User:ANONYMOUS;User:admin',
      'allow.everyone.if.no.acl.found=false',
      `log.dirs=${path.join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  )

  const scram = Object.entries(passwords).flatMap(([name, password]) => [
    '--add-scram',
    `SCRAM-SHA-512=[name=${name},password=${password}]`,
  ])
  const format = spawnSync(
    java,
    ['-cp', jars.classpath, 'kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', properties, ...scram],
    {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    },
  )
  if (format.status !== 0) throw new Error(`kafka-storage format failed: ${`${format.stdout}${format.stderr}`.trim().slice(-2000)}`)

  const logFile = path.join(dir, 'kafka.log')
  const out = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(java, ['-Xmx512m', '-Djava.awt.headless=true', '-cp', jars.classpath, 'kafka.Kafka', properties], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', out, out],
    })
  } finally {
    closeSync(out)
  }
  const pid = child.pid!
  trackProcessGroup(pid)
  writePidsFile(dir, [pid])
  child.unref()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroupSync(pid, 'SIGTERM')
      const done = await Promise.race([exited.then(() => true), sleep(20_000, false)])
      if (!done) {
        killGroupSync(pid, 'SIGKILL')
        await exited
      }
    }
    untrackProcessGroup(pid)
    await rm(dir, {recursive: true, force: true})
  }

  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000)
  for (;;) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''
    if (log.includes(READY_LINE)) break
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop().catch(() => {})
      // The first errors say why; the tail is only the shutdown that followed.
      const errors = log
        .split('\n')
        .filter((line) => / ERROR |FATAL|Exception:/.test(line))
        .slice(0, 15)
      throw new Error(`secure Kafka did not start:\n${errors.join('\n') || log.split('\n').slice(-30).join('\n')}`)
    }
    await sleep(200)
  }

  return {
    brokers: `127.0.0.1:${saslPort}`,
    ...(oauth ? {oauthBrokers: `127.0.0.1:${oauthPort}`} : {}),
    setupBrokers: `127.0.0.1:${setupPort}`,
    caFile,
    dir,
    passwords,
    logFile,
    stop,
  }
}

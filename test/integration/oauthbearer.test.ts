import type {AddressInfo} from 'node:net'

import {appendFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Admin, createKafkaClient} from '../../src/kafka/client.js'
import {KafkajsCluster} from '../../src/kafka/kafkajs-cluster.js'
import {type CliResult, parseNdjson, runCli} from '../helpers/cli.js'
import {randomName} from '../helpers/kafka.js'
import {type SecureKafka, startSecureKafka} from '../helpers/secure-kafka.js'

/**
 * SASL OAUTHBEARER against a real Kafka 4.3.1 broker whose OAUTHBEARER listener (SASL_SSL) validates
 * tokens with Kafka's unsecured JWT validator: unsigned JWTs (alg "none") whose `sub` is the principal
 * and whose `exp` the broker enforces. "admin" is a super user, so these tests are about
 * authentication, not ACLs. Everything user-facing goes through the compiled CLI.
 */

let kafka: SecureKafka
let setup: Admin
let tokenEndpoint: http.Server
let endpointUrl = ''
const endpointCalls: string[] = []
const topic = randomName('oauth-orders')
const group = randomName('oauth-billing')
const CLIENT_SECRET = `client-secret-${Math.random().toString(36).slice(2)}`
/**
 * connections.max.reauth.ms of the OAUTHBEARER listener: sessions last at most this long, so clients
 * re-authenticate on open connections (kafkajs does it 10 s before the session ends).
 */
const REAUTH_MS = 12_000

/** An RFC 6749 token response; its field names are the wire format's. */
function tokenResponse(accessToken: string, expiresIn: number): Record<string, unknown> {
  return Object.fromEntries([
    ['access_token', accessToken],
    ['token_type', 'Bearer'],
    ['expires_in', expiresIn],
  ])
}

function unsecuredJwt(sub: string, lifetimeSeconds: number, alg = 'none'): string {
  const now = Math.floor(Date.now() / 1000)
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({alg})}.${part({sub, iat: now, exp: now + lifetimeSeconds})}.`
}

/** A token command as users write them: prints one token, here a fresh one each run, and counts its runs. */
function tokenCommand(options: {lifetimeSeconds: number; counter?: string}): string {
  const script = path.join(kafka.dir, 'print-token.mjs')
  writeFileSync(
    script,
    [
      "import {appendFileSync} from 'node:fs'",
      'const [sub, lifetime, counter] = process.argv.slice(2)',
      String.raw`if (counter) appendFileSync(counter, "run\n")`,
      'const now = Math.floor(Date.now() / 1000)',
      "const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')",
      String.raw`process.stdout.write(part({alg: 'none'}) + '.' + part({sub, iat: now, exp: now + Number(lifetime)}) + '.\n')`,
      '',
    ].join('\n'),
  )
  return [process.execPath, script, 'admin', String(options.lifetimeSeconds), ...(options.counter ? [options.counter] : [])]
    .map((a) => JSON.stringify(a))
    .join(' ')
}

function kreorg(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, {
    env: {
      XDG_CONFIG_HOME: path.join(kafka.dir, 'xdg-empty'),
      KAFKA_BROKERS: undefined,
      KAFKA_SASL_MECHANISM: undefined,
      KAFKA_SASL_USERNAME: undefined,
      KAFKA_SASL_PASSWORD: undefined,
      KAFKA_OAUTH_TOKEN_COMMAND: undefined,
      KAFKA_OAUTH_TOKEN_FILE: undefined,
      KAFKA_OAUTH_TOKEN_ENDPOINT: undefined,
      KAFKA_OAUTH_CLIENT_SECRET: undefined,
      KREORG_PROFILE: undefined,
      ...env,
    },
    timeoutMs: 60_000,
  })
}

function writeProfile(name: string, sasl: string[]): string {
  const xdg = path.join(kafka.dir, `xdg-${name}`)
  mkdirSync(path.join(xdg, 'kreorg'), {recursive: true})
  writeFileSync(
    path.join(xdg, 'kreorg', 'config.yaml'),
    [
      'profiles:',
      `  ${name}:`,
      `    brokers: [${kafka.oauthBrokers}]`,
      `    tls: {caFile: ${kafka.caFile}}`,
      '    sasl:',
      ...sasl.map((line) => `      ${line}`),
      '',
    ].join('\n'),
  )
  return xdg
}

function expectNoSecrets(result: CliResult, secrets: string[]): void {
  const output = `${result.stdout}\n${result.stderr}`
  for (const secret of [CLIENT_SECRET, ...secrets]) expect(output).not.toContain(secret)
}

function lagGroups(result: CliResult): string[] {
  return (JSON.parse(result.stdout) as {groups: Array<{groupId: string}>}).groups.map((g) => g.groupId)
}

beforeAll(async () => {
  kafka = await startSecureKafka({users: ['admin'], oauthbearer: {reauthMs: REAUTH_MS}, startTimeoutMs: 150_000})
  setup = createKafkaClient({brokers: [kafka.setupBrokers], clientId: 'kreorg-oauth-setup', connectTimeoutMs: 15_000}).admin()
  await setup.connect()
  await setup.createTopics({waitForLeaders: true, topics: [{topic, numPartitions: 2, replicationFactor: 1}]})
  // A fresh broker loads __consumer_offsets lazily; on a busy machine the first coordinator lookups fail.
  for (const deadline = Date.now() + 90_000; ; await sleep(1000)) {
    try {
      await setup.setOffsets({groupId: group, topic, partitions: [0, 1].map((partition) => ({partition, offset: '0'}))})
      break
    } catch (error) {
      if (Date.now() > deadline) throw error
    }
  }

  // A client-credentials token endpoint, as an identity provider would run it.
  tokenEndpoint = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      endpointCalls.push(body)
      const expected = `Basic ${Buffer.from(`kreorg-cli:${CLIENT_SECRET}`).toString('base64')}`
      if (req.headers.authorization !== expected) {
        res.writeHead(401, {'content-type': 'application/json'}).end(JSON.stringify({error: 'invalid_client'}))
        return
      }
      res.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify(tokenResponse(unsecuredJwt('admin', 3600), 3600)))
    })
  })
  await new Promise<void>((resolve) => tokenEndpoint.listen(0, '127.0.0.1', resolve))
  endpointUrl = `http://127.0.0.1:${(tokenEndpoint.address() as AddressInfo).port}/oauth2/token`
}, 180_000)

afterAll(async () => {
  await new Promise<void>((resolve) => (tokenEndpoint ? tokenEndpoint.close(() => resolve()) : resolve()))
  await setup?.disconnect().catch(() => {})
  await kafka?.stop()
})

describe('OAUTHBEARER through the CLI', () => {
  it('a valid token from a command (flags) works', async () => {
    const result = await kreorg([
      'lag',
      topic,
      '--brokers',
      kafka.oauthBrokers!,
      '--tls-ca',
      kafka.caFile,
      '--oauth-token-command',
      tokenCommand({lifetimeSeconds: 3600}),
      '--json',
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(lagGroups(result)).toContain(group)
  })

  it('a valid token from a file (profile) works, and from env vars alone', async () => {
    const token = unsecuredJwt('admin', 3600)
    const tokenFile = path.join(kafka.dir, 'admin.jwt')
    writeFileSync(tokenFile, `${token}\n`, {mode: 0o600})
    const xdg = writeProfile('oauth-file', ['mechanism: oauthbearer', `oauth: {tokenFile: ${tokenFile}}`])
    const viaProfile = await kreorg(['lag', topic, '--profile', 'oauth-file', '--json'], {XDG_CONFIG_HOME: xdg})
    expect(viaProfile.code).toBe(0)
    expect(lagGroups(viaProfile)).toContain(group)
    expectNoSecrets(viaProfile, [token])

    const viaEnv = await kreorg(['lag', topic], {
      KAFKA_BROKERS: kafka.oauthBrokers,
      KAFKA_TLS_CA_FILE: kafka.caFile,
      KAFKA_SASL_MECHANISM: 'OAUTHBEARER',
      KAFKA_OAUTH_TOKEN_FILE: tokenFile,
    })
    expect(viaEnv.code).toBe(0)
    expect(viaEnv.stdout).toContain(group)
    expectNoSecrets(viaEnv, [token])
  })

  it('a token from an OIDC client-credentials endpoint works; config show masks the client secret', async () => {
    const secretFile = path.join(kafka.dir, 'client-secret')
    writeFileSync(secretFile, `${CLIENT_SECRET}\n`, {mode: 0o600})
    const xdg = writeProfile('oauth-idp', [
      'mechanism: oauthbearer',
      `oauth: {tokenEndpoint: "${endpointUrl}", clientId: kreorg-cli, clientSecretFile: ${secretFile}, scope: kafka}`,
    ])
    endpointCalls.length = 0
    const lag = await kreorg(['lag', topic, '--profile', 'oauth-idp', '--json'], {XDG_CONFIG_HOME: xdg})
    expect(lag.code).toBe(0)
    expect(lagGroups(lag)).toContain(group)
    expect(endpointCalls).toEqual(['grant_type=client_credentials&scope=kafka'])
    expectNoSecrets(lag, [])

    const show = await kreorg(['config', 'show', '--profile', 'oauth-idp', '--json'], {XDG_CONFIG_HOME: xdg})
    expect(show.code).toBe(0)
    expectNoSecrets(show, [])
    const view = JSON.parse(show.stdout) as {settings: Array<{key: string; value: unknown; source: string | null}>}
    expect(view.settings.find((s) => s.key === 'sasl.oauth.clientSecret')).toEqual({
      key: 'sasl.oauth.clientSecret',
      value: `******** (file ${secretFile})`,
      source: 'profile oauth-idp (sasl.oauth.clientSecretFile)',
    })
    const text = await kreorg(['config', 'show', '--profile', 'oauth-idp'], {
      XDG_CONFIG_HOME: xdg,
      KAFKA_OAUTH_CLIENT_SECRET: CLIENT_SECRET,
    })
    expect(text.code).toBe(0)
    // The env var beats the profile's file, like every other setting; either way only the mask shows.
    expect(text.stdout).toMatch(/sasl\.oauth\.clientSecret\s+\*{8} \(env KAFKA_OAUTH_CLIENT_SECRET\)\s+env KAFKA_OAUTH_CLIENT_SECRET/)
    expectNoSecrets(text, [])

    // The wrong secret: the endpoint's refusal, as one line naming the mechanism.
    writeFileSync(secretFile, 'not-the-secret\n')
    const refused = await kreorg(['lag', topic, '--profile', 'oauth-idp'], {XDG_CONFIG_HOME: xdg})
    expect(refused.code).toBe(2)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toContain(
      `authentication with OAUTHBEARER failed at ${kafka.oauthBrokers}: token endpoint ${endpointUrl} answered HTTP 401: invalid_client`,
    )
    expect(refused.stderr).not.toContain('not-the-secret')
  })

  it('a token command that fails exits 2 with one line naming OAUTHBEARER and no secret', async () => {
    const token = unsecuredJwt('admin', 3600)
    const tokenFile = path.join(kafka.dir, 'leaky.jwt')
    writeFileSync(tokenFile, token)
    // Prints a token on stdout, then fails: kreorg must neither use nor show it.
    const failing = `cat ${JSON.stringify(tokenFile)}; echo "sso: session expired, run login" >&2; exit 7`
    const args = ['lag', topic, '--brokers', kafka.oauthBrokers!, '--tls-ca', kafka.caFile, '--oauth-token-command', failing]
    const result = await kreorg(args)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^Error: authentication with OAUTHBEARER failed at 127\.0\.0\.1:\d+: the token command exited with code 7: sso: session expired, run login \(check the token source/,
    )
    expectNoSecrets(result, [token])

    const json = await kreorg([...args, '--json'])
    expect(json.code).toBe(2)
    const [event] = parseNdjson(json.stdout)
    expect(event).toMatchObject({event: 'error', code: 'auth', exitCode: 2})
    expect(String(event?.message)).toContain('OAUTHBEARER')
    expectNoSecrets(json, [token])
  })

  it('the broker refuses a token its validator rejects (signed, not alg none): exit 2, one line', async () => {
    const signed = unsecuredJwt('admin', 3600, 'HS256')
    const tokenFile = path.join(kafka.dir, 'signed.jwt')
    writeFileSync(tokenFile, signed)
    const result = await kreorg(['lag', topic, '--brokers', kafka.oauthBrokers!, '--tls-ca', kafka.caFile, '--oauth-token-file', tokenFile])
    expect(result.code).toBe(2)
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    // Kafka's unsecured validator answers an "alg" other than none with the RFC 6750 status invalid_token.
    expect(lines[0]).toMatch(
      /^Error: authentication with OAUTHBEARER failed at 127\.0\.0\.1:\d+: the broker refused the token \(invalid_token\)/,
    )
    expectNoSecrets(result, [signed])
  })

  it('an expired token is refused before the broker is asked', async () => {
    const expired = unsecuredJwt('admin', -60)
    const tokenFile = path.join(kafka.dir, 'expired.jwt')
    writeFileSync(tokenFile, expired)
    const result = await kreorg(['lag', topic, '--brokers', kafka.oauthBrokers!, '--tls-ca', kafka.caFile, '--oauth-token-file', tokenFile])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(
      new RegExp(
        `authentication with OAUTHBEARER failed at .*: the token from token file ${tokenFile.replaceAll(/[.*+?^${}()|[\]\\]/g, String.raw`\$&`)} expired at `,
      ),
    )
    expectNoSecrets(result, [expired])
  })
})

describe('OAUTHBEARER token refresh against the broker', () => {
  it('re-authenticates open connections, and with a freshly fetched token once the old one is due', async () => {
    const counter = path.join(kafka.dir, 'refresh-runs')
    appendFileSync(counter, '')
    const runs = () => readFileSync(counter, 'utf8').split('\n').filter(Boolean).length
    // 40 s tokens: handed out from the cache until 30 s before they expire, i.e. for 10 s.
    const cluster = new KafkajsCluster({
      brokers: [kafka.oauthBrokers!],
      clientId: 'kreorg-oauth-refresh',
      connectTimeoutMs: 15_000,
      tls: {ca: readFileSync(kafka.caFile, 'utf8')},
      sasl: {mechanism: 'oauthbearer', token: {kind: 'command', command: tokenCommand({lifetimeSeconds: 40, counter}), timeoutMs: 10_000}},
    })
    try {
      await cluster.connect()
      expect(runs()).toBe(1)
      // The broker's 12 s session is within kafkajs's 10 s margin: this request re-authenticates with the cached token.
      await sleep(4000)
      expect((await cluster.describeTopic(topic)).partitions).toHaveLength(2)
      expect(runs()).toBe(1)
      // Past the refresh point: the next re-authentication runs the command again, and the broker takes the new token.
      await sleep(8000)
      expect((await cluster.describeTopic(topic)).partitions).toHaveLength(2)
      expect(runs()).toBe(2)
      // The session started with the new token outlives the first session (12 s): the connection is still good.
      await sleep(3000)
      expect((await cluster.describeTopic(topic)).partitions).toHaveLength(2)
    } finally {
      await cluster.close()
    }
  }, 60_000)
})

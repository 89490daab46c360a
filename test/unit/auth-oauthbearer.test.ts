import type {AddressInfo} from 'node:net'

import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {maskSecrets} from '../../src/core/redact.js'
import {initialClientResponse, oauthBearerMechanism} from '../../src/kafka/auth/oauthbearer-mechanism.js'
import {fetchOAuthToken, jwtExpiry, oauthTokenProvider} from '../../src/kafka/auth/oauthbearer.js'
import {SaslAuthError} from '../../src/kafka/auth/sasl-auth-error.js'

/** An unsecured JWT (alg none), the kind Kafka's unsecured validator accepts; `exp` in epoch seconds. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({alg: 'none'})}.${part(claims)}.`
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'kreorg-oauth-unit-'))

async function failure(promise: Promise<unknown>): Promise<SaslAuthError> {
  const error = await promise.then(
    () => {},
    (error_: unknown) => error_,
  )
  expect(error).toBeInstanceOf(SaslAuthError)
  expect((error as SaslAuthError).mechanism).toBe('OAUTHBEARER')
  return error as SaslAuthError
}

describe('JWT expiry', () => {
  it('reads exp (seconds) from the claims, and nothing from other tokens', () => {
    expect(jwtExpiry(jwt({sub: 'a', exp: 1_700_000_000}))).toBe(1_700_000_000_000)
    expect(jwtExpiry('opaque-token')).toBeUndefined()
    expect(jwtExpiry('a.b.c')).toBeUndefined()
    expect(jwtExpiry(jwt({sub: 'a'}))).toBeUndefined()
  })
})

describe('token from a command', () => {
  it('uses trimmed stdout and reruns the command at 80% of the lifetime or 30 s before expiry, whichever is first', async () => {
    const counter = path.join(dir, 'command-runs')
    let now = 1_000_000_000_000
    const token = jwt({sub: 'admin', exp: now / 1000 + 100})
    const command = `echo run >> ${JSON.stringify(counter)}; echo ${JSON.stringify(token)}`
    const provider = oauthTokenProvider({kind: 'command', command, timeoutMs: 5000}, {now: () => now})
    const runs = () => readFileSync(counter, 'utf8').trim().split('\n').length
    expect(await provider()).toEqual({value: token})
    // Concurrent connections share one run.
    await Promise.all([provider(), provider(), provider()])
    expect(runs()).toBe(1)
    // 100 s lifetime: 30 s before expiry (70 s) comes before 80% (80 s).
    now += 69_000
    await provider()
    expect(runs()).toBe(1)
    now += 2000
    await provider()
    expect(runs()).toBe(2)
    expect(maskSecrets(`leaked ${token}`)).toBe('leaked ********')
  })

  it('a failing command names its exit code and first stderr line, never its stdout', async () => {
    const error = await failure(
      fetchOAuthToken({kind: 'command', command: 'echo half-a-token; echo "vault: permission denied" >&2; exit 3', timeoutMs: 5000}),
    )
    expect(error.message).toBe('the token command exited with code 3: vault: permission denied')
  })

  it('a hung command is killed at its timeout', async () => {
    const started = Date.now()
    const error = await failure(fetchOAuthToken({kind: 'command', command: 'sleep 30', timeoutMs: 500}))
    expect(error.message).toBe('the token command did not finish within 1s')
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('refuses empty output, non-token output and expired tokens without quoting them', async () => {
    expect((await failure(fetchOAuthToken({kind: 'command', command: 'true', timeoutMs: 5000}))).message).toBe(
      'the token command gave an empty token',
    )
    const prose = await failure(fetchOAuthToken({kind: 'command', command: 'echo "Please log in: secret-ish text"', timeoutMs: 5000}))
    expect(prose.message).toMatch(/did not give a bearer token/)
    expect(prose.message).not.toContain('secret-ish')
    const expired = jwt({sub: 'a', exp: 1_600_000_000})
    const old = await failure(fetchOAuthToken({kind: 'command', command: `echo ${expired}`, timeoutMs: 5000}))
    expect(old.message).toBe('the token from the token command expired at 2020-09-13T12:26:40.000Z')
  })
})

describe('token from a file', () => {
  it('rereads the file at each refresh, so a rotated token is picked up', async () => {
    const file = path.join(dir, 'token')
    let now = 2_000_000_000_000
    const first = jwt({sub: 'admin', exp: now / 1000 + 600})
    writeFileSync(file, `${first}\n`)
    const provider = oauthTokenProvider({kind: 'file', path: file}, {now: () => now})
    expect(await provider()).toEqual({value: first})
    const second = jwt({sub: 'admin', exp: now / 1000 + 1200})
    writeFileSync(file, second)
    expect(await provider()).toEqual({value: first})
    now += 481_000
    expect(await provider()).toEqual({value: second})
    // A token with under 30 s left is never handed out from the cache.
    now += 1_000_000
    const short = jwt({sub: 'admin', exp: now / 1000 + 20})
    writeFileSync(file, short)
    expect(await provider()).toEqual({value: short})
    const third = jwt({sub: 'admin', exp: now / 1000 + 900})
    writeFileSync(file, third)
    expect(await provider()).toEqual({value: third})
  })

  it('names a missing file and its errno', async () => {
    const error = await failure(fetchOAuthToken({kind: 'file', path: path.join(dir, 'absent')}))
    expect(error.message).toBe(`cannot read token file ${path.join(dir, 'absent')}: ENOENT`)
  })
})

describe('token from a client-credentials endpoint', () => {
  let server: http.Server
  let url: string
  const seen: Array<{authorization: string | undefined; body: string}> = []
  // Raw JSON text: OAuth's snake_case field names are the wire format's.
  let reply: {status: number; body: string} = {status: 200, body: '{}'}

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      req.on('end', () => {
        seen.push({authorization: req.headers.authorization, body})
        res.writeHead(reply.status, {'content-type': 'application/json'}).end(reply.body)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('posts grant_type and scope with HTTP Basic client authentication, and refreshes from expires_in', async () => {
    seen.length = 0
    reply = {status: 200, body: '{"access_token": "opaque-access-token-1", "token_type": "Bearer", "expires_in": 300}'}
    let now = 3_000_000_000_000
    const provider = oauthTokenProvider(
      {
        kind: 'client-credentials',
        endpoint: url,
        clientId: 'kreorg cli',
        clientSecret: 's3cr3t:with&chars',
        scope: 'kafka.admin',
        timeoutMs: 5000,
      },
      {now: () => now},
    )
    expect(await provider()).toEqual({value: 'opaque-access-token-1'})
    expect(seen).toHaveLength(1)
    // RFC 6749 2.3.1: id and secret form-encoded, then Basic.
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('kreorg+cli:s3cr3t%3Awith%26chars').toString('base64')}`)
    expect(new URLSearchParams(seen[0]!.body).toString()).toBe('grant_type=client_credentials&scope=kafka.admin')
    now += 239_000
    await provider()
    expect(seen).toHaveLength(1)
    now += 2000
    await provider()
    expect(seen).toHaveLength(2)
    expect(maskSecrets('opaque-access-token-1')).toBe('********')
  })

  it('reports the OAuth error code of a refusal, not the secret', async () => {
    reply = {status: 401, body: '{"error": "invalid_client", "error_description": "Client authentication failed"}'}
    const error = await failure(
      fetchOAuthToken({
        kind: 'client-credentials',
        endpoint: url,
        clientId: 'kreorg',
        clientSecret: 'wrong-secret-value',
        timeoutMs: 5000,
      }),
    )
    expect(error.message).toBe(`token endpoint ${url} answered HTTP 401: invalid_client (Client authentication failed)`)
    expect(error.message).not.toContain('wrong-secret-value')
  })

  it('names an unreachable endpoint', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const endpoint = `http://127.0.0.1:${port}/token`
    const error = await failure(
      fetchOAuthToken({kind: 'client-credentials', endpoint, clientId: 'k', clientSecret: 'secret-1', timeoutMs: 5000}),
    )
    expect(error.message).toBe(`token endpoint ${endpoint} is not reachable: ECONNREFUSED`)
  })
})

describe('the OAUTHBEARER exchange', () => {
  const frame = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes])
  const args = {host: 'broker', port: 9093, logger: {debug() {}}}

  it('sends the RFC 7628 initial response and succeeds on an empty answer', async () => {
    const sent: Buffer[] = []
    await oauthBearerMechanism(async () => ({value: 'tok.en.'}))
      .authenticationProvider({
        ...args,
        async saslAuthenticate({request, response}) {
          sent.push(await request.encode())
          return response!.parse(await response!.decode(frame(Buffer.alloc(0)))) as never
        },
      })
      .authenticate()
    expect(initialClientResponse('tok.en.').toString()).toBe('n,,\x01auth=Bearer tok.en.\x01\x01')
    expect(sent).toEqual([frame(initialClientResponse('tok.en.'))])
  })

  it('answers an error document with %x01 and fails naming its status and the broker message', async () => {
    const sent: Buffer[] = []
    const error = await oauthBearerMechanism(async () => ({value: 'tok.en.'}))
      .authenticationProvider({
        ...args,
        async saslAuthenticate({request, response}) {
          sent.push(await request.encode())
          if (sent.length === 2)
            throw new Error('Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER')
          return response!.parse(await response!.decode(frame(Buffer.from('{"status":"invalid_token"}')))) as never
        },
      })
      .authenticate()
      .catch((error_: unknown) => error_)
    expect(sent[1]).toEqual(frame(Buffer.from([1])))
    expect(error).toBeInstanceOf(SaslAuthError)
    expect((error as Error).message).toBe(
      'the broker refused the token (invalid_token): Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER',
    )
  })
})

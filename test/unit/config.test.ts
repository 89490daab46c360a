import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {type ConnectionFlags, resolveConnection, resolveConnectionDetails} from '../../src/config/resolve.js'
import {KreorgError} from '../../src/core/errors.js'
import {clearRegisteredSecrets, MASK, maskSecrets, redact} from '../../src/core/redact.js'

let home: string
let xdg: string

function writeConfig(name: string, text: string): string {
  const file = path.join(xdg, 'kreorg', name)
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
  return file
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {HOME: home, XDG_CONFIG_HOME: xdg, ...extra}
}

function usageError(fn: () => unknown): KreorgError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(KreorgError)
    const kreorgError = error as KreorgError
    expect(kreorgError.exitCode).toBe(2)
    expect(kreorgError.message).not.toContain('\n')
    return kreorgError
  }
  throw new Error('expected a usage error')
}

function sourceOf(flags: ConnectionFlags, environment: Record<string, string>, key: string): string | null {
  return resolveConnectionDetails(flags, environment).settings.find((s) => s.key === key)?.source ?? null
}

const PROFILES = `
defaultProfile: dev
profiles:
  dev:
    brokers: [dev-1:9092]
  prod:
    brokers: [prod-1:9093, prod-2:9093]
    clientId: oncall
    connectTimeout: 15s
    tls: {caFile: ca.pem}
    sasl: {mechanism: SCRAM-SHA-512, username: alice, passwordEnv: PROD_PW}
`

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'kreorg-config-home-'))
  xdg = mkdtempSync(path.join(os.tmpdir(), 'kreorg-config-xdg-'))
  clearRegisteredSecrets()
})

afterEach(() => {
  rmSync(home, {recursive: true, force: true})
  rmSync(xdg, {recursive: true, force: true})
})

describe('resolveConnection precedence', () => {
  beforeEach(() => {
    writeConfig('config.yaml', PROFILES)
    writeFileSync(path.join(xdg, 'kreorg', 'ca.pem'), '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n')
  })

  it('takes brokers from the flag over the env over the profile', () => {
    const e = env({PROD_PW: 'pw-prod-1234', KAFKA_BROKERS: 'env-1:9092'})
    expect(resolveConnection({profile: 'prod', brokers: 'flag-1:9092'}, e).brokers).toEqual(['flag-1:9092'])
    expect(resolveConnection({profile: 'prod'}, e).brokers).toEqual(['env-1:9092'])
    expect(sourceOf({profile: 'prod'}, e, 'brokers')).toBe('env KAFKA_BROKERS')
    const {KAFKA_BROKERS: _, ...withoutEnv} = e
    expect(resolveConnection({profile: 'prod'}, withoutEnv).brokers).toEqual(['prod-1:9093', 'prod-2:9093'])
    expect(sourceOf({profile: 'prod'}, withoutEnv, 'brokers')).toBe('profile prod (brokers)')
  })

  it('reads the whole profile: client id, timeout, TLS CA relative to the file, SCRAM credentials', () => {
    const options = resolveConnection({profile: 'prod'}, env({PROD_PW: 'pw-prod-1234'}))
    expect(options).toMatchObject({
      clientId: 'oncall',
      connectTimeoutMs: 15_000,
      sasl: {mechanism: 'scram-sha-512', username: 'alice', password: 'pw-prod-1234'},
      tls: {ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true},
    })
  })

  it('lets env override single SASL fields of the profile, and flags override env', () => {
    const e = env({PROD_PW: 'pw-prod-1234', KAFKA_SASL_USERNAME: 'bob', KAFKA_SASL_PASSWORD: 'pw-env-5678'})
    expect(resolveConnection({profile: 'prod'}, e).sasl).toEqual({mechanism: 'scram-sha-512', username: 'bob', password: 'pw-env-5678'})
    const pwFile = path.join(home, 'pw')
    writeFileSync(pwFile, 'pw-file-9999\n')
    expect(
      resolveConnection({profile: 'prod', 'sasl-username': 'carol', 'sasl-password-file': pwFile, 'sasl-mechanism': 'scram-sha-256'}, e)
        .sasl,
    ).toEqual({
      mechanism: 'scram-sha-256',
      username: 'carol',
      password: 'pw-file-9999',
    })
    expect(resolveConnection({profile: 'prod', 'sasl-password-env': 'OTHER'}, {...e, OTHER: 'pw-other-0000'}).sasl).toMatchObject({
      password: 'pw-other-0000',
    })
  })

  it('uses defaultProfile, then KREORG_PROFILE over it, then --profile over both', () => {
    const e = env({PROD_PW: 'pw-prod-1234'})
    expect(resolveConnection({}, e).brokers).toEqual(['dev-1:9092'])
    expect(resolveConnection({}, {...e, KREORG_PROFILE: 'prod'}).brokers).toEqual(['prod-1:9093', 'prod-2:9093'])
    expect(resolveConnection({profile: 'dev'}, {...e, KREORG_PROFILE: 'prod'}).brokers).toEqual(['dev-1:9092'])
  })

  it('applies defaults when nothing sets client id or timeout', () => {
    const details = resolveConnectionDetails({brokers: 'b:1', profile: 'dev'}, env())
    expect(details.options).toEqual({brokers: ['b:1'], clientId: 'kreorg', connectTimeoutMs: 10_000})
    expect(details.settings.find((s) => s.key === 'clientId')?.source).toBe('default')
  })

  it('--no-tls switches TLS off even when the profile names a CA', () => {
    const options = resolveConnectionDetails({profile: 'prod', tls: false}, env({PROD_PW: 'pw-prod-1234'}))
    expect(options.options.tls).toBeUndefined()
    expect(options.warnings.join(' ')).toContain('TLS is off')
  })

  it('KAFKA_TLS=true with no files means TLS with the system CAs', () => {
    expect(resolveConnection({brokers: 'b:1'}, env({KAFKA_TLS: 'true'})).tls).toBe(true)
    usageError(() => resolveConnection({brokers: 'b:1'}, env({KAFKA_TLS: 'maybe'})))
  })

  it('never shows the password itself in the settings', () => {
    const details = resolveConnectionDetails({profile: 'prod'}, env({PROD_PW: 'pw-prod-1234'}))
    expect(JSON.stringify(details.settings)).not.toContain('pw-prod-1234')
    expect(details.settings.find((s) => s.key === 'sasl.password')).toEqual({
      key: 'sasl.password',
      value: `${MASK} (env PROD_PW)`,
      source: 'profile prod (sasl.passwordEnv)',
    })
  })
})

describe('bad config exits 2 with one line naming the file or key', () => {
  it('unknown profile names the file and the known profiles', () => {
    const file = writeConfig('config.yaml', PROFILES)
    const error = usageError(() => resolveConnection({profile: 'staging'}, env()))
    expect(error.message).toContain('unknown profile "staging"')
    expect(error.message).toContain(file)
    expect(error.suggestions.join(',')).toContain('dev, prod')
  })

  it('a profile with no config file names where it looked', () => {
    const error = usageError(() => resolveConnection({profile: 'prod'}, env()))
    expect(error.message).toContain('no config file')
    expect(error.suggestions.join(',')).toContain(path.join(xdg, 'kreorg', 'config.yaml'))
  })

  it('falls back to ~/.config/kreorg when XDG_CONFIG_HOME is unset', () => {
    const file = path.join(home, '.config', 'kreorg', 'config.json')
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, JSON.stringify({profiles: {j: {brokers: 'json-1:9092'}}}))
    expect(resolveConnection({profile: 'j'}, {HOME: home}).brokers).toEqual(['json-1:9092'])
  })

  it('bad YAML names the file', () => {
    const file = writeConfig('config.yaml', 'profiles:\n  prod: [unclosed\n')
    const error = usageError(() => resolveConnection({brokers: 'b:1'}, env()))
    expect(error.message).toContain(file)
    expect(error.message).toContain('not valid YAML')
  })

  it('bad JSON names the file', () => {
    const file = writeConfig('config.json', '{"profiles": ')
    expect(usageError(() => resolveConnection({brokers: 'b:1'}, env())).message).toContain(`${file}: not valid JSON`)
  })

  it('a typo in a key names the key path', () => {
    writeConfig('config.yaml', 'profiles:\n  prod:\n    brokers: a:1\n    sasl: {mechansim: plain}\n')
    const error = usageError(() => resolveConnection({profile: 'prod'}, env()))
    expect(error.message).toContain('profiles.prod.sasl')
    expect(error.message).toContain('mechansim')
  })

  it('refuses inline passwords in the file, without echoing them', () => {
    writeConfig(
      'config.yaml',
      'profiles:\n  prod:\n    brokers: a:1\n    sasl: {mechanism: plain, username: u, password: hunter2-inline}\n',
    )
    const error = usageError(() => resolveConnection({profile: 'prod'}, env()))
    expect(error.message).toContain('profiles.prod.sasl.password: inline passwords are not allowed')
    expect(error.message).not.toContain('hunter2-inline')
  })

  it('unknown mechanism names where it was set', () => {
    const error = usageError(() =>
      resolveConnection({brokers: 'b:1', 'sasl-username': 'u'}, env({KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_PASSWORD: 'pw-1234'})),
    )
    expect(error.message).toContain('KAFKA_SASL_MECHANISM')
    expect(error.message).toContain('gssapi')
  })

  it('a missing password names the user and mechanism and how to provide one', () => {
    const error = usageError(() => resolveConnection({brokers: 'b:1', 'sasl-mechanism': 'scram-sha-512', 'sasl-username': 'alice'}, env()))
    expect(error.message).toBe('no password for SASL user "alice" (SCRAM-SHA-512)')
    expect(error.suggestions.join(',')).toContain('KAFKA_SASL_PASSWORD')
  })

  it('an unreadable password or CA file names the file and the setting', () => {
    const missing = path.join(home, 'nope.pem')
    let error = usageError(() => resolveConnection({brokers: 'b:1', 'tls-ca': missing}, env()))
    expect(error.message).toBe(`cannot read TLS CA file ${missing} (from --tls-ca): ENOENT`)
    error = usageError(() =>
      resolveConnection({brokers: 'b:1', 'sasl-mechanism': 'plain', 'sasl-username': 'u', 'sasl-password-file': missing}, env()),
    )
    expect(error.message).toContain('SASL password file')
    expect(error.message).toContain('--sasl-password-file')
  })

  it.skipIf(process.getuid?.() === 0)('an unreadable config file names the file', () => {
    const file = writeConfig('config.yaml', PROFILES)
    chmodSync(file, 0o000)
    expect(usageError(() => resolveConnection({brokers: 'b:1'}, env())).message).toContain(`${file}: cannot read it`)
  })

  it('a client certificate without its key is refused', () => {
    const cert = path.join(home, 'c.pem')
    writeFileSync(cert, 'x')
    expect(usageError(() => resolveConnection({brokers: 'b:1', 'tls-cert': cert}, env())).message).toContain('without its key')
  })

  it('a malformed broker from the profile names the profile key', () => {
    writeConfig('config.yaml', 'profiles:\n  p: {brokers: "nohost"}\n')
    expect(usageError(() => resolveConnection({profile: 'p'}, env())).message).toContain('brokers of profile p in')
  })

  it('no brokers anywhere is a usage error that mentions --profile', () => {
    expect(usageError(() => resolveConnection({}, env())).suggestions.join(',')).toContain('--profile')
  })
})

describe('redact', () => {
  it('masks secret-named fields but keeps references to where secrets live', () => {
    const input = {
      sasl: {mechanism: 'plain', username: 'u', password: 'p@ss-1234', passwordEnv: 'PW', passwordFile: '/run/pw'},
      signing: {hmacSecret: 'abcd1234'},
      token: 'tok-123456',
      records: [{key: 'user-1', partition: 3}],
    }
    expect(redact(input)).toEqual({
      sasl: {mechanism: 'plain', username: 'u', password: MASK, passwordEnv: 'PW', passwordFile: '/run/pw'},
      signing: {hmacSecret: MASK},
      token: MASK,
      records: [{key: 'user-1', partition: 3}],
    })
    // The input is untouched.
    expect(input.sasl.password).toBe('p@ss-1234')
  })

  it('masks PEM private keys and given secrets inside any string', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIabc\n-----END PRIVATE KEY-----'
    expect(redact({tls: {key: pem}, note: 'auth failed for s3cr3t-value'}, {secrets: ['s3cr3t-value']})).toEqual({
      tls: {key: MASK},
      note: `auth failed for ${MASK}`,
    })
    expect(maskSecrets(`a ${pem} b`)).toBe(`a ${MASK} b`)
  })

  it('masks secrets the resolver registered, anywhere in later output', () => {
    resolveConnection({brokers: 'b:1', 'sasl-mechanism': 'plain', 'sasl-username': 'u'}, env({KAFKA_SASL_PASSWORD: 'registered-pw-42'}))
    expect(maskSecrets('server said: bad password registered-pw-42')).toBe(`server said: bad password ${MASK}`)
    expect(redact({inputs: {args: ['--x', 'registered-pw-42']}})).toEqual({inputs: {args: ['--x', MASK]}})
  })
})

import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {type ConnectionFlags, resolveConnection, resolveConnectionDetails} from '../../src/config/resolve.js'
import {showConnectionConfig} from '../../src/config/show.js'
import {KreorgError} from '../../src/core/errors.js'
import {clearRegisteredSecrets, maskSecrets} from '../../src/core/redact.js'

/** OAUTHBEARER and AWS_MSK_IAM settings through flags, env and profiles, the way SCRAM's are resolved. */

let home: string
let xdg: string

function writeConfig(text: string): string {
  const file = path.join(xdg, 'kreorg', 'config.yaml')
  mkdirSync(path.dirname(file), {recursive: true})
  writeFileSync(file, text)
  return file
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  // No instance metadata lookups from a unit test; an empty ~/.aws.
  return {HOME: home, XDG_CONFIG_HOME: xdg, AWS_EC2_METADATA_DISABLED: 'true', ...extra}
}

function usageError(fn: () => unknown): KreorgError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(KreorgError)
    expect((error as KreorgError).exitCode).toBe(2)
    expect((error as KreorgError).message).not.toContain('\n')
    return error as KreorgError
  }
  throw new Error('expected a usage error')
}

function setting(flags: ConnectionFlags, environment: Record<string, string>, key: string) {
  return resolveConnectionDetails(flags, environment, {allowNoBrokers: true}).settings.find((s) => s.key === key)
}

beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'kreorg-auth-home-'))
  xdg = mkdtempSync(path.join(os.tmpdir(), 'kreorg-auth-xdg-'))
  clearRegisteredSecrets()
})

afterEach(() => {
  rmSync(home, {recursive: true, force: true})
  rmSync(xdg, {recursive: true, force: true})
})

describe('OAUTHBEARER settings', () => {
  it('a token command flag implies the mechanism and gets a timeout just under the connect timeout', () => {
    const options = resolveConnection({brokers: 'b:1', 'oauth-token-command': 'get-token --audience kafka'}, env())
    expect(options.sasl).toEqual({
      mechanism: 'oauthbearer',
      token: {kind: 'command', command: 'get-token --audience kafka', timeoutMs: 9000},
    })
    expect(setting({'oauth-token-command': 'x'}, env(), 'sasl.mechanism')).toEqual({
      key: 'sasl.mechanism',
      value: 'oauthbearer',
      source: 'implied by flag --oauth-token-command',
    })
  })

  it('reads a token file path from env, relative to the working directory, and fails early when it is missing', () => {
    const file = path.join(home, 'token.jwt')
    writeFileSync(file, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\n')
    const options = resolveConnection({brokers: 'b:1'}, env({KAFKA_SASL_MECHANISM: 'OAUTHBEARER', KAFKA_OAUTH_TOKEN_FILE: file}))
    expect(options.sasl).toEqual({mechanism: 'oauthbearer', token: {kind: 'file', path: file}})
    // The token read to check the file is registered for masking at once.
    expect(maskSecrets('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.')).toBe('********')
    const error = usageError(() => resolveConnection({brokers: 'b:1', 'oauth-token-file': path.join(home, 'nope')}, env()))
    expect(error.message).toBe(`cannot read OAUTHBEARER token file ${path.join(home, 'nope')} (from --oauth-token-file): ENOENT`)
  })

  it('a profile with a token endpoint: client id, secret by env name, scope, timeout; config show masks the secret', () => {
    writeConfig(
      [
        'profiles:',
        '  idp:',
        '    brokers: [kafka-1:9093]',
        '    tls: true',
        '    sasl:',
        '      mechanism: oauthbearer',
        '      oauth: {tokenEndpoint: "https://idp.example.com/oauth2/token", clientId: kreorg, clientSecretEnv: IDP_SECRET, scope: kafka, timeout: 5s}',
        '',
      ].join('\n'),
    )
    const environment = env({IDP_SECRET: 'client-secret-value-42'})
    expect(resolveConnection({profile: 'idp'}, environment).sasl).toEqual({
      mechanism: 'oauthbearer',
      token: {
        kind: 'client-credentials',
        endpoint: 'https://idp.example.com/oauth2/token',
        clientId: 'kreorg',
        clientSecret: 'client-secret-value-42',
        scope: 'kafka',
        timeoutMs: 5000,
      },
    })
    const {json, text} = showConnectionConfig({profile: 'idp'}, environment)
    expect(JSON.stringify(json)).not.toContain('client-secret-value-42')
    expect(text).not.toContain('client-secret-value-42')
    expect(json.settings.find((s) => s.key === 'sasl.oauth.clientSecret')).toEqual({
      key: 'sasl.oauth.clientSecret',
      value: '******** (env IDP_SECRET)',
      source: 'profile idp (sasl.oauth.clientSecretEnv)',
    })
    expect(text).toMatch(
      /sasl\.oauth\.tokenEndpoint\s+https:\/\/idp\.example\.com\/oauth2\/token\s+profile idp \(sasl\.oauth\.tokenEndpoint\)/,
    )
    // A flag's token source replaces the profile's whole; the endpoint's client settings are then unused.
    expect(resolveConnection({profile: 'idp', 'oauth-token-command': 'x'}, environment).sasl).toMatchObject({token: {kind: 'command'}})
  })

  it('KAFKA_OAUTH_CLIENT_SECRET holds the secret itself, like KAFKA_SASL_PASSWORD', () => {
    const options = resolveConnection(
      {brokers: 'b:1', 'oauth-token-endpoint': 'https://idp/token', 'oauth-client-id': 'c'},
      env({KAFKA_OAUTH_CLIENT_SECRET: 'env-client-secret'}),
    )
    expect(options.sasl).toMatchObject({token: {clientSecret: 'env-client-secret'}})
  })

  it('names what is missing or conflicting, before connecting', () => {
    expect(usageError(() => resolveConnection({brokers: 'b:1', 'sasl-mechanism': 'oauthbearer'}, env())).message).toBe(
      'SASL mechanism OAUTHBEARER is set (--sasl-mechanism) but no token source',
    )
    expect(usageError(() => resolveConnection({brokers: 'b:1', 'oauth-token-endpoint': 'https://idp/t'}, env())).message).toBe(
      'the OAUTHBEARER token endpoint (--oauth-token-endpoint) needs a client id',
    )
    expect(
      usageError(() => resolveConnection({brokers: 'b:1', 'oauth-token-endpoint': 'https://idp/t', 'oauth-client-id': 'c'}, env())).message,
    ).toBe('no client secret for OAuth client "c" (OAUTHBEARER)')
    expect(usageError(() => resolveConnection({brokers: 'b:1', 'oauth-token-file': 'a', 'oauth-token-command': 'b'}, env())).message).toBe(
      'pass one of --oauth-token-command, --oauth-token-file, not several',
    )
    expect(
      usageError(() =>
        resolveConnection(
          {brokers: 'b:1', 'sasl-mechanism': 'scram-sha-512', 'sasl-username': 'u', 'oauth-token-command': 'b'},
          env({KAFKA_SASL_PASSWORD: 'pw-12345'}),
        ),
      ).message,
    ).toBe('--oauth-token-command is set but the SASL mechanism is SCRAM-SHA-512 (--sasl-mechanism)')
  })

  it('warns when the token would cross the network in clear text', () => {
    const {warnings} = resolveConnectionDetails({brokers: 'b:1', 'oauth-token-command': 'x'}, env())
    expect(warnings).toContain('SASL OAUTHBEARER without TLS sends the token in clear text')
  })

  it('the config file refuses inline secrets and mixed mechanisms, naming the key', () => {
    writeConfig(
      'profiles:\n  p:\n    brokers: a:1\n    sasl: {mechanism: oauthbearer, oauth: {tokenEndpoint: "https://i/t", clientId: c, clientSecret: hunter2-inline}}\n',
    )
    let error = usageError(() => resolveConnection({profile: 'p'}, env()))
    expect(error.message).toContain('profiles.p.sasl.oauth.clientSecret: inline secrets are not allowed')
    expect(error.message).not.toContain('hunter2-inline')
    writeConfig('profiles:\n  p:\n    brokers: a:1\n    sasl: {mechanism: oauthbearer, username: u, oauth: {tokenFile: t}}\n')
    error = usageError(() => resolveConnection({profile: 'p'}, env()))
    expect(error.message).toContain('username/passwordEnv/passwordFile cannot be used with mechanism oauthbearer')
    writeConfig('profiles:\n  p:\n    brokers: a:1\n    sasl: {oauth: {tokenFile: t, tokenCommand: c}}\n')
    expect(usageError(() => resolveConnection({profile: 'p'}, env())).message).toContain(
      'set one of tokenCommand, tokenFile or tokenEndpoint',
    )
  })
})

describe('AWS_MSK_IAM settings', () => {
  const MSK = 'b-1.prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098,b-2.prod.abc123.c2.kafka.eu-west-1.amazonaws.com:9098'

  it('takes the region from the MSK broker host, turns TLS on, and shows where the credentials come from', () => {
    const environment = env({AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'aws-secret-key-1'})
    const details = resolveConnectionDetails({brokers: MSK, 'sasl-mechanism': 'AWS_MSK_IAM'}, environment)
    expect(details.options.sasl).toEqual({mechanism: 'aws-msk-iam', region: 'eu-west-1'})
    expect(details.options.tls).toBe(true)
    const byKey = Object.fromEntries(details.settings.map((s) => [s.key, s]))
    expect(byKey['sasl.aws.region']).toEqual({
      key: 'sasl.aws.region',
      value: 'eu-west-1',
      source: 'broker host b-1.prod.abc123.c2.kafka.eu-west-1.amazonaws.com',
    })
    expect(byKey['tls.enabled']).toEqual({key: 'tls.enabled', value: true, source: 'implied by flag --sasl-mechanism'})
    expect(byKey['sasl.aws.credentials']?.value).toBe('env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
    expect(maskSecrets('aws-secret-key-1')).toBe('********')
  })

  it('--aws-region and --aws-profile win over the host and AWS_PROFILE; a profile that does not exist fails before connecting', () => {
    mkdirSync(path.join(home, '.aws'))
    writeFileSync(path.join(home, '.aws', 'credentials'), '[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret-1\n')
    const options = resolveConnection(
      {brokers: MSK, 'sasl-mechanism': 'aws-msk-iam', 'aws-region': 'us-east-1', 'aws-profile': 'ops'},
      env({AWS_PROFILE: 'other'}),
    )
    expect(options.sasl).toEqual({mechanism: 'aws-msk-iam', region: 'us-east-1', awsProfile: 'ops'})
    const error = usageError(() => resolveConnection({brokers: MSK, 'sasl-mechanism': 'aws-msk-iam'}, env({AWS_PROFILE: 'missing'})))
    expect(error.message).toMatch(/^AWS_MSK_IAM \(--sasl-mechanism\): AWS profile "missing" is not in/)
  })

  it('a profile: sasl.aws.profile, region from AWS_REGION when the hosts are not MSK names (a tunnel, PrivateLink DNS)', () => {
    mkdirSync(path.join(home, '.aws'))
    writeFileSync(path.join(home, '.aws', 'config'), '[profile ops]\ncredential_process = /usr/local/bin/creds\n')
    writeConfig('profiles:\n  msk:\n    brokers: [localhost:9098]\n    sasl: {mechanism: aws-msk-iam, aws: {profile: ops}}\n')
    const details = resolveConnectionDetails({profile: 'msk'}, env({AWS_REGION: 'ap-south-1'}))
    expect(details.options.sasl).toEqual({mechanism: 'aws-msk-iam', region: 'ap-south-1', awsProfile: 'ops'})
    expect(details.settings.find((s) => s.key === 'sasl.aws.region')?.source).toBe('env AWS_REGION')
    expect(details.settings.find((s) => s.key === 'sasl.aws.credentials')?.value).toMatch(
      /^AWS profile ops \(.*config\), credential_process$/,
    )
  })

  it('no region anywhere is a usage error naming the brokers; a bad region names where it was set', () => {
    expect(
      usageError(() =>
        resolveConnection(
          {brokers: 'localhost:9098', 'sasl-mechanism': 'aws-msk-iam'},
          env({AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B'}),
        ),
      ).message,
    ).toBe('cannot tell the AWS region for AWS_MSK_IAM: localhost is not an MSK host name')
    expect(
      usageError(() => resolveConnection({brokers: MSK, 'sasl-mechanism': 'aws-msk-iam', 'aws-region': 'Ireland'}, env())).message,
    ).toBe('--aws-region: "Ireland" is not an AWS region (such as us-east-1)')
  })

  it('--aws-region without the mechanism is an error; a stray KAFKA_SASL_PASSWORD only warns', () => {
    expect(usageError(() => resolveConnection({brokers: 'b:1', 'aws-region': 'us-east-1'}, env())).message).toBe(
      '--aws-region is set but SASL is off (no --sasl-mechanism)',
    )
    const {warnings} = resolveConnectionDetails(
      {brokers: MSK, 'sasl-mechanism': 'aws-msk-iam'},
      env({KAFKA_SASL_PASSWORD: 'pw-1234', AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B'}),
    )
    expect(warnings).toContain('KAFKA_SASL_PASSWORD is ignored: the SASL mechanism is AWS_MSK_IAM (--sasl-mechanism)')
  })
})

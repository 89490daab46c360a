import {readFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {parseDuration} from '../cli/duration.js'
import {parseBrokers} from '../kafka/brokers.js'
import type {ConnectionOptions, SaslOptions, TlsOptions} from '../kafka/types.js'
import {KreorgError, describeCause, isKreorgError} from '../runbook/errors.js'
import {configDir, loadConfigFile, type Env} from './load.js'
import {MASK, registerSecret} from './redact.js'
import {saslMechanismSchema, type ProfileConfig, type SaslMechanism} from './schema.js'

/**
 * Connection settings come from three layers, highest first: command-line flags, environment
 * variables, then the selected profile of the config file. Each setting is taken whole from the
 * highest layer that sets it, and the resolver remembers where it came from so `kreorg config show`
 * can answer "why is it connecting there?".
 *
 * Passwords are never accepted as flag values (they would land in shell history and `ps`): only
 * as the name of an environment variable or a file path.
 */

/** The connection flags of `KafkaCommand` as oclif parses them (all optional: defaults live here). */
export interface ConnectionFlags {
  brokers?: string | undefined
  'client-id'?: string | undefined
  'connect-timeout'?: number | undefined
  profile?: string | undefined
  'sasl-mechanism'?: string | undefined
  'sasl-username'?: string | undefined
  'sasl-password-env'?: string | undefined
  'sasl-password-file'?: string | undefined
  tls?: boolean | undefined
  'tls-ca'?: string | undefined
  'tls-cert'?: string | undefined
  'tls-key'?: string | undefined
}

/** The environment variables kreorg reads for connections (documented in the README). */
export const CONNECTION_ENV = {
  brokers: 'KAFKA_BROKERS',
  profile: 'KREORG_PROFILE',
  saslMechanism: 'KAFKA_SASL_MECHANISM',
  saslUsername: 'KAFKA_SASL_USERNAME',
  saslPassword: 'KAFKA_SASL_PASSWORD',
  tls: 'KAFKA_TLS',
  tlsCaFile: 'KAFKA_TLS_CA_FILE',
  tlsCertFile: 'KAFKA_TLS_CERT_FILE',
  tlsKeyFile: 'KAFKA_TLS_KEY_FILE',
} as const

export const DEFAULT_CLIENT_ID = 'kreorg'
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

type Origin =
  | {kind: 'flag'; name: string}
  | {kind: 'env'; name: string}
  | {kind: 'profile'; profile: string; file: string; key: string}
  | {kind: 'default'}

interface Picked<T> {
  value: T
  origin: Origin
}

export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'flag':
      return `flag --${origin.name}`
    case 'env':
      return `env ${origin.name}`
    case 'profile':
      return `profile ${origin.profile} (${origin.key})`
    case 'default':
      return 'default'
  }
}

/** Where a setting lives, phrased for an error message ("--tls-ca", "KAFKA_TLS_CA_FILE", "tls.caFile of profile prod in <file>"). */
function whereSet(origin: Origin): string {
  switch (origin.kind) {
    case 'flag':
      return `--${origin.name}`
    case 'env':
      return origin.name
    case 'profile':
      return `${origin.key} of profile ${origin.profile} in ${origin.file}`
    case 'default':
      return 'the default'
  }
}

export interface EffectiveSetting {
  key: string
  /** Display value: secrets are already masked, file settings show the path. Null when not set. */
  value: string | number | boolean | null
  source: string | null
}

export interface ResolvedConnection {
  /** Ready for `KafkajsCluster`; `brokers` is empty when none were given (only `config show` accepts that). */
  options: ConnectionOptions
  settings: EffectiveSetting[]
  profile: {name: string; file: string; selectedBy: string} | null
  /** The config file consulted, if one exists. */
  configFile: string | null
  warnings: string[]
}

function usage(message: string, suggestions: string[] = []): KreorgError {
  return new KreorgError('usage', message, {suggestions})
}

function first<T>(...candidates: Array<Picked<T | undefined> | undefined>): Picked<T> | undefined {
  for (const candidate of candidates) {
    if (candidate !== undefined && candidate.value !== undefined) return candidate as Picked<T>
  }
  return undefined
}

function fromFlag<T>(name: string, value: T | undefined): Picked<T | undefined> {
  return {value, origin: {kind: 'flag', name}}
}

function fromEnv(env: Env, name: string): Picked<string | undefined> {
  const value = env[name]
  return {value: value === undefined || value.trim() === '' ? undefined : value, origin: {kind: 'env', name}}
}

function parseBool(picked: Picked<string>): boolean {
  const value = picked.value.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(value)) return true
  if (['0', 'false', 'no', 'off'].includes(value)) return false
  throw usage(`${whereSet(picked.origin)} must be true or false, got "${picked.value}"`)
}

/** `~/x` and paths relative to the config file (for profile settings) or the working directory. */
function resolvePath(picked: Picked<string>, env: Env): string {
  const raw = picked.value.trim()
  const home = env.HOME?.trim() || os.homedir()
  if (raw === '~' || raw.startsWith('~/')) return path.join(home, raw.slice(1))
  if (path.isAbsolute(raw)) return raw
  const base = picked.origin.kind === 'profile' ? path.dirname(picked.origin.file) : process.cwd()
  return path.resolve(base, raw)
}

function readSettingFile(picked: Picked<string>, env: Env, what: string): {path: string; contents: string} {
  const file = resolvePath(picked, env)
  try {
    return {path: file, contents: readFileSync(file, 'utf8')}
  } catch (error) {
    // The errno text only (ENOENT/EACCES): never the file's contents.
    const code = (error as NodeJS.ErrnoException).code ?? describeCause(error)
    throw usage(`cannot read ${what} ${file} (from ${whereSet(picked.origin)}): ${code}`)
  }
}

export interface ResolveOptions {
  /** Accept a missing broker list (for `config show`); otherwise it is a usage error. */
  allowNoBrokers?: boolean
}

/** Resolves every connection setting and where it came from. Throws KreorgError('usage') (exit 2) on bad input. */
export function resolveConnectionDetails(flags: ConnectionFlags, env: Env, options: ResolveOptions = {}): ResolvedConnection {
  const warnings: string[] = []
  const settings: EffectiveSetting[] = []
  const show = (key: string, picked: Picked<unknown> | undefined, display?: string | number | boolean | null) => {
    settings.push({
      key,
      value: picked === undefined ? null : display !== undefined ? display : (picked.value as string | number | boolean),
      source: picked === undefined ? null : describeOrigin(picked.origin),
    })
  }

  // --- profile selection ---------------------------------------------------------------------------
  const loaded = loadConfigFile(env)
  const profilePick = first<string>(fromFlag('profile', flags.profile), fromEnv(env, CONNECTION_ENV.profile))
  const profileName = profilePick?.value ?? loaded?.config.defaultProfile
  let profile: ProfileConfig = {}
  let profileInfo: ResolvedConnection['profile'] = null
  if (profileName !== undefined) {
    const selectedBy = profilePick ? describeOrigin(profilePick.origin) : `defaultProfile in ${loaded?.file}`
    if (!loaded) {
      throw usage(`profile "${profileName}" (from ${selectedBy}) requested, but there is no config file`, [
        `create ${path.join(configDir(env), 'config.yaml')} with a "profiles: {${profileName}: ...}" entry`,
      ])
    }
    const found = loaded.config.profiles[profileName]
    if (!found) {
      const known = Object.keys(loaded.config.profiles)
      throw usage(`unknown profile "${profileName}" (from ${selectedBy}) in ${loaded.file}`, [
        known.length > 0 ? `known profiles: ${known.join(', ')}` : 'the file defines no profiles',
      ])
    }
    profile = found
    profileInfo = {name: profileName, file: loaded.file, selectedBy}
  }
  const fromProfile = <T>(key: string, value: T | undefined): Picked<T | undefined> | undefined =>
    profileInfo ? {value, origin: {kind: 'profile', profile: profileInfo.name, file: profileInfo.file, key}} : undefined

  // --- brokers, client id, timeout -----------------------------------------------------------------
  const profileBrokers = Array.isArray(profile.brokers) ? profile.brokers.join(',') : profile.brokers
  const brokersPick = first<string>(fromFlag('brokers', flags.brokers), fromEnv(env, CONNECTION_ENV.brokers), fromProfile('brokers', profileBrokers))
  let brokers: string[] = []
  if (brokersPick) {
    try {
      brokers = parseBrokers(brokersPick.value)
    } catch (error) {
      if (isKreorgError(error)) throw usage(error.message.replace('in --brokers', `in ${whereSet(brokersPick.origin)}`), error.suggestions)
      throw error
    }
  } else if (!options.allowNoBrokers) {
    throw usage('no Kafka brokers given', ['pass --brokers host:9092[,host2:9092], set KAFKA_BROKERS, or pick a profile with --profile'])
  }
  show('brokers', brokersPick, brokers.join(','))

  const clientIdPick = first<string>(fromFlag('client-id', flags['client-id']), fromProfile('clientId', profile.clientId)) ?? {
    value: DEFAULT_CLIENT_ID,
    origin: {kind: 'default'},
  }
  show('clientId', clientIdPick)

  const timeoutPick = first<string | number>(
    fromFlag('connect-timeout', flags['connect-timeout']),
    fromProfile('connectTimeout', profile.connectTimeout),
  ) ?? {value: DEFAULT_CONNECT_TIMEOUT_MS, origin: {kind: 'default'}}
  let connectTimeoutMs: number
  if (timeoutPick.origin.kind === 'profile') {
    try {
      connectTimeoutMs = typeof timeoutPick.value === 'number' ? timeoutPick.value * 1000 : parseDuration(timeoutPick.value)
    } catch (error) {
      throw usage(`${whereSet(timeoutPick.origin)}: ${describeCause(error)}`)
    }
  } else {
    connectTimeoutMs = Number(timeoutPick.value)
  }
  show('connectTimeout', timeoutPick, `${connectTimeoutMs}ms`)

  // --- TLS -----------------------------------------------------------------------------------------
  const profileTls = typeof profile.tls === 'object' ? profile.tls : {}
  const profileTlsEnabled = typeof profile.tls === 'boolean' ? profile.tls : profile.tls?.enabled
  const envTls = fromEnv(env, CONNECTION_ENV.tls)
  const tlsEnabledPick = first<boolean>(
    fromFlag('tls', flags.tls),
    envTls.value === undefined ? undefined : {value: parseBool(envTls as Picked<string>), origin: envTls.origin},
    fromProfile(typeof profile.tls === 'boolean' ? 'tls' : 'tls.enabled', profileTlsEnabled),
  )
  const caPick = first<string>(fromFlag('tls-ca', flags['tls-ca']), fromEnv(env, CONNECTION_ENV.tlsCaFile), fromProfile('tls.caFile', profileTls.caFile))
  const certPick = first<string>(fromFlag('tls-cert', flags['tls-cert']), fromEnv(env, CONNECTION_ENV.tlsCertFile), fromProfile('tls.certFile', profileTls.certFile))
  const keyPick = first<string>(fromFlag('tls-key', flags['tls-key']), fromEnv(env, CONNECTION_ENV.tlsKeyFile), fromProfile('tls.keyFile', profileTls.keyFile))
  const insecurePick = first<boolean>(fromProfile('tls.insecureSkipVerify', profileTls.insecureSkipVerify))
  const insecure = insecurePick?.value === true
  // Naming a CA or client certificate means "use TLS" unless TLS was switched off explicitly.
  const tlsEnabled = tlsEnabledPick?.value ?? Boolean(caPick || certPick || keyPick || insecure)
  let tls: ConnectionOptions['tls']
  if (tlsEnabled) {
    if (Boolean(certPick) !== Boolean(keyPick)) {
      const given = (certPick ?? keyPick)!
      throw usage(`a TLS client ${certPick ? 'certificate' : 'key'} is set (${whereSet(given.origin)}) without its ${certPick ? 'key' : 'certificate'}`, [
        'set both --tls-cert and --tls-key (or KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE, or tls.certFile and tls.keyFile)',
      ])
    }
    const ca = caPick ? readSettingFile(caPick, env, 'TLS CA file') : undefined
    const cert = certPick ? readSettingFile(certPick, env, 'TLS certificate file') : undefined
    const key = keyPick ? readSettingFile(keyPick, env, 'TLS key file') : undefined
    if (key) registerSecret(key.contents)
    if (!ca && !cert && !insecure) {
      tls = true
    } else {
      const tlsOptions: TlsOptions = {rejectUnauthorized: !insecure}
      if (ca) tlsOptions.ca = ca.contents
      if (cert) tlsOptions.cert = cert.contents
      if (key) tlsOptions.key = key.contents
      tls = tlsOptions
    }
    if (insecure) warnings.push(`TLS certificate verification is OFF (${whereSet(insecurePick!.origin)}): use only against test clusters`)
    if (tlsEnabledPick) show('tls.enabled', tlsEnabledPick, true)
    else settings.push({key: 'tls.enabled', value: true, source: `implied by ${describeOrigin((caPick ?? certPick ?? insecurePick)!.origin)}`})
    show('tls.caFile', caPick, ca?.path)
    show('tls.certFile', certPick, cert?.path)
    show('tls.keyFile', keyPick, key?.path)
    show('tls.insecureSkipVerify', insecurePick)
  } else {
    if (caPick || certPick || keyPick) warnings.push(`TLS is off (${whereSet(tlsEnabledPick!.origin)}), so the TLS file settings are ignored`)
    show('tls.enabled', tlsEnabledPick ?? {value: false, origin: {kind: 'default'}}, false)
  }

  // --- SASL ----------------------------------------------------------------------------------------
  const profileSasl = profile.sasl ?? {}
  const mechanismPick = first<string>(
    fromFlag('sasl-mechanism', flags['sasl-mechanism']),
    fromEnv(env, CONNECTION_ENV.saslMechanism),
    fromProfile('sasl.mechanism', profileSasl.mechanism),
  )
  const usernamePick = first<string>(
    fromFlag('sasl-username', flags['sasl-username']),
    fromEnv(env, CONNECTION_ENV.saslUsername),
    fromProfile('sasl.username', profileSasl.username),
  )
  if (flags['sasl-password-env'] !== undefined && flags['sasl-password-file'] !== undefined) {
    throw usage('pass --sasl-password-env or --sasl-password-file, not both')
  }
  const passwordPick = first<{from: 'env' | 'file'; ref: string}>(
    flags['sasl-password-file'] === undefined ? undefined : fromFlag('sasl-password-file', {from: 'file' as const, ref: flags['sasl-password-file']}),
    flags['sasl-password-env'] === undefined ? undefined : fromFlag('sasl-password-env', {from: 'env' as const, ref: flags['sasl-password-env']}),
    env[CONNECTION_ENV.saslPassword] === undefined || env[CONNECTION_ENV.saslPassword] === ''
      ? undefined
      : {value: {from: 'env' as const, ref: CONNECTION_ENV.saslPassword}, origin: {kind: 'env', name: CONNECTION_ENV.saslPassword}},
    profileSasl.passwordFile === undefined ? undefined : fromProfile('sasl.passwordFile', {from: 'file' as const, ref: profileSasl.passwordFile}),
    profileSasl.passwordEnv === undefined ? undefined : fromProfile('sasl.passwordEnv', {from: 'env' as const, ref: profileSasl.passwordEnv}),
  )

  let sasl: SaslOptions | undefined
  if (mechanismPick || usernamePick) {
    if (!mechanismPick) {
      throw usage(`a SASL username is set (${whereSet(usernamePick!.origin)}) but no SASL mechanism`, [
        'pass --sasl-mechanism plain|scram-sha-256|scram-sha-512, set KAFKA_SASL_MECHANISM, or sasl.mechanism in the profile',
      ])
    }
    const parsed = saslMechanismSchema.safeParse(mechanismPick.value)
    if (!parsed.success) throw usage(`${whereSet(mechanismPick.origin)}: unknown SASL mechanism "${mechanismPick.value}", expected plain, scram-sha-256 or scram-sha-512`)
    const mechanism: SaslMechanism = parsed.data
    if (!usernamePick) {
      throw usage(`SASL mechanism ${mechanism.toUpperCase()} is set (${whereSet(mechanismPick.origin)}) but no username`, [
        'pass --sasl-username, set KAFKA_SASL_USERNAME, or sasl.username in the profile',
      ])
    }
    if (!passwordPick) {
      throw usage(`no password for SASL user "${usernamePick.value}" (${mechanism.toUpperCase()})`, [
        'set KAFKA_SASL_PASSWORD, pass --sasl-password-env NAME or --sasl-password-file PATH, or sasl.passwordEnv/passwordFile in the profile',
      ])
    }
    let password: string
    let passwordShown: string
    if (passwordPick.value.from === 'env') {
      const value = env[passwordPick.value.ref]
      if (value === undefined || value === '') {
        throw usage(`environment variable ${passwordPick.value.ref} (named by ${whereSet(passwordPick.origin)}) is not set or empty`)
      }
      password = value
      passwordShown = `${MASK} (env ${passwordPick.value.ref})`
    } else {
      const file = readSettingFile({value: passwordPick.value.ref, origin: passwordPick.origin}, env, 'SASL password file')
      // Files written with `echo` end in a newline that is not part of the password.
      password = file.contents.replace(/\r?\n+$/, '')
      if (password === '') throw usage(`SASL password file ${file.path} (from ${whereSet(passwordPick.origin)}) is empty`)
      passwordShown = `${MASK} (file ${file.path})`
    }
    registerSecret(password)
    sasl = {mechanism, username: usernamePick.value, password}
    show('sasl.mechanism', mechanismPick, mechanism)
    show('sasl.username', usernamePick)
    show('sasl.password', passwordPick, passwordShown)
    if (mechanism === 'plain' && !tlsEnabled) warnings.push('SASL PLAIN without TLS sends the password in clear text')
  } else {
    if (passwordPick) warnings.push(`a SASL password is set (${whereSet(passwordPick.origin)}) but no mechanism or username, so SASL is off`)
    show('sasl.mechanism', undefined)
  }

  const connection: ConnectionOptions = {brokers, clientId: clientIdPick.value, connectTimeoutMs}
  if (tls !== undefined) connection.tls = tls
  if (sasl !== undefined) connection.sasl = sasl
  return {options: connection, settings, profile: profileInfo, configFile: loaded?.file ?? null, warnings}
}

/** What `KafkaCommand.connectionOptions()` uses: flags > env > profile, validated, secrets registered for masking. */
export function resolveConnection(flags: ConnectionFlags, env: Env = process.env): ConnectionOptions {
  return resolveConnectionDetails(flags, env).options
}

import path from 'node:path'

import type {ConnectionOptions, SaslOptions, TlsOptions} from '../kafka/types.js'
import type {ProfileConfig} from './schema.js'

import {parseDuration} from '../core/duration.js'
import {describeCause, isKreorgError} from '../core/errors.js'
import {registerSecret} from '../core/redact.js'
import {parseBrokers} from '../kafka/brokers.js'
import {configDir, type Env, loadConfigFile, type LoadedConfig} from './load.js'
import {
  CONNECTION_ENV,
  type ConnectionFlags,
  describeOrigin,
  type EffectiveSetting,
  first,
  fromEnv,
  fromFlag,
  type FromProfile,
  parseBool,
  type Picked,
  readSettingFile,
  usage,
  whereSet,
} from './origin.js'
import {checkForeignSettings, chooseMechanism, pickSasl} from './sasl-picks.js'
import {resolveSasl} from './sasl.js'

/**
 * Connection settings come from three layers, highest first: command-line flags, environment
 * variables, then the selected profile of the config file. Each setting is taken whole from the
 * highest layer that sets it, and the resolver remembers where it came from so `kreorg config show`
 * can answer "why is it connecting there?".
 *
 * Passwords and other secrets are never accepted as flag values (they would land in shell history
 * and `ps`): only as the name of an environment variable or a file path.
 */

export const DEFAULT_CLIENT_ID = 'kreorg'
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

export interface ResolvedConnection {
  /** Ready for `KafkajsCluster`; `brokers` is empty when none were given (only `config show` accepts that). */
  options: ConnectionOptions
  settings: EffectiveSetting[]
  profile: {name: string; file: string; selectedBy: string} | null
  /** The config file consulted, if one exists. */
  configFile: string | null
  warnings: string[]
}

export interface ResolveOptions {
  /** Accept a missing broker list (for `config show`); otherwise it is a usage error. */
  allowNoBrokers?: boolean
}

export interface SelectedProfile {
  loaded: LoadedConfig | null
  /** The selected profile's settings ({} when none is selected). */
  profile: ProfileConfig
  profileInfo: ResolvedConnection['profile']
}

/** The profile `--profile`, `KREORG_PROFILE` or the file's `defaultProfile` selects; usage errors (exit 2) name the file. */
export function selectProfile(flags: Pick<ConnectionFlags, 'profile'>, env: Env): SelectedProfile {
  const loaded = loadConfigFile(env)
  const profilePick = first<string>(fromFlag('profile', flags.profile), fromEnv(env, CONNECTION_ENV.profile))
  const profileName = profilePick?.value ?? loaded?.config.defaultProfile
  if (profileName === undefined) return {loaded, profile: {}, profileInfo: null}
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
  return {loaded, profile: found, profileInfo: {name: profileName, file: loaded.file, selectedBy}}
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
  const {loaded, profile, profileInfo} = selectProfile(flags, env)
  const fromProfile: FromProfile = <T>(key: string, value: T | undefined): Picked<T | undefined> | undefined =>
    profileInfo ? {value, origin: {kind: 'profile', profile: profileInfo.name, file: profileInfo.file, key}} : undefined

  // --- brokers, client id, timeout -----------------------------------------------------------------
  const profileBrokers = Array.isArray(profile.brokers) ? profile.brokers.join(',') : profile.brokers
  const brokersPick = first<string>(
    fromFlag('brokers', flags.brokers),
    fromEnv(env, CONNECTION_ENV.brokers),
    fromProfile('brokers', profileBrokers),
  )
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
  const caPick = first<string>(
    fromFlag('tls-ca', flags['tls-ca']),
    fromEnv(env, CONNECTION_ENV.tlsCaFile),
    fromProfile('tls.caFile', profileTls.caFile),
  )
  const certPick = first<string>(
    fromFlag('tls-cert', flags['tls-cert']),
    fromEnv(env, CONNECTION_ENV.tlsCertFile),
    fromProfile('tls.certFile', profileTls.certFile),
  )
  const keyPick = first<string>(
    fromFlag('tls-key', flags['tls-key']),
    fromEnv(env, CONNECTION_ENV.tlsKeyFile),
    fromProfile('tls.keyFile', profileTls.keyFile),
  )
  const insecurePick = first<boolean>(fromProfile('tls.insecureSkipVerify', profileTls.insecureSkipVerify))
  const insecure = insecurePick?.value === true
  const saslPicks = pickSasl(flags, env, profile.sasl ?? {}, fromProfile)
  const saslChoice = chooseMechanism(saslPicks)
  // MSK serves AWS_MSK_IAM on TLS listeners only.
  const mskIam = saslChoice?.mechanism === 'aws-msk-iam' ? saslChoice : undefined
  // Naming a CA or client certificate means "use TLS" unless TLS was switched off explicitly.
  const tlsEnabled = tlsEnabledPick?.value ?? Boolean(caPick || certPick || keyPick || insecure || mskIam)
  let tls: ConnectionOptions['tls']
  if (tlsEnabled) {
    if (Boolean(certPick) !== Boolean(keyPick)) {
      const given = (certPick ?? keyPick)!
      throw usage(
        `a TLS client ${certPick ? 'certificate' : 'key'} is set (${whereSet(given.origin)}) without its ${certPick ? 'key' : 'certificate'}`,
        ['set both --tls-cert and --tls-key (or KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE, or tls.certFile and tls.keyFile)'],
      )
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
    else
      settings.push({
        key: 'tls.enabled',
        value: true,
        source: `implied by ${describeOrigin((caPick ?? certPick ?? keyPick ?? insecurePick ?? mskIam?.pick)!.origin)}`,
      })
    show('tls.caFile', caPick, ca?.path)
    show('tls.certFile', certPick, cert?.path)
    show('tls.keyFile', keyPick, key?.path)
    show('tls.insecureSkipVerify', insecurePick)
  } else {
    if (caPick || certPick || keyPick)
      warnings.push(`TLS is off (${whereSet(tlsEnabledPick!.origin)}), so the TLS file settings are ignored`)
    show('tls.enabled', tlsEnabledPick ?? {value: false, origin: {kind: 'default'}}, false)
  }

  // --- SASL ----------------------------------------------------------------------------------------
  checkForeignSettings(saslPicks, saslChoice, warnings)
  let sasl: SaslOptions | undefined
  if (saslChoice) {
    sasl = resolveSasl(saslChoice, saslPicks, {
      env,
      brokers,
      connectTimeoutMs,
      tlsEnabled,
      show,
      add: (setting) => settings.push(setting),
      warnings,
    })
  } else {
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

export {CONNECTION_ENV, type ConnectionFlags, describeOrigin, type EffectiveSetting} from './origin.js'
